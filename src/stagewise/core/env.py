"""The constrained environment contract.

A problem writes its transition once, as a pure function on arrays with a
leading batch axis (:class:`Dynamics`). :class:`ConstrainedEnv` is that function
on a batch of one, behind the Gymnasium API; :class:`ConstrainedVectorEnv` is
the same function on a batch of N. Both add what every problem shares: action
validation (NaN/inf or wrong shape raise ``ValueError``), clipping of finite
out-of-range actions with the clipped amount charged to the cost family
``"action_range"``, decoding of the action into the physical decision, and the
``info`` keys ``cost``, ``costs``, ``reward_terms`` and ``state``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv

from stagewise.core.config import ProblemConfig, load_config
from stagewise.core.spaces import ActionCodec, ActionMode, Decision

State = dict[str, np.ndarray]
ACTION_RANGE = "action_range"


@dataclass
class Transition:
    """Result of one batched step; every array has the batch axis first."""

    state: State
    reward: np.ndarray
    costs: dict[str, np.ndarray]
    reward_terms: dict[str, np.ndarray]
    terminated: np.ndarray


class Dynamics(ABC):
    """A problem's batched, pure transition. Randomness only from the ``rng`` passed in."""

    codec: ActionCodec
    horizon: int
    observation_space: spaces.Box
    cost_families: tuple[str, ...]
    reward_term_names: tuple[str, ...]

    @abstractmethod
    def initial_state(self, rng: np.random.Generator, n: int) -> State:
        """``n`` initial states (first-stage uncertainty drawn from ``rng``)."""

    @abstractmethod
    def transition(self, state: State, decision: Decision, rng: np.random.Generator) -> Transition:
        """Apply ``decision`` in ``state``; draw the next uncertainty from ``rng``."""

    @abstractmethod
    def observe(self, state: State) -> np.ndarray:
        """Normalized observations ``[n, obs_dim]`` (float32) of ``state``."""

    def physical_state(self, state: State) -> State:
        """The state in physical units, for ``info["state"]`` and optimizer policies."""
        return state

    def action_mask(self, state: State) -> np.ndarray | None:
        """``[n, n_actions]`` feasibility mask for ``discrete`` mode, or ``None`` if all are."""
        return None


def as_operand(value: Any) -> np.ndarray:
    """A constant of a transition, shaped to keep a batch of one on NumPy's fast path.

    A scalar becomes a 0-d float array (a Python float is converted again at every
    operation); an array gets a leading axis of 1, so that against ``[1, ...]`` batch
    arrays the operands have equal shapes (``[G]`` against ``[1, G]`` takes the slower
    broadcasting loop). Values are unchanged, so results are bit-identical.
    """
    arr = np.array(value, dtype=np.float64)  # a contiguous copy, also of a broadcast view
    return arr if arr.ndim == 0 else arr[None, ...]


def _row(batch: dict[str, np.ndarray], i: int) -> dict[str, Any]:
    """Entry ``i`` of each batched array: a Python scalar for ``[n]`` arrays, else a copy."""
    out = {}
    for key, value in batch.items():
        if isinstance(value, np.ndarray):
            # Fast path: one call for a scalar field, index and copy for an array field.
            out[key] = value.item(i) if value.ndim == 1 else value[i].copy()
            continue
        item = np.asarray(value)[i]
        out[key] = item.item() if item.ndim == 0 else item.copy()
    return out


def _first(values: np.ndarray) -> float:
    """Entry 0 of a batch of numbers as a Python float (``item`` skips making a NumPy scalar)."""
    return float(values.item(0) if isinstance(values, np.ndarray) else np.asarray(values).item(0))


def _firsts(batch: dict[str, np.ndarray]) -> dict[str, float]:
    """:func:`_first` of each entry (inlined for arrays: a function call per entry costs more)."""
    return {
        name: float(v.item(0)) if isinstance(v, np.ndarray) else _first(v)
        for name, v in batch.items()
    }


class ConstrainedEnv(gym.Env[np.ndarray, Any]):
    """Gymnasium environment of a constrained sequential decision problem.

    Subclasses set the class attributes and implement :meth:`build_dynamics`.

    ``step`` returns the Gymnasium 5-tuple; ``info`` holds:

    - ``cost`` (float >= 0): the scalar constraint cost of the step, the sum of
    - ``costs`` (dict): one non-negative magnitude per constraint family,
      always including ``"action_range"`` (amount by which the action left its
      space and was clipped);
    - ``reward_terms`` (dict): the named parts of the reward (they sum to it);
    - ``state`` (dict): the physical state after the step;
    - ``action_mask`` (``discrete`` mode, where the problem defines one): which
      actions are feasible in the new state.
    """

    problem_id: ClassVar[str]
    slug: ClassVar[str]
    summary: ClassVar[str]
    config_model: ClassVar[type[ProblemConfig]]
    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(
        self,
        config: Any = None,
        action_mode: ActionMode = "box",
        **overrides: Any,
    ):
        self.config = load_config(self.config_model, config, overrides)
        self.dynamics = self.build_dynamics(self.config)
        self.codec = self.dynamics.codec
        self.codec.check_mode(action_mode)
        self.action_mode: ActionMode = action_mode
        self.action_space = self.codec.space(action_mode)
        self.observation_space = self.dynamics.observation_space
        self.horizon = self.dynamics.horizon
        self._state: State | None = None

    @classmethod
    @abstractmethod
    def build_dynamics(cls, config: Any) -> Dynamics:
        """The problem's dynamics for a validated config."""

    @property
    def cost_families(self) -> tuple[str, ...]:
        return (*self.dynamics.cost_families, ACTION_RANGE)

    # ---------------------------------------------------------------- codec
    def decode(self, action: Any) -> dict[str, Any]:
        """The physical decision (named arrays) that ``action`` stands for."""
        clipped, _ = self.codec.validate_and_clip(action, self.action_mode, 1, self.problem_id)
        return _row(self.codec.decode_batch(clipped, self.action_mode), 0)

    def encode(self, decision: dict[str, Any]) -> Any:
        """The action of the current mode whose decoding is ``decision``."""
        batched = {k: np.asarray(v, dtype=np.float64)[None, ...] for k, v in decision.items()}
        action = self.codec.encode_batch(batched, self.action_mode)
        if isinstance(action, tuple):
            return tuple(part[0] for part in action)
        return action[0] if self.action_mode == "box" else int(action[0])

    # ----------------------------------------------------------- gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._state = self.dynamics.initial_state(self.np_random, 1)
        return self.dynamics.observe(self._state)[0], self._state_info(self._state)

    def _state_info(self, state: State) -> dict[str, Any]:
        info: dict[str, Any] = {"state": _row(self.dynamics.physical_state(state), 0)}
        if self.action_mode == "discrete":
            mask = self.dynamics.action_mask(state)
            if mask is not None:
                info["action_mask"] = mask[0].copy()
        return info

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        if self._state is None:
            raise RuntimeError(f"{self.problem_id}: call reset() before step()")
        clipped, excess = self.codec.validate_and_clip(action, self.action_mode, 1, self.problem_id)
        decision = self.codec.decode_batch(clipped, self.action_mode)
        tr = self.dynamics.transition(self._state, decision, self.np_random)
        self._state = tr.state
        costs = _firsts(tr.costs)
        costs[ACTION_RANGE] = _first(excess)
        info = {
            "cost": float(sum(costs.values())),
            "costs": costs,
            "reward_terms": _firsts(tr.reward_terms),
            **self._state_info(tr.state),
        }
        obs = self.dynamics.observe(tr.state)[0]
        return obs, _first(tr.reward), bool(_first(tr.terminated)), False, info

    @property
    def batch_state(self) -> State | None:
        """The current state as a batch of one (``None`` before ``reset``)."""
        return self._state

    def step_decision(
        self, decision: Decision, action_excess: float = 0.0
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """``step`` with a physical decision ``{name: [1, *shape]}`` instead of an action
        (a safety layer's projected decision); ``action_excess`` is charged to
        ``"action_range"``."""
        if self._state is None:
            raise RuntimeError(f"{self.problem_id}: call reset() before step()")
        tr = self.dynamics.transition(self._state, decision, self.np_random)
        self._state = tr.state
        costs = {name: _first(v) for name, v in tr.costs.items()}
        costs[ACTION_RANGE] = float(action_excess)
        info = {
            "cost": float(sum(costs.values())),
            "costs": costs,
            "reward_terms": {name: _first(v) for name, v in tr.reward_terms.items()},
            **self._state_info(tr.state),
        }
        obs = self.dynamics.observe(tr.state)[0]
        return obs, _first(tr.reward), bool(tr.terminated[0]), False, info

    @classmethod
    def make_vector(
        cls, num_envs: int, config: Any = None, action_mode: ActionMode = "box", **overrides: Any
    ) -> ConstrainedVectorEnv:
        """The native vector environment: the same dynamics on a batch of ``num_envs``."""
        single = cls(config, action_mode, **overrides)
        return ConstrainedVectorEnv(single, num_envs)


class ConstrainedVectorEnv(VectorEnv):
    """N copies of a problem stepped as one batch (autoreset in the same step).

    ``infos`` holds ``cost`` ``[N]``, ``costs`` (dict of ``[N]``), ``reward_terms``,
    ``state`` (physical state of the returned observations, dict of ``[N]``),
    ``action_mask`` in discrete mode and, for the entries that finished,
    ``final_obs`` with mask ``_final_obs``.
    """

    metadata: ClassVar[dict[str, Any]] = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, template: ConstrainedEnv, num_envs: int):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.template = template
        self.dynamics = template.dynamics
        self.codec = template.codec
        self.action_mode = template.action_mode
        self.num_envs = num_envs
        self.single_observation_space = template.observation_space
        self.single_action_space = template.action_space
        self.observation_space = gym.vector.utils.batch_space(template.observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(template.action_space, num_envs)
        self._rng, _ = seeding.np_random(None)
        self._state: State | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            self._rng, _ = seeding.np_random(seed)
        self._state = self.dynamics.initial_state(self._rng, self.num_envs)
        infos: dict[str, Any] = {"state": self.dynamics.physical_state(self._state)}
        if self.action_mode == "discrete":
            mask = self.dynamics.action_mask(self._state)
            if mask is not None:
                infos["action_mask"] = mask
        return self.dynamics.observe(self._state), infos

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        if self._state is None:
            raise RuntimeError(f"{self.template.problem_id}: call reset() before step()")
        clipped, excess = self.codec.validate_and_clip(
            actions, self.action_mode, self.num_envs, self.template.problem_id
        )
        decision = self.codec.decode_batch(clipped, self.action_mode)
        return self.step_decision(decision, excess)

    @property
    def batch_state(self) -> State | None:
        """The current states ``[num_envs, ...]`` (``None`` before ``reset``)."""
        return self._state

    def step_decision(
        self, decision: Decision, excess: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """``step`` with physical decisions ``{name: [num_envs, *shape]}`` instead of
        actions (a safety layer's projection); ``excess`` ``[num_envs]`` is charged to
        ``"action_range"``."""
        if self._state is None:
            raise RuntimeError(f"{self.template.problem_id}: call reset() before step()")
        tr = self.dynamics.transition(self._state, decision, self._rng)
        costs = {name: np.asarray(v, dtype=np.float64) for name, v in tr.costs.items()}
        costs[ACTION_RANGE] = excess
        done = np.asarray(tr.terminated, dtype=bool)
        obs = self.dynamics.observe(tr.state)
        infos: dict[str, Any] = {
            "cost": np.sum(list(costs.values()), axis=0),
            "costs": costs,
            "reward_terms": tr.reward_terms,
        }
        self._state = tr.state
        if done.any():
            infos["final_obs"] = obs.copy()
            infos["_final_obs"] = done.copy()
            fresh = self.dynamics.initial_state(self._rng, self.num_envs)
            self._state = {
                k: np.where(_mask_like(done, v), fresh[k], v) for k, v in tr.state.items()
            }
            obs = self.dynamics.observe(self._state)
        infos["state"] = self.dynamics.physical_state(self._state)
        if self.action_mode == "discrete":
            mask = self.dynamics.action_mask(self._state)
            if mask is not None:
                infos["action_mask"] = mask
        truncated = np.zeros(self.num_envs, dtype=bool)
        return obs, np.asarray(tr.reward, dtype=np.float64), done, truncated, infos


def _mask_like(mask: np.ndarray, value: np.ndarray) -> np.ndarray:
    return mask.reshape((-1,) + (1,) * (np.asarray(value).ndim - 1))


class CMDPWrapper(gym.Wrapper):
    """Safety-Gymnasium style 6-tuple: ``(obs, reward, cost, terminated, truncated, info)``."""

    def step(self, action: Any) -> tuple[Any, float, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, float(reward), float(info["cost"]), terminated, truncated, info

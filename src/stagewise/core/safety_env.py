"""Environments stepped through the safety layer (single and native vector).

The agent's action is decoded into the physical decision it stands for, the
:class:`~stagewise.core.safety.SafetyLayer` projects that decision onto the step's
constraints, and the dynamics step with the projected decision. The agent keeps
its action space; what changes is reported:

- ``info["costs"]["projection"]``: the L1 distance (normalized action units) from the
  proposal to the projected decision, also in ``info["cost"]``, so a safe agent's cost
  limit keeps it proposing feasible decisions;
- ``info["reward_terms"]["projection"]``: ``-projection_weight * distance`` (also in the
  reward; 0 unless ``projection_weight > 0``);
- ``info["safety"]``: ``distance``, ``violation`` (row violation left, in the rows'
  units: > 0 only in a state with no feasible decision), ``seconds`` (the projection's
  wall time) and ``status``.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from stagewise.core.env import ConstrainedEnv, ConstrainedVectorEnv
from stagewise.core.safety import PROJECTION, Projection, SafetyLayer

SAFETY_SUFFIX = "+safety"
"""Suffix of the label of a method stepped through the safety layer (``ppo-lag+safety``)."""


def _check_weight(projection_weight: float) -> float:
    weight = float(projection_weight)
    if not np.isfinite(weight) or weight < 0:
        raise ValueError(f"projection_weight must be a finite number >= 0, got {weight}")
    return weight


class SafetyLayerEnv(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A stagewise environment whose every step goes through the safety layer.

    Args:
        env: a stagewise environment (``gym.make`` output or a :class:`ConstrainedEnv`).
        projection_weight: weight of the projection distance subtracted from the reward.
        layer: the layer to use (default: the problem's, :meth:`SafetyLayer.for_env`).

    Raises:
        ValueError: the problem supplies no step constraints, or a negative weight.
    """

    def __init__(
        self, env: gym.Env, projection_weight: float = 0.0, layer: SafetyLayer | None = None
    ):
        gym.utils.RecordConstructorArgs.__init__(self, projection_weight=projection_weight)
        gym.Wrapper.__init__(self, env)
        self.base: ConstrainedEnv = env.unwrapped  # type: ignore[assignment]
        self.layer = layer or SafetyLayer.for_env(self.base)
        self.projection_weight = _check_weight(projection_weight)

    @property
    def cost_families(self) -> tuple[str, ...]:
        return (*self.base.cost_families, PROJECTION)

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        base = self.base
        state = base.batch_state
        if state is None:
            raise RuntimeError(f"{base.problem_id}: call reset() before step()")
        clipped, excess = base.codec.validate_and_clip(action, base.action_mode, 1, base.problem_id)
        projection = self.layer.project(state, base.codec.decode_batch(clipped, base.action_mode))
        obs, reward, terminated, truncated, info = base.step_decision(
            projection.decision, excess.item(0)
        )
        distance = float(projection.distance[0])
        term = -self.projection_weight * distance
        info["costs"][PROJECTION] = distance
        info["cost"] += distance
        info["reward_terms"][PROJECTION] = term
        info["safety"] = _safety_info(projection, 0)
        return obs, float(reward) + term, terminated, truncated, info

    def native_vector(self, num_envs: int) -> SafetyVectorEnv:
        """The native vector environment of this wrapper: ``num_envs`` copies in one batch,
        projected by one block-diagonal solve (see :class:`SafetyVectorEnv`)."""
        return SafetyVectorEnv(self.base, num_envs, self.projection_weight, self.layer)


class SafetyVectorEnv(ConstrainedVectorEnv):
    """:class:`ConstrainedVectorEnv` stepped through the safety layer: the batch's
    decisions are projected together (``infos["safety"]`` holds ``distance`` and
    ``violation`` ``[N]``, ``seconds`` of the whole batch and ``status``)."""

    def __init__(
        self,
        template: ConstrainedEnv,
        num_envs: int,
        projection_weight: float = 0.0,
        layer: SafetyLayer | None = None,
    ):
        super().__init__(template, num_envs)
        self.layer = layer or SafetyLayer.for_env(template)
        self.projection_weight = _check_weight(projection_weight)

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        state = self.batch_state
        if state is None:
            raise RuntimeError(f"{self.template.problem_id}: call reset() before step()")
        clipped, excess = self.codec.validate_and_clip(
            actions, self.action_mode, self.num_envs, self.template.problem_id
        )
        projection = self.layer.project(state, self.codec.decode_batch(clipped, self.action_mode))
        obs, reward, terminated, truncated, infos = self.step_decision(projection.decision, excess)
        distance = projection.distance
        term = -self.projection_weight * distance
        infos["costs"][PROJECTION] = distance
        infos["cost"] = infos["cost"] + distance
        infos["reward_terms"] = {**infos["reward_terms"], PROJECTION: term}
        infos["safety"] = {
            "distance": distance,
            "violation": projection.violation,
            "seconds": projection.seconds,
            "status": projection.status,
        }
        return obs, reward + term, terminated, truncated, infos


def _safety_info(projection: Projection, i: int) -> dict[str, Any]:
    return {
        "distance": float(projection.distance[i]),
        "violation": float(projection.violation[i]),
        "seconds": projection.seconds,
        "status": projection.status,
    }


def make_safe_env(env_id: str, projection_weight: float = 0.0, **kwargs: Any) -> SafetyLayerEnv:
    """``gym.make(env_id, **kwargs)`` stepped through its problem's safety layer (a
    module-level function, so ``functools.partial`` of it pickles for spawned workers)."""
    return SafetyLayerEnv(gym.make(env_id, **kwargs), projection_weight)

"""Rule policies for capacity expansion, and the base class of every state-feedback policy.

A :class:`StatePolicy` decides from the physical state (stage ``t``, price
``p_t``, demand ``d_t``, installed capacity ``C_{t-1}``) in batches, through
:meth:`StatePolicy.decide`; :meth:`StatePolicy.act` applies it to one
environment step (``info["state"]``) and encodes ``{"units": x}`` for the
env's action mode, so the same policy runs in ``"box"`` and ``"discrete"`` mode
and on the native vector env (see :mod:`.montecarlo`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import gymnasium as gym
import numpy as np

from stagewise.problems.capacity_expansion.config import CapacityExpansionConfig
from stagewise.problems.capacity_expansion.env import CapacityExpansionDynamics


class StatePolicy(ABC):
    """A policy ``x_t = pi_t(p_t, d_t, C_{t-1})`` evaluated on arrays."""

    def __init__(self, config: CapacityExpansionConfig):
        self.config = config
        self._env: gym.Env | None = None

    @abstractmethod
    def decide(
        self, t: int, price: np.ndarray, demand: np.ndarray, capacity: np.ndarray
    ) -> np.ndarray:
        """Units to add (int array, feasible: ``<= K - capacity``) for a batch at stage ``t``."""

    def reset(self, env: gym.Env) -> None:
        self._env = env

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        """Action (in the env's mode) for the physical state ``info["state"]``."""
        if self._env is None:
            raise RuntimeError(f"{type(self).__name__}: call reset(env) before act()")
        state = info["state"]
        units = self.decide(
            int(state["t"]),
            np.array([state["price"]], dtype=np.float64),
            np.array([state["demand"]], dtype=np.float64),
            np.array([state["capacity"]], dtype=np.float64),
        )
        return self._env.unwrapped.encode({"units": int(units[0])})


class NeverExpand(StatePolicy):
    """Adds nothing, ever: profit 0 (the floor every other policy must beat)."""

    def decide(
        self, t: int, price: np.ndarray, demand: np.ndarray, capacity: np.ndarray
    ) -> np.ndarray:
        return np.zeros(np.shape(price), dtype=np.int64)


class Myopic(StatePolicy):
    """Maximizes the current stage's reward only (optimal at the last stage, blind to the future).

    Adds ``x`` units when ``u p_t min(d_t, c_p (C + x)) - (c_om + c_inv) x`` beats
    every smaller addition; in Eq. 8 that is all remaining units as soon as
    ``p_t > (c_om + c_inv) / u``.
    """

    def __init__(self, config: CapacityExpansionConfig):
        super().__init__(config)
        self._dynamics = CapacityExpansionDynamics(config)

    def decide(
        self, t: int, price: np.ndarray, demand: np.ndarray, capacity: np.ndarray
    ) -> np.ndarray:
        price = np.asarray(price, dtype=np.float64)
        installed = np.rint(np.asarray(capacity, dtype=np.float64))
        best = np.full(price.shape, -np.inf)
        choice = np.zeros(price.shape, dtype=np.int64)
        for units in range(self.config.K + 1):
            after = installed + units
            terms = self._dynamics.stage_profit(
                np.asarray(float(t)),
                price,
                np.asarray(demand, dtype=np.float64),
                after,
                np.asarray(float(units)),
            )
            reward = terms["revenue"] + terms["operating"] + terms["investment"]
            better = (after <= self.config.K) & (reward > best)
            best = np.where(better, reward, best)
            choice = np.where(better, units, choice)
        return choice


def never_expand(env: gym.Env, **options: Any) -> NeverExpand:
    """Baseline factory: the policy that never adds capacity."""
    return NeverExpand(env.unwrapped.config)


def myopic(env: gym.Env, **options: Any) -> Myopic:
    """Baseline factory: the stage-wise greedy policy."""
    return Myopic(env.unwrapped.config)

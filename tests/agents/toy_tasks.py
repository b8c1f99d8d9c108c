"""Small tasks whose optimum is known in closed form, for learning tests.

The speed task (continuous, constrained) comes first; :class:`WaitThenCashChain`
(discrete, masked) and :class:`StopOrContinue` (hybrid) follow.

The speed task.

Each of ``dims`` machines runs at speed ``v_i = (a_i + 1) / 2`` in ``[0, 1]`` for
``horizon`` steps (the action ``a`` in ``Box(-1, 1)`` is clipped). Per step the
reward is ``sum_i v_i (2 p - v_i)`` with ``p = peak`` in ``(0, 1]`` (concave,
increasing up to ``v = p``; ``p = 1`` by default) and machine ``i`` costs ``v_i``
in family ``energy_i``; ``info["cost"]`` is their sum. Observation: the fraction
of the horizon left.

Because the reward is concave and the costs linear, the best stationary
policy is deterministic and, with per-episode limits ``d_i``, runs each
machine at ``v_i* = min(p, d_i / horizon)`` (the Lagrangian
``v (2 p - v) - lambda v`` is maximized at ``v = p - lambda / 2``, so
``lambda_i* = 2 (p - v_i*)``). Unconstrained, every machine runs at ``v = p``
(full speed by default; a ``peak`` below 1 puts the unconstrained optimum
inside the action range, where no saturated action reaches it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class SpeedTask(gym.Env):
    """``dims`` machines, reward ``sum v (2 peak - v)``, cost ``v`` each, ``horizon`` steps."""

    def __init__(self, dims: int = 1, horizon: int = 10, peak: float = 1.0):
        if not 0.0 < peak <= 1.0:
            raise ValueError(f"peak must be in (0, 1], got {peak}")
        self.dims, self.horizon, self.peak = dims, horizon, peak
        self.action_space = gym.spaces.Box(-1.0, 1.0, (dims,), dtype=np.float32)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (1,), dtype=np.float32)
        self.t = 0

    def _obs(self) -> np.ndarray:
        return np.array([1.0 - self.t / self.horizon], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        speed = (np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0) + 1.0) / 2.0
        self.t += 1
        costs = {f"energy_{i}": float(v) for i, v in enumerate(speed)}
        info = {"cost": float(speed.sum()), "costs": costs}
        reward = float(np.sum(speed * (2.0 * self.peak - speed)))
        return self._obs(), reward, self.t >= self.horizon, False, info


def speed_task(dims: int = 1, horizon: int = 10, peak: float = 1.0):
    """Factory ``env_fn`` for the agents."""
    return lambda: SpeedTask(dims, horizon, peak)


def constrained_optimum(
    limits: Sequence[float], horizon: int = 10, peak: float = 1.0
) -> tuple[float, np.ndarray]:
    """Optimal episode reward and speeds under per-machine episode-cost limits ``limits``
    (``inf`` for an unconstrained machine)."""
    speed = np.minimum(peak, np.asarray(limits, dtype=np.float64) / horizon)
    return float(horizon * np.sum(speed * (2.0 * peak - speed))), speed


def scalar_optimum(limit: float, dims: int = 1, horizon: int = 10) -> float:
    """Optimal episode reward when the summed cost is limited by ``limit`` (equal speeds)."""
    return constrained_optimum([limit / dims] * dims, horizon)[0]


class WaitThenCashChain(gym.Env):
    """3-stage deterministic chain whose optimum (5) needs planning past a myopic +1.

    Actions: 0 = cash in (+1 at stages 0 and 1, ending the episode; +5 at the
    last stage), 1 = wait (0, next stage; ends the episode at the last stage),
    2 = a forbidden action (always masked; -10 if taken). Optimal return: 5.
    """

    def __init__(self) -> None:
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Box(0.0, 1.0, (2,), np.float32)
        self._t = 0

    def _obs(self) -> np.ndarray:
        return np.array([self._t / 3.0, 1.0], dtype=np.float32)

    def _info(self) -> dict[str, Any]:
        return {"action_mask": np.array([True, True, False]), "cost": 0.0}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._t = 0
        return self._obs(), self._info()

    def step(self, action: Any):
        action = int(action)
        last = self._t == 2
        if action == 2:
            reward, done = -10.0, True
        elif action == 0:
            reward, done = (5.0 if last else 1.0), True
        else:
            reward, done = 0.0, last
        self._t += 1
        return self._obs(), reward, done, False, self._info()


CONTINUE_COST = 0.5
TARGET_PARAM = 0.5
# E[-min(p, CONTINUE_COST)] for p ~ U(0, 1): stop below 0.5, else continue at c = 0.5
STOP_OPTIMUM = -(CONTINUE_COST**2 / 2 + (1 - CONTINUE_COST) * CONTINUE_COST)


class StopOrContinue(gym.Env):
    """A two-stage toy with a hybrid action ``(stop flag, c in [-1, 1])``.

    At reset a stopping price ``p ~ U(0, 1)`` is drawn and observed. Stage 1:
    stopping costs ``p`` and ends the episode; continuing costs
    ``0.5 + (c - 0.5)^2``. Stage 2 always ends the episode at no cost. The
    optimal policy stops exactly when ``p < 0.5`` and otherwise continues with
    ``c = 0.5``.
    """

    def __init__(self) -> None:
        self.action_space = spaces.Tuple((spaces.MultiBinary(1), spaces.Box(-1, 1, (1,))))
        self.observation_space = spaces.Box(0.0, 1.0, (2,), dtype=np.float32)
        self._price, self._stage = 0.0, 0

    def _obs(self) -> np.ndarray:
        return np.array([self._stage, self._price], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: Any = None):
        super().reset(seed=seed)
        self._price, self._stage = float(self.np_random.uniform()), 0
        return self._obs(), {}

    def step(self, action: Any):
        stop, params = int(action[0][0]), float(action[1][0])
        if self._stage == 1:
            self._stage = 2
            return self._obs(), 0.0, True, False, {"cost": 0.0}
        self._stage = 1
        if stop:
            return self._obs(), -self._price, True, False, {"cost": 0.0}
        reward = -(CONTINUE_COST + (params - TARGET_PARAM) ** 2)
        return self._obs(), reward, False, False, {"cost": 0.0}

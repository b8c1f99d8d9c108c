"""A constrained task whose optimum is known in closed form: the speed task.

Each of ``dims`` machines runs at speed ``v_i = (a_i + 1) / 2`` in ``[0, 1]`` for
``horizon`` steps (the action ``a`` in ``Box(-1, 1)`` is clipped). Per step the
reward is ``sum_i v_i (2 - v_i)`` (concave, increasing) and machine ``i`` costs
``v_i`` in family ``energy_i``; ``info["cost"]`` is their sum. Observation:
the fraction of the horizon left.

Because the reward is concave and the costs linear, the best stationary
policy is deterministic and, with per-episode limits ``d_i``, runs each
machine at ``v_i* = min(1, d_i / horizon)`` (the Lagrangian
``v (2 - v) - lambda v`` is maximized at ``v = 1 - lambda / 2``, so
``lambda_i* = 2 (1 - v_i*)``). Unconstrained, every machine runs at full speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np


class SpeedTask(gym.Env):
    """``dims`` machines, reward ``sum v (2 - v)``, cost ``v`` per machine, ``horizon`` steps."""

    def __init__(self, dims: int = 1, horizon: int = 10):
        self.dims, self.horizon = dims, horizon
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
        reward = float(np.sum(speed * (2.0 - speed)))
        return self._obs(), reward, self.t >= self.horizon, False, info


def speed_task(dims: int = 1, horizon: int = 10):
    """Factory ``env_fn`` for the agents."""
    return lambda: SpeedTask(dims, horizon)


def constrained_optimum(limits: Sequence[float], horizon: int = 10) -> tuple[float, np.ndarray]:
    """Optimal episode reward and speeds under per-machine episode-cost limits ``limits``."""
    speed = np.minimum(1.0, np.asarray(limits, dtype=np.float64) / horizon)
    return float(horizon * np.sum(speed * (2.0 - speed))), speed


def scalar_optimum(limit: float, dims: int = 1, horizon: int = 10) -> float:
    """Optimal episode reward when the summed cost is limited by ``limit`` (equal speeds)."""
    return constrained_optimum([limit / dims] * dims, horizon)[0]

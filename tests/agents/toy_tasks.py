"""A constrained task whose optimum is known in closed form: the speed task.

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

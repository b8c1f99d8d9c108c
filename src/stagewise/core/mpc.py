"""Rolling-horizon re-planning (model predictive control) over any problem's optimizer.

At every step :class:`MPCPolicy` hands the environment's current physical state
(``info["state"]``) to a planner, which builds the problem's optimization model
from that state over a window and solves it; the policy applies the first
decision of the plan and discards the rest. The planner is problem-specific
(usually ``lambda state: solve(config, state=state, horizon=window)``); the
loop is not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from stagewise.core.solve import Solution

Planner = Callable[[dict[str, Any]], Solution]


class MPCPolicy:
    """Re-plan from the current state at every step; apply the plan's first decision.

    Attributes:
        solutions: the plans of the current episode, one per step.
        step_times: wall-clock seconds of each decision of the current episode (model
            build, solve and encoding).
    """

    def __init__(self, planner: Planner):
        self.planner = planner
        self.solutions: list[Solution] = []
        self.step_times: list[float] = []
        self._env: gym.Env | None = None

    def reset(self, env: gym.Env) -> None:
        self._env = env
        self.solutions = []
        self.step_times = []

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        assert self._env is not None, "reset() first"
        if "state" not in info:
            raise ValueError("MPCPolicy needs the physical state in info['state']")
        started = time.perf_counter()
        solution = self.planner(info["state"])
        if not solution.plan:
            raise ValueError("the planner returned no plan")
        self.solutions.append(solution)
        action = self._env.unwrapped.encode(solution.plan[0])
        self.step_times.append(time.perf_counter() - started)
        return action

    @property
    def solve_time(self) -> float:
        """Solver seconds of the current episode's plans."""
        return float(sum(s.solve_time for s in self.solutions))

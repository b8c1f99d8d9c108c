"""Rolling-horizon ("mpc") policy: the paper's "optimal" ASU value (Table 2, B.1).

At the first hour of each day the policy solves the model of ``model.py`` from the
environment's state over what the forecast shows, today and the ``S`` look-ahead
days (``24 (S + 1)`` hours; the paper's 5-day planning horizon), and applies that
plan's first day. The model is built from the state the environment reports, so the
inventory carries over from day to day exactly, and the policy can take over from
any state: where a demand cannot be met any more, it re-plans with the shortfall
priced at the environment's ``rho_D`` and ships what it can.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np

from stagewise.problems.asu.config import HOURS_PER_DAY, ASUConfig
from stagewise.problems.asu.env import ASUDynamics
from stagewise.problems.asu.model import DEFAULT_GAP, Window, plan_window


class RollingHorizonPolicy:
    """Daily re-planning over a ``window_days``-day window; the first ``replan_hours`` applied.

    Attributes:
        solves: one record per re-plan: start hour, the inventory planned from, window
            hours, the window's optimal bill, whether the shortfall had to be priced, and
            the solver's seconds.
    """

    def __init__(
        self,
        window_days: int | None = None,
        replan_hours: int = HOURS_PER_DAY,
        solver: str | None = None,
        mip_gap: float = DEFAULT_GAP,
    ):
        if window_days is not None and window_days < 1:
            raise ValueError(f"window_days must be >= 1, got {window_days}")
        if replan_hours < 1:
            raise ValueError(f"replan_hours must be >= 1, got {replan_hours}")
        self.window_days = window_days
        self.replan_hours = replan_hours
        self.solver = solver
        self.mip_gap = mip_gap
        self.solves: list[dict[str, Any]] = []
        self._env: Any = None
        self._dynamics: ASUDynamics | None = None
        self._plan = np.zeros((0, 0))
        self._plan_start = 0

    def reset(self, env: gym.Env) -> None:
        self._env = env.unwrapped
        self._dynamics = self._env.dynamics
        self._plan = np.zeros((0, len(self._dynamics.vertices)))
        self.solves = []

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        assert self._dynamics is not None, "reset() first"
        t = int(info["state"]["t"])
        offset = t - self._plan_start
        if t % self.replan_hours == 0 or not 0 <= offset < len(self._plan):
            self._replan(t, np.asarray(info["state"]["iv"], dtype=float), info["state"])
            offset = 0
        return self._env.encode({"weights": self._plan[offset]})

    def _replan(self, t: int, inventory: np.ndarray, state: dict[str, Any] | None = None) -> None:
        dyn = self._dynamics
        assert dyn is not None
        # uncertainty="forecast": plan on the forecast mean the state carries.
        state = state or {}
        price, demand, known = dyn.forecast(
            t, state.get("price_forecast"), state.get("demand_forecast")
        )
        if self.window_days is not None:
            end_of_window = HOURS_PER_DAY * (t // HOURS_PER_DAY + self.window_days)
            known = min(known, end_of_window - t)
        window = Window(t, inventory, price[:known], demand[:known])
        start = time.perf_counter()
        try:
            result, weights = plan_window(dyn.config, window, self.solver, mip_gap=self.mip_gap)
            short = False
        except RuntimeError:  # a demand that cannot be met from this state: ship what can be
            result, weights = plan_window(
                dyn.config, window, self.solver, mip_gap=self.mip_gap, shortfall=True
            )
            short = True
        self.solves.append(
            {
                "start": t,
                "inventory": inventory.copy(),
                "hours": known,
                "window_cost": -result.objective,
                "shortfall": short,
                "seconds": time.perf_counter() - start,
            }
        )
        self._plan, self._plan_start = weights, t


def mpc_policy(env: gym.Env, **options: Any) -> RollingHorizonPolicy:
    """The daily rolling-horizon policy over the forecast window of ``env``'s config (with
    ``uncertainty="forecast"``: on the forecast mean, re-planned each day)."""
    config: ASUConfig = env.unwrapped.config
    return RollingHorizonPolicy(window_days=config.lookahead_days + 1, **options)

"""Full-space RTN MILP (HiGHS by default): :mod:`stagewise.core.production_scheduling.model`
on the network of an :class:`RTNConfig`."""

from __future__ import annotations

from typing import Any

import numpy as np

from stagewise.core.config import load_config
from stagewise.core.env import State
from stagewise.core.production_scheduling.model import DEFAULT_GAP, NetworkMPC, solve_network
from stagewise.core.solve import PlanPolicy, Solution
from stagewise.problems.rtn.config import RTNConfig


def solve(
    config: Any = None,
    *,
    state: State | None = None,
    horizon: int | None = None,
    demand: np.ndarray | None = None,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float = DEFAULT_GAP,
    **overrides: Any,
) -> Solution:
    """Optimal batches (objective = episode reward of the periods planned).

    Args:
        config: path, dict or :class:`RTNConfig` (``None``: the shipped hard case study).
        state: physical environment state to plan from (``info["state"]``; default: the start).
        horizon: periods to plan (default: to the end of the episode).
        demand: ``[T, P]`` demand to plan against (default: the config's), e.g. a forecast.
        solver: ``"highs"`` (default), ``"scip"``, ``"gurobi"`` or another MILP solver.
        time_limit: seconds.
        mip_gap: relative optimality gap at which the solver stops.
        overrides: config fields, e.g. ``case="easy"``.
    """
    cfg = load_config(RTNConfig, config, overrides)
    solution = solve_network(
        cfg.network(), state, horizon, demand, solver=solver, time_limit=time_limit, mip_gap=mip_gap
    )
    solution.details["pairs"] = ", ".join(cfg.network().pairs)
    return solution


def optimal_policy(env: Any) -> PlanPolicy:
    """Solve the environment's configuration and replay the optimal plan."""
    return PlanPolicy(solve(env.unwrapped.config).plan)


def mpc_policy(env: Any, horizon: int = 10) -> NetworkMPC:
    """Re-plan ``horizon`` periods (default 10) from the current state every period."""
    return NetworkMPC(horizon)

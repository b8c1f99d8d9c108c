"""Full-space STN MILP (HiGHS by default): :mod:`stagewise.core.production_scheduling.model`
on the network of an :class:`STNConfig`."""

from __future__ import annotations

from typing import Any

from stagewise.core.production_scheduling.model import (
    clairvoyant_policy,
    mpc_policy,
    optimal_policy,
    solve_config,
)
from stagewise.core.solve import Solution
from stagewise.problems.stn.config import STNConfig

__all__ = ["clairvoyant_policy", "mpc_policy", "optimal_policy", "solve"]


def solve(config: Any = None, **options: Any) -> Solution:
    """Optimal batches of the STN case study; ``options`` as
    :func:`~stagewise.core.production_scheduling.model.solve_config` (state, horizon, demand,
    solver, time_limit, mip_gap, config fields)."""
    return solve_config(STNConfig, config, **options)

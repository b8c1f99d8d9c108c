"""Running a Pyomo model and turning its answer into a :class:`~stagewise.core.solve.Solution`.

Solver names: ``"highs"`` (``appsi_highs``, LP/MILP), ``"scip"`` (``scip_direct``,
MIQP/MINLP), ``"gurobi"`` (``gurobi_direct``, when the user has it), or any
Pyomo solver name. A problem passes its default; :func:`run` applies the time
limit in each solver's own option name, reads the status, the incumbent and the
proven bound, and reports them in the environment's reward units.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.opt import TerminationCondition

ALIASES = {"highs": "appsi_highs", "scip": "scip_direct", "gurobi": "gurobi_direct"}
_TIME_LIMIT_OPTION = {
    "appsi_highs": "time_limit",
    "scip_direct": "limits/time",
    "gurobi_direct": "TimeLimit",
    "gurobi_persistent": "TimeLimit",
}
_GAP_OPTION = {
    "appsi_highs": "mip_rel_gap",
    "scip_direct": "limits/gap",
    "gurobi_direct": "MIPGap",
    "gurobi_persistent": "MIPGap",
}
_STATUS = {
    TerminationCondition.optimal: "optimal",
    TerminationCondition.locallyOptimal: "optimal",
    TerminationCondition.globallyOptimal: "optimal",
    TerminationCondition.maxTimeLimit: "time_limit",
    TerminationCondition.infeasible: "infeasible",
    TerminationCondition.unbounded: "unbounded",
    TerminationCondition.infeasibleOrUnbounded: "infeasible_or_unbounded",
}


@dataclass
class RunResult:
    """Outcome of one solve, in the environment's reward units (maximization).

    Attributes:
        solver: Pyomo solver name used.
        status: ``"optimal"``, ``"time_limit"``, ``"infeasible"``, ...
        objective: reward of the incumbent (``-cost`` for a cost-minimizing model).
        bound: proven upper bound on the reward, if the solver gives one.
        solve_time: wall-clock seconds of the solver call.
    """

    solver: str
    status: str
    objective: float
    bound: float | None
    solve_time: float

    @property
    def gap(self) -> float | None:
        """Relative gap ``|bound - objective| / max(1, |objective|)``."""
        if self.bound is None or not np.isfinite(self.objective):
            return None
        return abs(self.bound - self.objective) / max(1.0, abs(self.objective))


def resolve_solver(name: str | None, default: str) -> str:
    """The Pyomo solver name for ``name`` (an alias or a Pyomo name; ``None``: ``default``).

    Raises:
        ValueError: the solver is not installed, naming the alternatives.
    """
    chosen = ALIASES.get(name or default, name or default)
    try:
        available = bool(pyo.SolverFactory(chosen).available(exception_flag=False))
    except Exception:  # a plugin that fails to load is as good as absent
        available = False
    if not available:
        raise ValueError(
            f"solver {name or default!r} ({chosen}) is not available; "
            f"use one of {sorted(ALIASES)} or another installed Pyomo solver"
        )
    return chosen


def run(
    model: pyo.ConcreteModel,
    objective: pyo.Objective,
    solver: str | None,
    default: str,
    time_limit: float | None = None,
    mip_gap: float | None = None,
) -> RunResult:
    """Solve ``model`` (whose ``objective`` is a cost to minimize) and read the answer.

    Raises:
        RuntimeError: no feasible solution was found (status named).
    """
    name = resolve_solver(solver, default)
    options: dict[str, Any] = {}
    if time_limit is not None:
        if time_limit <= 0:
            raise ValueError(f"time_limit must be > 0 seconds, got {time_limit}")
        options[_TIME_LIMIT_OPTION.get(name, "time_limit")] = float(time_limit)
    if mip_gap is not None:
        options[_GAP_OPTION.get(name, "mip_gap")] = float(mip_gap)
    opt = pyo.SolverFactory(name)
    start = time.perf_counter()
    results = opt.solve(model, options=options, load_solutions=False)
    elapsed = time.perf_counter() - start
    condition = results.solver.termination_condition
    status = _STATUS.get(condition, str(condition))
    if status not in ("optimal", "time_limit"):
        raise RuntimeError(f"{name} found no solution: {status}")
    try:
        model.solutions.load_from(results)
    except (ValueError, RuntimeError) as err:
        raise RuntimeError(f"{name} stopped ({status}) without a feasible solution") from err
    cost = float(pyo.value(objective))
    lower = results.problem.lower_bound
    bound = None if lower is None or not np.isfinite(float(lower)) else -float(lower)
    if status == "optimal" and bound is None:
        bound = -cost
    return RunResult(name, status, -cost, bound, elapsed)


def var_array(var: Any, *index_sets: Sequence[Any], integral: bool = False) -> np.ndarray:
    """The values of an indexed Pyomo ``var`` as an array shaped by ``index_sets``.

    ``integral=True`` rounds (binaries and integers come back as 0.9999999...).
    Unset values read as 0.
    """
    axes = [list(s) for s in index_sets]
    shape = tuple(len(a) for a in axes)
    out = np.zeros(shape)
    for pos in np.ndindex(*shape):
        key = tuple(axes[d][i] for d, i in enumerate(pos))
        value = var[key[0] if len(key) == 1 else key].value
        out[pos] = 0.0 if value is None else value
    return np.round(out) if integral else out


def plan_from_arrays(steps: int, **arrays: np.ndarray) -> list[dict[str, Any]]:
    """One decision dict per step from arrays whose first axis is the step."""
    for name, arr in arrays.items():
        if arr.shape[0] != steps:
            raise ValueError(f"{name} has {arr.shape[0]} steps, expected {steps}")
    return [{name: arr[t].copy() for name, arr in arrays.items()} for t in range(steps)]

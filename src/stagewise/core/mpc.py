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
from collections.abc import Callable, Sequence
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


# ----------------------------------------------------------------- persistent window model
class WindowModel:
    """A rolling-horizon MILP compiled into HiGHS once and updated, not rebuilt, every step.

    The problem builds one Pyomo model of ``L`` periods (``periods``: ``0 .. L - 1``, the last
    index of every per-period variable and constraint) in which everything a step changes
    enters as a *parameter*: a variable of ``params`` that :meth:`solve` fixes through its
    bounds (the state ``s_t``, the forecast ``f_{t+k|t}``). A step then only changes column
    bounds, costs and row bounds of the compiled matrix:

    - ``set_params``: parameter columns fixed, ``lb = ub = value``;
    - ``set_periods(R)``: the first ``R`` periods planned; the rows of periods ``k >= R``
      made free (``-inf <= a x <= inf``) and their variables fixed at 0, so a window that
      runs past the episode's end costs nothing and constrains nothing (rows only look back,
      ``k - 1``, ``k - d``, so no planned row reads a switched-off period);
    - ``set_costs``: objective coefficients (prices that depend on the absolute period).

    ``set_periods`` opens a step: its first solve starts from the previous step's plan moved
    one period earlier (``x_{k+1} -> x_k``; the last period and the variables of no period
    keep their values), later solves of the step from the last solution, handed to HiGHS as
    a start; where it is still feasible it is the first incumbent.

    Attributes:
        model: the Pyomo model (read ``cols`` of its variables for the column indices).
        solve_time: seconds of the last HiGHS call.
    """

    def __init__(
        self,
        model: Any,
        periods: Any,
        params: Sequence[Any],
        mip_gap: float | None = None,
        options: dict[str, Any] | None = None,
    ):
        import highspy
        import pyomo.environ as pyo
        from pyomo.common.tee import capture_output
        from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

        self.model = model
        form = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
        if len(form.objectives) != 1:
            raise ValueError("a window model needs exactly one objective")
        self._sign = 1.0 if form.objectives[0].sense == pyo.minimize else -1.0
        self.columns = list(form.columns)
        self._col_of = {id(v): k for k, v in enumerate(self.columns)}
        n_cols, n_rows = len(self.columns), len(form.rows)
        self.lower = np.array([_bound(v.lb, -np.inf) for v in self.columns])
        self.upper = np.array([_bound(v.ub, np.inf) for v in self.columns])
        self._compiled_bounds = (self.lower.copy(), self.upper.copy())
        integer = np.array([v.is_integer() or v.is_binary() for v in self.columns])
        param_ids = {id(v) for p in params for v in p.values()}
        self.is_param = np.array([id(v) in param_ids for v in self.columns])
        self.col_period = np.array([_period(v, periods) for v in self.columns])
        self.row_period = np.array([_period(r.constraint, periods) for r in form.rows])
        rhs = np.asarray(form.rhs, dtype=np.float64)
        sense = np.array([r.bound_type for r in form.rows])
        self.row_lower = np.where(sense <= 0, rhs, -np.inf)
        self.row_upper = np.where(sense >= 0, rhs, np.inf)
        self.cost = self._sign * np.asarray(form.c.toarray()[0], dtype=np.float64)
        self._next = self._successors(periods)
        self._values = np.zeros(n_cols)
        self._active = int(max(self.col_period.max(initial=-1), self.row_period.max(initial=-1)))
        self._active += 1
        self.length = self._active
        self._previous: np.ndarray | None = None
        self._new_step = True
        self.solve_time = 0.0
        self.objective = np.nan
        self.dual_bound = np.nan

        with capture_output(capture_fd=True):  # HiGHS greets on stdout when made
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
        for key, value in (options or {}).items():
            h.setOptionValue(key, value)
        if mip_gap is not None:
            h.setOptionValue("mip_rel_gap", float(mip_gap))
        a = form.A.tocsc()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_cols, n_rows
        lp.col_cost_ = self.cost
        lp.col_lower_, lp.col_upper_ = self.lower, self.upper
        lp.row_lower_, lp.row_upper_ = self.row_lower, self.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr
        lp.a_matrix_.index_ = a.indices
        lp.a_matrix_.value_ = a.data
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if k else highspy.HighsVarType.kContinuous
            for k in integer
        ]
        h.passModel(lp)
        self._highs = h
        self._all_cols = np.arange(n_cols, dtype=np.int32)
        self._all_rows = np.arange(n_rows, dtype=np.int32)
        self._integer = integer.any()
        self._integer_cols = np.flatnonzero(integer)
        self._last_lower, self._last_upper = np.zeros(0), np.zeros(0)
        self._relaxed = False

    def _successors(self, periods: Any) -> np.ndarray:
        """Column of the same variable one period later (``-1``: none or not per-period)."""
        out = np.full(len(self.columns), -1)
        last = max(periods)
        for k, v in enumerate(self.columns):
            if self.col_period[k] < 0 or self.col_period[k] >= last:
                continue
            index = v.index()
            later = (*index[:-1], index[-1] + 1) if isinstance(index, tuple) else index + 1
            nxt = v.parent_component()[later]
            out[k] = self._col_of.get(id(nxt), -1)
        return out

    def cols(self, var: Any, *index_sets: Sequence[Any]) -> np.ndarray:
        """Column indices of an indexed Pyomo ``var`` shaped by ``index_sets``
        (``-1`` where the variable is in no row and no cost)."""
        axes = [list(s) for s in index_sets]
        out = np.full(tuple(len(a) for a in axes), -1, dtype=np.int64)
        for pos in np.ndindex(*out.shape):
            key = tuple(axes[d][i] for d, i in enumerate(pos))
            out[pos] = self._col_of.get(id(var[key[0] if len(key) == 1 else key]), -1)
        return out

    def set_params(self, cols: np.ndarray, values: np.ndarray) -> None:
        """Fix the parameter columns ``cols`` at ``values`` (same shape; ``-1`` skipped)."""
        cols, values = np.asarray(cols).ravel(), np.asarray(values, dtype=np.float64).ravel()
        keep = cols >= 0
        if not self.is_param[cols[keep]].all():
            raise ValueError("set_params: a column that is no parameter")
        self._values[cols[keep]] = values[keep]

    def set_bounds(self, cols: np.ndarray, lower: Any, upper: Any) -> None:
        """New bounds of the decision columns ``cols`` (numbers, or arrays shaped as
        ``cols``; kept for the following solves)."""
        cols = np.asarray(cols).ravel()
        keep = cols >= 0
        shape = (len(cols),)
        lower = np.broadcast_to(np.asarray(lower, dtype=np.float64).ravel(), shape)[keep]
        upper = np.broadcast_to(np.asarray(upper, dtype=np.float64).ravel(), shape)[keep]
        self.lower[cols[keep]], self.upper[cols[keep]] = lower, upper

    def restore_bounds(self, cols: np.ndarray) -> None:
        """The bounds of the decision columns ``cols`` as the model declared them."""
        cols = np.asarray(cols).ravel()
        cols = cols[cols >= 0]
        self.lower[cols] = self._compiled_bounds[0][cols]
        self.upper[cols] = self._compiled_bounds[1][cols]

    def set_costs(self, cols: np.ndarray, costs: np.ndarray) -> None:
        """Objective coefficients of ``cols`` (in the model's sense)."""
        cols, costs = np.asarray(cols).ravel(), np.asarray(costs, dtype=np.float64).ravel()
        keep = cols >= 0
        self.cost[cols[keep]] = self._sign * costs[keep]

    def set_periods(self, planned: int) -> None:
        """Plan the first ``planned`` periods only (``1 <= planned <= L``)."""
        if not 1 <= planned <= self.length:
            raise ValueError(f"planned periods must be in 1..{self.length}, got {planned}")
        self._active = int(planned)
        self._new_step = True

    def add_rows(self, lower: np.ndarray, upper: np.ndarray, rows: list[dict[int, float]]) -> None:
        """Append rows ``lower <= sum_c a_c x_c <= upper`` (cuts valid in every step; never
        switched off)."""
        starts, index, value = [0], [], []
        for row in rows:
            index += list(row)
            value += list(row.values())
            starts.append(len(index))
        self._highs.addRows(
            len(rows),
            np.asarray(lower, dtype=np.float64),
            np.asarray(upper, dtype=np.float64),
            len(index),
            np.asarray(starts[:-1], dtype=np.int32),
            np.asarray(index, dtype=np.int32),
            np.asarray(value, dtype=np.float64),
        )
        self.row_lower = np.append(self.row_lower, lower)
        self.row_upper = np.append(self.row_upper, upper)
        self.row_period = np.append(self.row_period, np.full(len(rows), -1))
        self._all_rows = np.arange(len(self.row_lower), dtype=np.int32)

    def solve(self, as_lp: bool = False) -> tuple[str, np.ndarray, float]:
        """Solve with the current parameters, periods and costs: ``(status, x, objective)``,
        ``status`` ``"optimal"``, ``"time_limit"`` or the failure; the objective in the
        model's sense (without the constants the compiler moved out).

        ``as_lp``: integrality dropped, solved by simplex from the last LP's basis (the LP
        relaxation; the same problem where :meth:`set_bounds` fixed every integer column,
        without HiGHS's MIP set-up). The next solve without it restores integrality."""
        import highspy

        h = self._highs
        if as_lp != self._relaxed and self._integer:
            kind = highspy.HighsVarType.kContinuous if as_lp else highspy.HighsVarType.kInteger
            cols = self._integer_cols.astype(np.int32)
            h.changeColsIntegrality(len(cols), cols, np.full(len(cols), kind))
            self._relaxed = as_lp
        off = self.col_period >= self._active
        lower = np.where(self.is_param, self._values, np.where(off, 0.0, self.lower))
        upper = np.where(self.is_param, self._values, np.where(off, 0.0, self.upper))
        h.changeColsBounds(len(lower), self._all_cols, lower, upper)
        self._last_lower = lower[self._integer_cols]
        self._last_upper = upper[self._integer_cols]
        h.changeColsCost(len(lower), self._all_cols, np.where(off, 0.0, self.cost))
        free = self.row_period >= self._active
        row_lower = np.where(free, -np.inf, self.row_lower)
        row_upper = np.where(free, np.inf, self.row_upper)
        h.changeRowsBounds(len(row_lower), self._all_rows, row_lower, row_upper)
        if self._integer and not as_lp and self._previous is not None:
            moved = np.where(self._next >= 0, self._next, self._all_cols)
            start = self._previous[moved] if self._new_step else self._previous
            start = np.clip(np.where(self.is_param, self._values, start), lower, upper)
            solution = highspy.HighsSolution()
            solution.col_value = start
            solution.value_valid = True
            h.setSolution(solution)
        self._new_step = False
        started = time.perf_counter()
        if h.run() == highspy.HighsStatus.kError and self._threads_clash():
            highspy.Highs.resetGlobalScheduler(True)
            h.run()
        self.solve_time = time.perf_counter() - started
        status = h.getModelStatus()
        name = {
            highspy.HighsModelStatus.kOptimal: "optimal",
            highspy.HighsModelStatus.kTimeLimit: "time_limit",
            highspy.HighsModelStatus.kInfeasible: "infeasible",
        }.get(status, h.modelStatusToString(status))
        if name not in ("optimal", "time_limit") or not h.getInfo().primal_solution_status:
            self._previous = None
            return name, np.zeros(len(lower)), np.nan
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)
        self._previous = x
        info = h.getInfo()
        self.objective = self._sign * float(info.objective_function_value)
        self.dual_bound = (
            self._sign * float(info.mip_dual_bound)
            if self._integer_now() and not as_lp
            else self.objective
        )
        return name, x, self.objective

    def _threads_clash(self) -> bool:
        """Whether the run failed because HiGHS's thread scheduler, shared by the process, was
        started with another thread count than this model's ``threads`` option (a Highs of
        default options ran first): the scheduler is then restarted, between runs."""
        import highspy

        threads = self._highs.getOptionValue("threads")
        threads = threads[1] if isinstance(threads, tuple) else threads
        return bool(threads) and self._highs.getModelStatus() == highspy.HighsModelStatus.kNotset

    def _integer_now(self) -> bool:
        """Whether the last solve had integer columns left free (a MIP, with a dual bound)."""
        return bool(self._integer_cols.size and (self._last_lower < self._last_upper).any())


def _bound(value: Any, default: float) -> float:
    return default if value is None else float(value)


def _period(component_data: Any, periods: Any) -> int:
    """The period of a variable or constraint: the last index when its component is indexed
    by ``periods`` last, else ``-1``."""
    parent = component_data.parent_component()
    if not parent.is_indexed():
        return -1
    index_set = parent.index_set()
    subsets = list(index_set.subsets()) if index_set.dimen != 1 else [index_set]
    if subsets[-1] is not periods:
        return -1
    index = component_data.index()
    return int(index[-1] if isinstance(index, tuple) else index)

"""Full-space unit-commitment model (MIQP; SCIP by default) of the environment's problem.

Sets ``G`` (generators), ``N`` (buses), ``K`` (lines), ``T`` = 1..T (hours).
Variables: ``u, v, w`` (on, start-up, shut-down; binary), ``p`` (MW), ``theta``
(rad), ``f`` (MW), ``s`` (load shed, MW), ``r`` (spinning reserve, MW),
``short`` (reserve shortfall, MW). Minimize

    sum_t [ sum_i (a_i p_it^2 + b_i p_it + c_i + C^v_i v_it + C^w_i w_it)
            + C^LS sum_n s_nt + C^R short_t ]

subject to (A.3.5 as constraints; the environment repairs what these forbid):

- logic: ``u_it - u_i,t-1 = v_it - w_it``, ``v_it + w_it <= 1``;
- minimum up/down time: ``sum_{s=t-UT_i+1..t} v_is <= u_it`` and
  ``sum_{s=t-DT_i+1..t} w_is <= 1 - u_it`` (hours before 1 from the history);
- output: ``P_min u <= p <= P_max u``;
- ramping: ``p_it - p_i,t-1 <= RU u_i,t-1 + SU v_it``,
  ``p_i,t-1 - p_it <= RD u_it + SD w_it``;
- reserve: ``r_it <= P_max u_it - p_it``, ``r_it <= p_i,t-1 + RU u_i,t-1 + SU v_it - p_it``,
  ``short_t >= R - sum_i r_it``;
- DC lines: ``f_kt = B_k (theta_from - theta_to)`` in ``[F_min, F_max]``, ``theta_0 = 0``;
- balance: ``sum_{i at n} p_it + inflow_nt - outflow_nt + s_nt >= D_nt`` (over-generation free).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyomo.environ as pyo

from stagewise.core.config import load_config
from stagewise.core.mpc import WindowModel
from stagewise.core.pyomo_tools import plan_from_arrays, run, var_array
from stagewise.core.solve import PlanPolicy, Solution
from stagewise.core.uncertainty import ClairvoyantPolicy, forecast_policies
from stagewise.problems.unit_commitment.config import UnitCommitmentConfig
from stagewise.problems.unit_commitment.env import _pad_history

DEFAULT_SOLVER = "scip"
DEFAULT_GAP = 1e-7


def _past_changes(config: UnitCommitmentConfig) -> tuple[np.ndarray, np.ndarray]:
    """Start-ups and shut-downs ``[G, L-1]`` of hours 0, -1, ... from the initial history."""
    length = int(max(max(config.UT), max(config.DT))) + 1
    hist = np.array([_pad_history(seq, length) for seq in config.u0_seq], dtype=float)
    change = hist[:, :-1] - hist[:, 1:]
    return np.maximum(change, 0.0), np.maximum(-change, 0.0)


def _state_changes(u_hist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start-ups and shut-downs ``[G, L-1]`` of the hours before a state's, from its
    ``u_hist`` (most recent first)."""
    change = u_hist[:, :-1] - u_hist[:, 1:]
    return np.maximum(change, 0.0), np.maximum(-change, 0.0)


def build_model(
    config: UnitCommitmentConfig,
    state: dict[str, Any] | None = None,
    demand: np.ndarray | None = None,
    horizon: int | None = None,
) -> pyo.ConcreteModel:
    """The Pyomo model of ``config`` from ``state`` over ``horizon`` hours.

    Args:
        config: the problem.
        state: a physical state as in ``info["state"]`` (``t``, ``u_hist``, ``p``);
            ``None``: the initial state of the case study.
        demand: ``[T, N]`` demand (MW) of every hour (``None``: the deterministic demand);
            hours before the state's are unused.
        horizon: hours to plan (``None``: to the end of the episode). Model hour ``1``
            is the state's hour ``t``.
    """
    c = config
    m = pyo.ConcreteModel(name=f"unit_commitment_{c.variant}")
    m.G = pyo.RangeSet(0, c.n_gen - 1)
    m.N = pyo.RangeSet(0, c.n_bus - 1)
    m.K = pyo.RangeSet(0, c.n_line - 1) if c.n_line else pyo.Set(initialize=[])
    start = 0 if state is None else int(state["t"])
    end = c.T if horizon is None else min(c.T, start + int(horizon))
    if not 0 <= start < end:
        raise ValueError(f"no hour to plan: start {start}, end {end}, T {c.T}")
    m.T = pyo.RangeSet(1, end - start)
    series = np.asarray(c.deterministic_demand if demand is None else demand, dtype=float)
    demand = series[start:end]
    if state is None:
        u0 = [seq[0] for seq in c.u0_seq]
        p0 = list(c.p0)
        past_v, past_w = _past_changes(c)
    else:
        u_hist = np.asarray(state["u_hist"], dtype=float)
        u0 = [float(x) for x in u_hist[:, 0]]
        p0 = [float(x) for x in np.asarray(state["p"], dtype=float)]
        past_v, past_w = _state_changes(u_hist)

    m.u = pyo.Var(m.G, m.T, within=pyo.Binary)
    m.v = pyo.Var(m.G, m.T, within=pyo.Binary)
    m.w = pyo.Var(m.G, m.T, within=pyo.Binary)
    m.p = pyo.Var(m.G, m.T, bounds=lambda _, i, t: (0.0, c.P_max[i]))
    m.r = pyo.Var(m.G, m.T, within=pyo.NonNegativeReals)
    m.s = pyo.Var(m.N, m.T, within=pyo.NonNegativeReals)
    m.short = pyo.Var(m.T, within=pyo.NonNegativeReals)
    m.theta = pyo.Var(
        m.N, m.T, bounds=lambda _, n, t: (0.0, 0.0) if n == 0 else (c.Pi_min[n], c.Pi_max[n])
    )
    m.f = pyo.Var(m.K, m.T, bounds=lambda _, k, t: (c.F_min[k], c.F_max[k]))

    def u_before(i: int, t: int) -> Any:
        return m.u[i, t - 1] if t > 1 else u0[i]

    def p_before(i: int, t: int) -> Any:
        return m.p[i, t - 1] if t > 1 else p0[i]

    m.logic = pyo.Constraint(
        m.G, m.T, rule=lambda _, i, t: m.u[i, t] - u_before(i, t) == m.v[i, t] - m.w[i, t]
    )
    m.one_change = pyo.Constraint(m.G, m.T, rule=lambda _, i, t: m.v[i, t] + m.w[i, t] <= 1)

    def window_sum(var: Any, past: np.ndarray, i: int, t: int, width: int) -> Any:
        inside = sum(var[i, s] for s in range(max(1, t - width + 1), t + 1))
        before = sum(past[i, k] for k in range(0, width - t) if k < past.shape[1])
        return inside + before

    m.min_up = pyo.Constraint(
        m.G, m.T, rule=lambda _, i, t: window_sum(m.v, past_v, i, t, c.UT[i]) <= m.u[i, t]
    )
    m.min_down = pyo.Constraint(
        m.G, m.T, rule=lambda _, i, t: window_sum(m.w, past_w, i, t, c.DT[i]) <= 1 - m.u[i, t]
    )
    m.p_low = pyo.Constraint(m.G, m.T, rule=lambda _, i, t: c.P_min[i] * m.u[i, t] <= m.p[i, t])
    m.p_high = pyo.Constraint(m.G, m.T, rule=lambda _, i, t: m.p[i, t] <= c.P_max[i] * m.u[i, t])

    def ramp_limit(i: int, t: int) -> Any:
        return p_before(i, t) + c.RU[i] * u_before(i, t) + c.SU[i] * m.v[i, t]

    m.ramp_up = pyo.Constraint(m.G, m.T, rule=lambda _, i, t: m.p[i, t] <= ramp_limit(i, t))
    m.ramp_down = pyo.Constraint(
        m.G,
        m.T,
        rule=lambda _, i, t: (
            p_before(i, t) - m.p[i, t] <= c.RD[i] * m.u[i, t] + c.SD[i] * m.w[i, t]
        ),
    )
    m.reserve_capacity = pyo.Constraint(
        m.G, m.T, rule=lambda _, i, t: m.r[i, t] <= c.P_max[i] * m.u[i, t] - m.p[i, t]
    )
    m.reserve_ramp = pyo.Constraint(
        m.G, m.T, rule=lambda _, i, t: m.r[i, t] <= ramp_limit(i, t) - m.p[i, t]
    )
    m.reserve = pyo.Constraint(m.T, rule=lambda _, t: m.short[t] >= c.R - sum(m.r[:, t]))
    m.dc_flow = pyo.Constraint(
        m.K,
        m.T,
        rule=lambda _, k, t: (
            m.f[k, t] == c.B[k] * (m.theta[c.line_bus[k][0], t] - m.theta[c.line_bus[k][1], t])
        ),
    )

    def balance(_: Any, n: int, t: int) -> Any:
        generation = sum(m.p[i, t] for i in m.G if c.gen_bus[i] == n)
        inflow = sum(m.f[k, t] for k in m.K if c.line_bus[k][1] == n)
        outflow = sum(m.f[k, t] for k in m.K if c.line_bus[k][0] == n)
        return generation + inflow - outflow + m.s[n, t] >= demand[t - 1, n]

    m.balance = pyo.Constraint(m.N, m.T, rule=balance)
    m.cost = pyo.Objective(
        expr=sum(
            c.a[i] * m.p[i, t] ** 2
            + c.b[i] * m.p[i, t]
            + c.c[i]
            + c.hot_cost[i] * m.v[i, t]
            + c.C_SD[i] * m.w[i, t]
            for i in m.G
            for t in m.T
        )
        + sum(c.C_LS * m.s[n, t] for n in m.N for t in m.T)
        + sum(c.C_RP * m.short[t] for t in m.T),
        sense=pyo.minimize,
    )
    return m


def solve(
    config: Any = None,
    *,
    state: dict[str, Any] | None = None,
    demand: np.ndarray | None = None,
    horizon: int | None = None,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float = DEFAULT_GAP,
    **overrides: Any,
) -> Solution:
    """Optimal commitment and dispatch of the case study (objective = episode reward).

    Args:
        config: path, dict or :class:`UnitCommitmentConfig` (``None``: the shipped case study).
        solver: ``"scip"`` (default), ``"gurobi"``, or another MIQP-capable Pyomo solver.
        time_limit: seconds; the best solution found so far is returned at the limit.
        mip_gap: relative optimality gap at which the solver stops.
        overrides: config fields, e.g. ``variant="v1"``.
        state, demand, horizon: plan from this physical state over ``horizon`` hours on
            this ``[T, N]`` demand (see :func:`build_model`; ``None``: the case study).

    Raises:
        ValueError: ``model_type="normal"`` without ``demand`` (the model needs it known).
    """
    cfg = load_config(UnitCommitmentConfig, config, overrides)
    if cfg.model_type != "deterministic" and demand is None:
        raise ValueError("the full-space model needs model_type='deterministic' (known demand)")
    model = build_model(cfg, state, demand, horizon)
    result = run(model, model.cost, solver, DEFAULT_SOLVER, time_limit, mip_gap)
    u = var_array(model.u, model.G, model.T, integral=True).T
    p = np.where(u > 0, var_array(model.p, model.G, model.T).T, 0.0)
    arrays = {"u": u, "p": p}
    if cfg.n_bus > 1:
        arrays["theta"] = var_array(model.theta, model.N, model.T).T[:, 1:]
    return Solution(
        objective=result.objective,
        status=result.status,
        solve_time=result.solve_time,
        bound=result.bound,
        plan=plan_from_arrays(len(model.T), **arrays),
        details={"solver": result.solver, "gap": result.gap, "variant": cfg.variant},
    )


def plan(
    config: UnitCommitmentConfig,
    state: dict[str, Any] | None,
    series: Mapping[str, np.ndarray],
    window: int | None,
) -> Solution:
    """The planner of :func:`stagewise.core.uncertainty.forecast_policies`: the model from
    ``state`` over ``window`` hours on ``series["load"]`` (``[T, N]`` MW)."""
    return solve(config, state=state, demand=series["load"], horizon=window)


# Tangents of each generator's a_i p^2 in the window model from the start (the solve adds
# one at every dispatch where the tangents under-state the cost).
INITIAL_TANGENTS = 12
MAX_CUT_ROUNDS = 20
CUT_GAP = 1e-6
TANGENT_RESOLUTION = 1e-6
# HiGHS on the window MILP, which closes at its root node from the previous plan's start:
# presolve (half of each solve) and the feasibility jump (a third) buy nothing there, a
# second thread only spins (process time), and the shifting heuristic finds the commitment
# a changed forecast calls for before cut separation does (the slowest solves).
HIGHS_OPTIONS = {
    "presolve": "off",
    "mip_heuristic_run_feasibility_jump": False,
    "mip_heuristic_run_shifting": True,
    "threads": 1,
}


class WindowPlanner:
    """The commitment model of :func:`build_model` over ``window`` hours compiled once into
    HiGHS (:class:`~stagewise.core.mpc.WindowModel`), for the ``mpc`` policy.

    The state (``u_i,0``, ``p_i,0``, the start-ups and shut-downs of the hours before,
    from ``u_hist``) and the forecast ``D_nt`` are parameters fixed each step; model hour
    ``k`` is the state's hour ``t + k``. The convex ``a_i p_it^2`` of the cost is an
    epigraph ``z_it >= a_i p_it^2`` held by tangents ``z_it >= a_i (2 q p_it - q^2)``
    (outer approximation): after each solve a tangent is added at every ``p_it`` where
    ``a_i p_it^2 - z_it`` exceeds the gap, and the MILP re-solved, until the plan's true
    cost is within ``mip_gap`` of the MILP's bound. Tangents hold at every hour of every
    step, so they stay in the model: later steps start with all of them.
    """

    def __init__(self, config: UnitCommitmentConfig, window: int | None = None):
        c = self.config = config
        length = c.T if window is None else min(c.T, int(window))
        self.window = length
        history = int(max(max(c.UT), max(c.DT))) + 1
        m = pyo.ConcreteModel(name="unit_commitment_window")
        m.G = pyo.RangeSet(0, c.n_gen - 1)
        m.N = pyo.RangeSet(0, c.n_bus - 1)
        m.Lines = pyo.RangeSet(0, c.n_line - 1) if c.n_line else pyo.Set(initialize=[])
        m.H = pyo.RangeSet(0, history - 2)
        m.K = pyo.RangeSet(0, length - 1)
        m.u0, m.p0 = pyo.Var(m.G), pyo.Var(m.G)
        m.past_v, m.past_w = pyo.Var(m.G, m.H), pyo.Var(m.G, m.H)
        m.demand = pyo.Var(m.N, m.K)
        m.u = pyo.Var(m.G, m.K, within=pyo.Binary)
        m.v = pyo.Var(m.G, m.K, within=pyo.Binary)
        m.w = pyo.Var(m.G, m.K, within=pyo.Binary)
        m.p = pyo.Var(m.G, m.K, bounds=lambda _, i, k: (0.0, c.P_max[i]))
        m.z = pyo.Var(m.G, m.K, within=pyo.NonNegativeReals)
        m.r = pyo.Var(m.G, m.K, within=pyo.NonNegativeReals)
        m.s = pyo.Var(m.N, m.K, within=pyo.NonNegativeReals)
        m.short = pyo.Var(m.K, within=pyo.NonNegativeReals)
        m.theta = pyo.Var(
            m.N, m.K, bounds=lambda _, n, k: (0.0, 0.0) if n == 0 else (c.Pi_min[n], c.Pi_max[n])
        )
        m.f = pyo.Var(m.Lines, m.K, bounds=lambda _, line, k: (c.F_min[line], c.F_max[line]))

        def u_before(i: int, k: int) -> Any:
            return m.u[i, k - 1] if k > 0 else m.u0[i]

        def p_before(i: int, k: int) -> Any:
            return m.p[i, k - 1] if k > 0 else m.p0[i]

        def window_sum(var: Any, past: Any, i: int, k: int, width: int) -> Any:
            inside = sum(var[i, s] for s in range(max(0, k - width + 1), k + 1))
            return inside + sum(past[i, h] for h in range(0, width - k - 1) if h in m.H)

        def ramp_limit(i: int, k: int) -> Any:
            return p_before(i, k) + c.RU[i] * u_before(i, k) + c.SU[i] * m.v[i, k]

        rule = pyo.Constraint
        m.logic = rule(
            m.G, m.K, rule=lambda _, i, k: m.u[i, k] - u_before(i, k) == m.v[i, k] - m.w[i, k]
        )
        m.one_change = rule(m.G, m.K, rule=lambda _, i, k: m.v[i, k] + m.w[i, k] <= 1)
        m.min_up = rule(
            m.G, m.K, rule=lambda _, i, k: window_sum(m.v, m.past_v, i, k, c.UT[i]) <= m.u[i, k]
        )
        m.min_down = rule(
            m.G,
            m.K,
            rule=lambda _, i, k: window_sum(m.w, m.past_w, i, k, c.DT[i]) <= 1 - m.u[i, k],
        )
        m.p_low = rule(m.G, m.K, rule=lambda _, i, k: c.P_min[i] * m.u[i, k] <= m.p[i, k])
        m.p_high = rule(m.G, m.K, rule=lambda _, i, k: m.p[i, k] <= c.P_max[i] * m.u[i, k])
        m.ramp_up = rule(m.G, m.K, rule=lambda _, i, k: m.p[i, k] <= ramp_limit(i, k))
        m.ramp_down = rule(
            m.G,
            m.K,
            rule=lambda _, i, k: (
                p_before(i, k) - m.p[i, k] <= c.RD[i] * m.u[i, k] + c.SD[i] * m.w[i, k]
            ),
        )
        m.reserve_capacity = rule(
            m.G, m.K, rule=lambda _, i, k: m.r[i, k] <= c.P_max[i] * m.u[i, k] - m.p[i, k]
        )
        m.reserve_ramp = rule(
            m.G, m.K, rule=lambda _, i, k: m.r[i, k] <= ramp_limit(i, k) - m.p[i, k]
        )
        m.reserve = rule(m.K, rule=lambda _, k: m.short[k] >= c.R - sum(m.r[:, k]))
        m.dc_flow = rule(
            m.Lines,
            m.K,
            rule=lambda _, line, k: (
                m.f[line, k]
                == c.B[line] * (m.theta[c.line_bus[line][0], k] - m.theta[c.line_bus[line][1], k])
            ),
        )

        def balance(_: Any, n: int, k: int) -> Any:
            generation = sum(m.p[i, k] for i in m.G if c.gen_bus[i] == n)
            inflow = sum(m.f[line, k] for line in m.Lines if c.line_bus[line][1] == n)
            outflow = sum(m.f[line, k] for line in m.Lines if c.line_bus[line][0] == n)
            return generation + inflow - outflow + m.s[n, k] - m.demand[n, k] >= 0

        m.balance = rule(m.N, m.K, rule=balance)
        m.J = pyo.RangeSet(0, INITIAL_TANGENTS - 1)
        points = {
            (i, j): c.P_min[i] + (c.P_max[i] - c.P_min[i]) * j / (INITIAL_TANGENTS - 1)
            for i in m.G
            for j in m.J
        }
        m.tangent = rule(
            m.G,
            m.J,
            m.K,
            rule=lambda _, i, j, k: (
                m.z[i, k] >= c.a[i] * (2 * points[i, j] * m.p[i, k] - points[i, j] ** 2)
            ),
        )
        m.cost = pyo.Objective(
            expr=sum(
                m.z[i, k] + c.b[i] * m.p[i, k] + c.hot_cost[i] * m.v[i, k] + c.C_SD[i] * m.w[i, k]
                for i in m.G
                for k in m.K
            )
            + sum(c.C_LS * m.s[n, k] for n in m.N for k in m.K)
            + sum(c.C_RP * m.short[k] for k in m.K),
            sense=pyo.minimize,
        )
        wm = self.model = WindowModel(
            m,
            m.K,
            [m.u0, m.p0, m.past_v, m.past_w, m.demand],
            mip_gap=DEFAULT_GAP,
            options=HIGHS_OPTIONS,
        )
        self._u0, self._p0 = wm.cols(m.u0, m.G), wm.cols(m.p0, m.G)
        self._past_v, self._past_w = wm.cols(m.past_v, m.G, m.H), wm.cols(m.past_w, m.G, m.H)
        self._demand = wm.cols(m.demand, m.N, m.K).T  # [K, N]
        self._u, self._p = wm.cols(m.u, m.G, m.K), wm.cols(m.p, m.G, m.K)  # [G, K]
        self._v, self._w = wm.cols(m.v, m.G, m.K), wm.cols(m.w, m.G, m.K)
        self._solve_time = 0.0
        self._z = wm.cols(m.z, m.G, m.K)
        self._theta = wm.cols(m.theta, m.N, m.K)
        self._a = np.asarray(c.a, dtype=float)
        self._points = [[points[i, j] for j in m.J] for i in m.G]

    def __call__(self, state: dict[str, Any], series: Mapping[str, np.ndarray]) -> Solution:
        c, wm = self.config, self.model
        start = int(state["t"])
        planned = min(self.window, c.T - start)
        if planned < 1:
            raise ValueError(f"no hour to plan: start {start}, T {c.T}")
        u_hist = np.asarray(state["u_hist"], dtype=float)
        past_v, past_w = _state_changes(u_hist)
        width = self._past_v.shape[1]
        wm.set_params(self._u0, u_hist[:, 0])
        wm.set_params(self._p0, np.asarray(state["p"], dtype=float))
        wm.set_params(self._past_v, past_v[:, :width])
        wm.set_params(self._past_w, past_w[:, :width])
        demand = np.zeros(self._demand.shape)
        demand[:planned] = np.asarray(series["load"], dtype=float)[start : start + planned]
        wm.set_params(self._demand, demand)
        wm.set_periods(planned)
        status, x, cost = self._solve(planned)
        u = np.round(x[self._u[:, 0]])
        arrays = {"u": u[None], "p": np.where(u > 0, x[self._p[:, 0]], 0.0)[None]}
        if c.n_bus > 1:
            arrays["theta"] = x[self._theta[1:, 0]][None]
        constant = float(np.sum(c.c)) * planned
        return Solution(
            objective=-(cost + constant),
            status=status,
            solve_time=self._solve_time,
            plan=plan_from_arrays(1, **arrays),
            details={"solver": "highspy", "variant": c.variant},
        )

    def _solve(self, planned: int) -> tuple[str, np.ndarray, float]:
        """Outer approximation to ``DEFAULT_GAP``: the MILP gives a commitment and a lower
        bound; with the commitment fixed, LPs with added tangents give its dispatch and true
        cost (an upper bound); tangents at that dispatch go back to the MILP until the
        bounds meet. Returns the status, the solution and its true cost (without ``c_i``)."""
        wm = self.model
        binaries = np.concatenate([self._u.ravel(), self._v.ravel(), self._w.ravel()])
        self._solve_time = 0.0
        for _ in range(MAX_CUT_ROUNDS):
            wm.restore_bounds(binaries)
            status, x, _ = self._run("commitment")
            lower = wm.dual_bound
            wm.set_bounds(binaries, np.round(x[binaries]), np.round(x[binaries]))
            for _ in range(MAX_CUT_ROUNDS):
                missing = self._missing(x, planned)
                upper = wm.objective + float(missing.sum())
                if missing.sum() <= 0.1 * CUT_GAP * max(1.0, abs(upper)):
                    break
                self._add_tangents(x, missing, planned)
                _, x, _ = self._run("dispatch", as_lp=True)
            if upper - lower <= CUT_GAP * max(1.0, abs(upper)):
                break
        wm.restore_bounds(binaries)
        return status, x, upper

    def _run(self, what: str, as_lp: bool = False) -> tuple[str, np.ndarray, float]:
        status, x, objective = self.model.solve(as_lp)
        self._solve_time += self.model.solve_time
        if status not in ("optimal", "time_limit"):
            raise RuntimeError(f"HiGHS found no {what}: {status}")
        return status, x, objective

    def _missing(self, x: np.ndarray, planned: int) -> np.ndarray:
        """``a_i p_ik^2 - z_ik`` ``[G, planned]``: what the tangents under-state."""
        p = x[self._p[:, :planned]]
        return self._a[:, None] * p**2 - x[self._z[:, :planned]]

    def _add_tangents(self, x: np.ndarray, missing: np.ndarray, planned: int) -> None:
        """Tangents ``z_ik >= a_i (2 q p_ik - q^2)`` at ``q = p_ik`` wherever the epigraph
        under-states ``a_i p_ik^2``, for every hour ``k`` (the cost is the same each hour),
        unless one within ``a_i (q - q')^2 <= TANGENT_RESOLUTION`` is there already."""
        rows, lower = [], []
        p = x[self._p[:, :planned]]
        for i, k in zip(*np.nonzero(missing > 1e-9), strict=True):
            q = float(p[i, k])
            known = np.asarray(self._points[i])
            if self._a[i] * np.min((known - q) ** 2, initial=np.inf) <= TANGENT_RESOLUTION:
                continue
            self._points[i].append(q)
            for hour in range(self._p.shape[1]):
                rows.append(
                    {int(self._z[i, hour]): 1.0, int(self._p[i, hour]): -2.0 * self._a[i] * q}
                )
                lower.append(-self._a[i] * q * q)
        if rows:
            self.model.add_rows(np.array(lower), np.full(len(rows), np.inf), rows)


mpc_policy, clairvoyant_policy = forecast_policies(plan, WindowPlanner)


def optimal_policy(env: Any) -> PlanPolicy | ClairvoyantPolicy:
    """Solve the environment's configuration and replay the optimal plan (with
    ``uncertainty="forecast"``: the plan on the episode's realised demand)."""
    if env.unwrapped.config.stochastic:
        return clairvoyant_policy(env)
    return PlanPolicy(solve(env.unwrapped.config).plan)

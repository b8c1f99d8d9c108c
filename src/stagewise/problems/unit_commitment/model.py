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


mpc_policy, clairvoyant_policy = forecast_policies(plan)


def optimal_policy(env: Any) -> PlanPolicy | ClairvoyantPolicy:
    """Solve the environment's configuration and replay the optimal plan (with
    ``uncertainty="forecast"``: the plan on the episode's realised demand)."""
    if env.unwrapped.config.stochastic:
        return clairvoyant_policy(env)
    return PlanPolicy(solve(env.unwrapped.config).plan)

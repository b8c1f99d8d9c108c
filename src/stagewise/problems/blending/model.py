"""Full-space blending model (nonconvex MINLP; SCIP by default) of the environment's problem.

Built from any environment state and window: periods ``t = start .. end - 1``
from the state's inventories ``I^s, I^b, I^d`` and properties ``C``. Variables:
purchases ``tau_st in [0, tau0_st]``, sales ``delta_pt in [0, delta0_pt]``, flows
``F^sj, F^jp in [0, min(F^max, b^ub_j)]``, inventories within their bounds,
properties ``C_jqt in [0, max_s sigma_sq]``, binaries ``x_jt`` (blender j
receives in t; otherwise it may ship) and ``y_jpt`` (arc j->p ships in t).
Maximize ``sum_t beta^d delta - beta^s tau - alpha (arcs used) - beta (flows)``
subject to (A.5.5):

- source, blender and product balances, e.g. ``I^b_jt = I^b_j,t-1 + sum_s F^sj - sum_p F^jp``;
- in-out rule: ``sum_s F^sj_jt <= b^ub_j x_jt``, ``sum_p F^jp_jt <= b^ub_j (1 - x_jt)``;
- property balance (bilinear, the pooling problem):
  ``C_jqt I^b_jt = C_jq,t-1 (I^b_j,t-1 - sum_p F^jp_jt) + sum_s F^sj_jt sigma_sq``;
- quality: ``F^jp_jpt <= b^ub_j y_jpt`` and, where ``y_jpt = 1``,
  ``sigma^lb_pq <= C_jq,t-1 <= sigma^ub_pq`` (a shipment leaves at the property
  the blender had before the period).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
import pyomo.environ as pyo

from stagewise.core.config import load_config
from stagewise.core.mpc import MPCPolicy
from stagewise.core.pyomo_tools import plan_from_arrays, run, var_array
from stagewise.core.solve import PlanPolicy, Solution
from stagewise.core.uncertainty import ClairvoyantPolicy, forecast_mpc, forecast_policies
from stagewise.problems.blending.config import BlendingConfig
from stagewise.problems.blending.env import BlendingDynamics

DEFAULT_SOLVER = "scip"
DEFAULT_GAP = 1e-6
# Seconds per solve of the forecast policies (see plan()).
MPC_TIME_LIMIT = 1.0
BOUND_TIME_LIMIT = 60.0


def build_model(
    config: BlendingConfig,
    state: dict[str, Any] | None = None,
    horizon: int | None = None,
    single_source: bool = False,
    tau0: np.ndarray | None = None,
    delta0: np.ndarray | None = None,
) -> pyo.ConcreteModel:
    """The MINLP from ``state`` (``None``: empty tanks at t = 0) over ``horizon`` periods.

    ``state`` is a physical state as in ``info["state"]`` (``t``, ``I_s``, ``I_j``,
    ``I_p``, ``C``). ``single_source=True`` builds the linear restriction in which every
    blender takes from at most one source over the window (binaries ``w_sj``), so its
    property is that source's and the quality rule becomes "ship to p only from blenders
    whose source meets p's spec": a MILP whose optimum is a feasible plan of the full
    problem (a lower bound). It needs empty blenders at the start.
    """
    c, dyn = config, BlendingDynamics(config)
    # Availability and demand limits [T, S], [T, P]: the config's, a forecast or a scenario.
    tau0 = dyn.tau0 if tau0 is None else np.asarray(tau0, dtype=float)
    delta0 = dyn.delta0 if delta0 is None else np.asarray(delta0, dtype=float)
    if state is None:
        state = {k: v[0] for k, v in dyn.initial_state(np.random.default_rng(0), 1).items()}
    start = int(state["t"])
    end = c.T if horizon is None else min(c.T, start + int(horizon))
    if not 0 <= start < end:
        raise ValueError(f"no period to plan: start {start}, end {end}, T {c.T}")
    S, J, P = c.sources, c.blenders, c.products
    A_sj, A_jp = range(len(dyn.source_arcs)), range(len(dyn.product_arcs))
    I_s0, I_j0, I_p0 = (np.asarray(state[k], dtype=float) for k in ("I_s", "I_j", "I_p"))
    C0 = np.asarray(state["C"], dtype=float)
    b_low, b_high = dyn.bounds["j"]
    arc_cap_sj = [min(dyn.flow_max, b_high[J.index(j)]) for _, j in dyn.source_arcs]
    arc_cap_jp = [min(dyn.flow_max, b_high[J.index(j)]) for j, _ in dyn.product_arcs]
    m = pyo.ConcreteModel(name="blending")
    m.T = pyo.RangeSet(start, end - 1)
    m.tau = pyo.Var(range(len(S)), m.T, bounds=lambda _, s, t: (0.0, tau0[t, s]))
    m.delta = pyo.Var(range(len(P)), m.T, bounds=lambda _, p, t: (0.0, delta0[t, p]))
    m.F_sj = pyo.Var(A_sj, m.T, bounds=lambda _, a, t: (0.0, arc_cap_sj[a]))
    m.F_jp = pyo.Var(A_jp, m.T, bounds=lambda _, a, t: (0.0, arc_cap_jp[a]))
    m.I_s = pyo.Var(range(len(S)), m.T, bounds=lambda _, i, t: tuple(b[i] for b in dyn.bounds["s"]))
    m.I_j = pyo.Var(range(len(J)), m.T, bounds=lambda _, i, t: (b_low[i], b_high[i]))
    m.I_p = pyo.Var(range(len(P)), m.T, bounds=lambda _, i, t: tuple(b[i] for b in dyn.bounds["p"]))
    m.x = pyo.Var(range(len(J)), m.T, within=pyo.Binary)
    m.y = pyo.Var(A_jp, m.T, within=pyo.Binary)

    def before(var: Any, initial: np.ndarray, *index: int) -> Any:
        *key, t = index
        return var[(*key, t - 1)] if t > start else float(initial[tuple(key)])

    def into_j(j: int, t: int) -> Any:
        return sum(m.F_sj[a, t] for a in A_sj if dyn.sj_to[a, j])

    def out_of_j(j: int, t: int) -> Any:
        return sum(m.F_jp[a, t] for a in A_jp if dyn.jp_from[a, j])

    m.source_balance = pyo.Constraint(
        range(len(S)),
        m.T,
        rule=lambda _, i, t: (
            m.I_s[i, t]
            == before(m.I_s, I_s0, i, t)
            + m.tau[i, t]
            - sum(m.F_sj[a, t] for a in A_sj if dyn.sj_from[a, i])
        ),
    )
    m.blender_balance = pyo.Constraint(
        range(len(J)),
        m.T,
        rule=lambda _, j, t: (
            m.I_j[j, t] == before(m.I_j, I_j0, j, t) + into_j(j, t) - out_of_j(j, t)
        ),
    )
    m.product_balance = pyo.Constraint(
        range(len(P)),
        m.T,
        rule=lambda _, p, t: (
            m.I_p[p, t]
            == before(m.I_p, I_p0, p, t)
            + sum(m.F_jp[a, t] for a in A_jp if dyn.jp_to[a, p])
            - m.delta[p, t]
        ),
    )
    m.receive = pyo.Constraint(
        range(len(J)), m.T, rule=lambda _, j, t: into_j(j, t) <= b_high[j] * m.x[j, t]
    )
    m.ship = pyo.Constraint(
        range(len(J)), m.T, rule=lambda _, j, t: out_of_j(j, t) <= b_high[j] * (1 - m.x[j, t])
    )
    m.arc_used = pyo.Constraint(
        A_jp, m.T, rule=lambda _, a, t: m.F_jp[a, t] <= arc_cap_jp[a] * m.y[a, t]
    )
    if single_source:
        _single_source_quality(m, dyn, I_j0, arc_cap_sj, arc_cap_jp)
    else:
        _pooling_quality(m, dyn, C0, I_j0, start)

    flows = sum(m.F_sj[a, t] for a in A_sj for t in m.T) + sum(
        m.F_jp[a, t] for a in A_jp for t in m.T
    )
    arcs_used = sum(m.y[a, t] for a in A_jp for t in m.T)
    if c.alpha > 0:
        m.z = pyo.Var(A_sj, m.T, within=pyo.Binary)
        m.sj_used = pyo.Constraint(
            A_sj, m.T, rule=lambda _, a, t: m.F_sj[a, t] <= arc_cap_sj[a] * m.z[a, t]
        )
        arcs_used = arcs_used + sum(m.z[a, t] for a in A_sj for t in m.T)
    m.cost = pyo.Objective(
        expr=-sum(dyn.sale_price[p] * m.delta[p, t] for p in range(len(P)) for t in m.T)
        + sum(dyn.buy_price[i] * m.tau[i, t] for i in range(len(S)) for t in m.T)
        + c.alpha * arcs_used
        + c.beta * flows,
        sense=pyo.minimize,
    )
    return m


def _pooling_quality(
    m: pyo.ConcreteModel, dyn: BlendingDynamics, C0: np.ndarray, I_j0: np.ndarray, start: int
) -> None:
    """Bilinear property balances and the quality rule on the blenders' properties."""
    S, A_sj, A_jp = dyn.config.sources, range(len(dyn.source_arcs)), range(len(dyn.product_arcs))
    J, Q = range(len(dyn.config.blenders)), range(len(dyn.config.properties))
    m.C = pyo.Var(J, Q, m.T, bounds=lambda _, j, q, t: (0.0, dyn.property_scale[q]))

    def before(var: Any, initial: np.ndarray, *index: int) -> Any:
        *key, t = index
        return var[(*key, t - 1)] if t > start else float(initial[tuple(key)])

    def out_of_j(j: int, t: int) -> Any:
        return sum(m.F_jp[a, t] for a in A_jp if dyn.jp_from[a, j])

    def property_balance(_: Any, j: int, q: int, t: int) -> Any:
        previous = before(m.C, C0, j, q, t)
        carried = sum(
            m.F_sj[a, t] * dyn.sigma[S.index(dyn.source_arcs[a][0]), q]
            for a in A_sj
            if dyn.sj_to[a, j]
        )
        kept = before(m.I_j, I_j0, j, t) - out_of_j(j, t)
        return m.C[j, q, t] * m.I_j[j, t] == previous * kept + carried

    m.property_balance = pyo.Constraint(J, Q, m.T, rule=property_balance)

    def quality_high(_: Any, a: int, q: int, t: int) -> Any:
        j = int(dyn.jp_blender[a])
        slack = max(dyn.property_scale[q] - dyn.arc_ub[a, q], 0.0)
        return before(m.C, C0, j, q, t) <= dyn.arc_ub[a, q] + slack * (1 - m.y[a, t])

    def quality_low(_: Any, a: int, q: int, t: int) -> Any:
        return before(m.C, C0, int(dyn.jp_blender[a]), q, t) >= dyn.arc_lb[a, q] * m.y[a, t]

    m.quality_high = pyo.Constraint(A_jp, Q, m.T, rule=quality_high)
    m.quality_low = pyo.Constraint(A_jp, Q, m.T, rule=quality_low)


def _single_source_quality(
    m: pyo.ConcreteModel,
    dyn: BlendingDynamics,
    I_j0: np.ndarray,
    arc_cap_sj: list[float],
    arc_cap_jp: list[float],
) -> None:
    """The linear restriction: one source per blender, shipments only where it meets the spec."""
    if np.any(I_j0 > dyn.config.eps):
        raise ValueError("single_source needs empty blenders at the start")
    S, J = range(len(dyn.config.sources)), range(len(dyn.config.blenders))
    A_sj, A_jp = range(len(dyn.source_arcs)), range(len(dyn.product_arcs))
    m.w = pyo.Var(S, J, within=pyo.Binary)
    m.one_source = pyo.Constraint(J, rule=lambda _, j: sum(m.w[s, j] for s in S) <= 1)
    src = [int(np.argmax(dyn.sj_from[a])) for a in A_sj]
    dst = [int(np.argmax(dyn.sj_to[a])) for a in A_sj]
    m.from_its_source = pyo.Constraint(
        A_sj, m.T, rule=lambda _, a, t: m.F_sj[a, t] <= arc_cap_sj[a] * m.w[src[a], dst[a]]
    )
    # meets[s, a]: source s's properties are within the spec of product arc a.
    meets = np.all(
        (dyn.sigma[:, None, :] >= dyn.arc_lb[None]) & (dyn.sigma[:, None, :] <= dyn.arc_ub[None]),
        axis=2,
    )

    def within_spec(_: Any, a: int, t: int) -> Any:
        j = int(dyn.jp_blender[a])
        return m.F_jp[a, t] <= arc_cap_jp[a] * sum(m.w[s, j] for s in S if meets[s, a])

    m.within_spec = pyo.Constraint(A_jp, m.T, rule=within_spec)


def _fraction(amount: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """``amount / limit`` in [0, 1], 0 where the limit is 0."""
    safe = np.where(limit > 0, limit, 1.0)
    return np.clip(np.where(limit > 0, amount / safe, 0.0), 0.0, 1.0)


def solve(
    config: Any = None,
    *,
    state: dict[str, Any] | None = None,
    horizon: int | None = None,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float = DEFAULT_GAP,
    single_source: bool = False,
    tau0: np.ndarray | None = None,
    delta0: np.ndarray | None = None,
    **overrides: Any,
) -> Solution:
    """Globally optimal blending plan (objective = episode reward from ``state``).

    Args:
        config: path, dict or :class:`BlendingConfig` (``None``: the Table-1 case study).
        state: start from this physical state (``None``: empty tanks at t = 0).
        horizon: periods to plan (``None``: to the end).
        solver: ``"scip"`` (default) or another nonconvex MINLP Pyomo solver.
        time_limit: seconds.
        mip_gap: relative gap at which the solver stops.
        single_source: solve the linear one-source-per-blender restriction instead (MILP,
            HiGHS by default): a feasible plan and a lower bound. When the full model stops
            before optimality (``time_limit``) from empty blenders, the restriction is solved
            too (without a time limit) and the better plan returned, with the full model's
            bound.
        tau0, delta0: availability ``[T, S]`` and demand limits ``[T, P]`` to plan on
            (default: the config's), e.g. a forecast or an episode's scenario.
        overrides: config fields, e.g. ``instance="large"``.
    """
    cfg = load_config(BlendingConfig, config, overrides)
    fallback = not single_source and _blenders_empty(cfg, state)
    try:
        solution = _solve_model(
            cfg, state, horizon, solver, time_limit, mip_gap, single_source, tau0, delta0
        )
    except RuntimeError:  # stopped without any feasible plan
        if not fallback:
            raise
        solution = None
    if not fallback or (solution is not None and solution.status == "optimal"):
        return solution
    # The full model stopped early (e.g. the large instance): the linear restriction, solved
    # without a time limit, often has a better plan; keep it with the full model's bound.
    restricted = _solve_model(cfg, state, horizon, None, None, mip_gap, True, tau0, delta0)
    if solution is not None and restricted.objective <= solution.objective:
        return solution
    bound = None if solution is None else solution.bound
    proven = bound is not None and restricted.objective >= bound - 1e-6
    status = "optimal" if proven else "time_limit"
    restricted.details.update(
        model="full space bound, single-source incumbent",
        gap=None
        if bound is None
        else (bound - restricted.objective) / max(1.0, restricted.objective),
    )
    return Solution(
        objective=restricted.objective,
        status=status,
        solve_time=(0.0 if solution is None else solution.solve_time) + restricted.solve_time,
        bound=bound,
        plan=restricted.plan,
        details=restricted.details,
    )


def _blenders_empty(config: BlendingConfig, state: dict[str, Any] | None) -> bool:
    return state is None or not np.any(np.asarray(state["I_j"]) > config.eps)


def _solve_model(
    cfg: BlendingConfig,
    state: dict[str, Any] | None,
    horizon: int | None,
    solver: str | None,
    time_limit: float | None,
    mip_gap: float,
    single_source: bool,
    tau0: np.ndarray | None = None,
    delta0: np.ndarray | None = None,
) -> Solution:
    """One solve of the full model or of the single-source restriction."""
    dyn = BlendingDynamics(cfg)
    tau0 = dyn.tau0 if tau0 is None else np.asarray(tau0, dtype=float)
    delta0 = dyn.delta0 if delta0 is None else np.asarray(delta0, dtype=float)
    model = build_model(cfg, state, horizon, single_source, tau0, delta0)
    default = "highs" if single_source else DEFAULT_SOLVER
    result = run(model, model.cost, solver, default, time_limit, mip_gap)
    periods = list(model.T)
    f_sj = var_array(model.F_sj, range(len(dyn.source_arcs)), periods).T
    f_jp = var_array(model.F_jp, range(len(dyn.product_arcs)), periods).T
    # Flows the environment reads as none are none (the in-out rule tests > eps).
    f_sj, f_jp = (np.where(f > 0.1 * cfg.eps, f, 0.0) for f in (f_sj, f_jp))
    tau = var_array(model.tau, range(len(cfg.sources)), periods).T
    delta = var_array(model.delta, range(len(cfg.products)), periods).T
    return Solution(
        objective=result.objective,
        status=result.status,
        solve_time=result.solve_time,
        bound=result.bound,
        plan=plan_from_arrays(
            len(periods),
            flow_sj=f_sj,
            flow_jp=f_jp,
            buy=_fraction(tau, tau0[periods]),
            sell=_fraction(delta, delta0[periods]),
        ),
        details={
            "solver": result.solver,
            "gap": result.gap,
            "start": periods[0],
            "model": "single-source restriction" if single_source else "full space",
        },
    )


def plan(
    config: BlendingConfig,
    state: dict[str, Any] | None,
    series: Mapping[str, np.ndarray],
    window: int | None,
    time_limit: float | None = None,
) -> Solution:
    """The planner of :func:`stagewise.core.uncertainty.forecast_policies`: the model from
    ``state`` over ``window`` periods on ``series["tau0"]`` and ``series["delta0"]``.

    On drawn series SCIP may take minutes to close the nonconvex gap: with ``time_limit``
    the solve stops there with its incumbent (without one it goes on to the end; from the
    initial state :func:`solve` also tries the single-source restriction).
    """
    series_args = {"tau0": series["tau0"], "delta0": series["delta0"]}
    try:
        return solve(config, state=state, horizon=window, time_limit=time_limit, **series_args)
    except RuntimeError:  # no incumbent within the limit
        return solve(config, state=state, horizon=window, **series_args)


_, clairvoyant_policy = forecast_policies(partial(plan, time_limit=BOUND_TIME_LIMIT))


def mpc_policy(
    env: gym.Env, window: int | None = None, time_limit: float | None = MPC_TIME_LIMIT
) -> MPCPolicy:
    """Rolling horizon on the forecast mean over ``window`` periods (``None``: to the end),
    each solve stopped at ``time_limit`` seconds with its incumbent (``None``: optimal)."""
    return forecast_mpc(partial(plan, time_limit=time_limit), env, window)


def optimal_policy(env: gym.Env) -> PlanPolicy | ClairvoyantPolicy:
    """Solve the environment's configuration and replay the optimal plan (with
    ``uncertainty="forecast"``: the plan on the episode's realised series)."""
    if env.unwrapped.config.stochastic:
        return clairvoyant_policy(env)
    return PlanPolicy(solve(env.unwrapped.config).plan)

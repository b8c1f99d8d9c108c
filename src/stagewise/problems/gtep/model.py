"""Full-space GTEP model (MILP; HiGHS by default) of the environment's problem.

Sets ``I`` (generator types), ``R`` (regions), ``L`` (lines), ``T`` = 1..T.
Variables: ``n_irt`` (units installed by period t, integer), ``built_lt``
(line built by period t, binary), ``P_lt`` (flow, MW). The additions of the
plan are ``n_irt - n_ir,t-1``. Minimize the installation cost, which is that
of the final build-out because every unit and line is paid once:

    sum_{i,r} C^inst,gen_i n_irT + sum_l C^inst,tl_l built_lT

subject to

- generator bound: ``0 <= n_ir,t-1 <= n_irt <= M_ir``;
- lines stay: ``built_l,t-1 <= built_lt``;
- flow only on built lines: ``|P_lt| <= Cap^tl_l built_lt``;
- demand: ``sum_i n_irt Cap^gen_i + sum_{l into r} P_lt - sum_{l out of r} P_lt >= Dem_rt``.
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
from stagewise.problems.gtep.config import GTEPConfig

DEFAULT_SOLVER = "highs"
DEFAULT_GAP = 1e-9
# Price per MW of unmet demand in a plan on drawn demand that no build-out covers (only then).
SHORTFALL_PRICE = 1e4


def build_model(
    config: GTEPConfig,
    state: dict[str, Any] | None = None,
    demand: np.ndarray | None = None,
    horizon: int | None = None,
    shortfall: bool = False,
) -> pyo.ConcreteModel:
    """The Pyomo model of ``config`` from ``state`` over ``horizon`` periods.

    ``shortfall=True`` lets demand go unmet at ``SHORTFALL_PRICE`` per MW, for a drawn
    demand no build-out covers.

    Args:
        config: the problem.
        state: a physical state as in ``info["state"]`` (``t``, ``n`` ``[I, R]``, ``built``
            ``[L]``); ``None``: nothing installed at period 0.
        demand: ``[T, R]`` demand (MW) of periods ``1..T`` (``None``: the config's);
            rows before the state's period are unused.
        horizon: periods to plan (``None``: to the end). The objective is the cost of
            what the plan adds to the state's build-out.
    """
    c = config
    m = pyo.ConcreteModel(name="gtep")
    m.I = pyo.Set(initialize=c.types, ordered=True)
    m.R = pyo.Set(initialize=c.regions, ordered=True)
    m.L = pyo.Set(initialize=c.lines, ordered=True)
    start = 0 if state is None else int(state["t"])
    end = c.T if horizon is None else min(c.T, start + int(horizon))
    if not 0 <= start < end:
        raise ValueError(f"no period to plan: start {start}, end {end}, T {c.T}")
    m.T = pyo.RangeSet(start + 1, end)
    installed = (
        np.zeros((len(c.types), len(c.regions)))
        if state is None
        else np.asarray(state["n"], dtype=float)
    )
    built0 = np.zeros(len(c.lines)) if state is None else np.asarray(state["built"], float)
    region_index = {r: k for k, r in enumerate(c.regions)}
    dem = (
        np.array([[c.demand[r][str(t)] for r in c.regions] for t in range(1, c.T + 1)])
        if demand is None
        else np.asarray(demand, dtype=float)
    )
    m.n = pyo.Var(
        m.I,
        m.R,
        m.T,
        within=pyo.NonNegativeIntegers,
        bounds=lambda _, i, r, t: (
            installed[c.types.index(i), region_index[r]],
            c.maxgen[i][r],
        ),
    )
    m.built = pyo.Var(
        m.L,
        m.T,
        within=pyo.Binary,
        bounds=lambda _, line, t: (built0[c.lines.index(line)], 1),
    )
    m.P = pyo.Var(m.L, m.T, bounds=lambda _, line, t: (-c.tlcap[line], c.tlcap[line]))
    later = [t for t in m.T if t > start + 1]
    # Units and lines are never removed: cumulative counts only grow.
    m.units_grow = pyo.Constraint(
        m.I, m.R, later, rule=lambda _, i, r, t: m.n[i, r, t - 1] <= m.n[i, r, t]
    )
    m.lines_stay = pyo.Constraint(
        m.L, later, rule=lambda _, line, t: m.built[line, t - 1] <= m.built[line, t]
    )
    m.flow_up = pyo.Constraint(
        m.L, m.T, rule=lambda _, line, t: m.P[line, t] <= c.tlcap[line] * m.built[line, t]
    )
    m.flow_down = pyo.Constraint(
        m.L, m.T, rule=lambda _, line, t: -m.P[line, t] <= c.tlcap[line] * m.built[line, t]
    )

    def demand(_: Any, r: str, t: int) -> Any:
        capacity = sum(m.n[i, r, t] * c.gencap[i] for i in m.I)
        inflow = sum(m.P[line, t] for line in m.L if line.split("_")[1] == r)
        outflow = sum(m.P[line, t] for line in m.L if line.split("_")[0] == r)
        return capacity + inflow - outflow + m.unmet[r, t] >= float(dem[t - 1, region_index[r]])

    m.unmet = pyo.Var(m.R, m.T, bounds=(0.0, None if shortfall else 0.0))

    m.demand = pyo.Constraint(m.R, m.T, rule=demand)
    # Every unit and line is paid once, so the total cost is that of the final build-out,
    # less what the state has already paid for.
    paid = sum(
        c.installcost.generators[i] * installed[a, b]
        for a, i in enumerate(c.types)
        for b, _ in enumerate(c.regions)
    ) + sum(c.installcost.transmission[line] * built0[k] for k, line in enumerate(c.lines))
    m.cost = pyo.Objective(
        expr=sum(c.installcost.generators[i] * m.n[i, r, end] for i in m.I for r in m.R)
        + sum(c.installcost.transmission[line] * m.built[line, end] for line in m.L)
        + SHORTFALL_PRICE * sum(m.unmet[r, t] for r in m.R for t in m.T)
        - float(paid),
        sense=pyo.minimize,
    )
    m.installed0 = installed
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
    """Optimal expansion plan (objective = episode reward, i.e. minus the installation cost).

    Args:
        config: path, dict or :class:`GTEPConfig` (``None``: the shipped case study with lines).
        solver: ``"highs"`` (default), ``"scip"``, ``"gurobi"`` or another MILP Pyomo solver.
        time_limit: seconds.
        mip_gap: relative optimality gap at which the solver stops.
        overrides: config fields, e.g. ``transmission=False``.
        state, demand, horizon: plan from this physical state over ``horizon`` periods on
            this ``[T, R]`` demand (see :func:`build_model`; ``None``: the case study).
    """
    cfg = load_config(GTEPConfig, config, overrides)
    model = build_model(cfg, state, demand, horizon)
    try:
        result = run(model, model.cost, solver, DEFAULT_SOLVER, time_limit, mip_gap)
    except RuntimeError:
        if demand is None:  # the case study is always feasible: a real error
            raise
        # A drawn demand above what can be built: the least unmet demand, priced.
        model = build_model(cfg, state, demand, horizon, shortfall=True)
        result = run(model, model.cost, solver, DEFAULT_SOLVER, time_limit, mip_gap)
    units = np.stack(
        [var_array(model.n, model.I, model.R, [t], integral=True)[..., 0] for t in model.T]
    )
    arrays = {"add": np.diff(units, axis=0, prepend=model.installed0[None])}
    if cfg.lines:
        flow = var_array(model.P, model.L, model.T).T
        # A flow the environment would read as "no flow" is no flow.
        arrays["flow"] = np.where(np.abs(flow) <= cfg.flow_epsilon, 0.0, flow)
    return Solution(
        objective=result.objective,
        status=result.status,
        solve_time=result.solve_time,
        bound=result.bound,
        plan=plan_from_arrays(len(model.T), **arrays),
        details={"solver": result.solver, "gap": result.gap, "lines": cfg.lines},
    )


def plan(
    config: GTEPConfig,
    state: dict[str, Any] | None,
    series: Mapping[str, np.ndarray],
    window: int | None,
) -> Solution:
    """The planner of :func:`stagewise.core.uncertainty.forecast_policies`: the model from
    ``state`` over ``window`` periods on ``series["load"]`` (``[T, R]`` MW)."""
    return solve(config, state=state, demand=series["load"], horizon=window)


mpc_policy, clairvoyant_policy = forecast_policies(plan)


def optimal_policy(env: Any) -> PlanPolicy | ClairvoyantPolicy:
    """Solve the environment's configuration and replay the optimal plan (with
    ``uncertainty="forecast"``: the plan on the episode's realised demand)."""
    if env.unwrapped.config.stochastic:
        return clairvoyant_policy(env)
    return PlanPolicy(solve(env.unwrapped.config).plan)

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
from stagewise.core.mpc import WindowModel
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


class WindowPlanner:
    """The expansion MILP over ``window`` periods compiled once
    (:class:`~stagewise.core.mpc.WindowModel`): each step fixes the state's build-out
    (``n^0_ir``, ``built^0_l``) and the forecast ``Dem_rk`` as parameters and re-solves.

    Every unit and line is paid once, whenever it is built, and capacity only grows, so the
    model of :func:`build_model` has the value of one build-out ``N_ir``, ``B_l`` (from
    ``n^0 <= N``, ``built^0 <= B``) that covers every planned period ``k = 1 .. R - 1``
    with its own flows ``P_lk``: the same optimum with ``I R + L`` integers instead of
    ``(I R + L) R``. The current period ``k = 0`` is covered by the part of it built now,
    ``n^0 <= n_ir <= N_ir``, ``built^0 <= b_l <= B_l``: a second solve with ``N``, ``B``
    fixed at the optimum finds its cheapest part that covers ``k = 0``, so of the equally
    cheap plans the one that builds least now is applied (the rest waits for the next
    forecast). A forecast that no build-out covers is
    re-planned with unmet demand priced at ``SHORTFALL_PRICE``, as :func:`solve` does.
    """

    def __init__(self, config: GTEPConfig, window: int | None = None):
        c = self.config = config
        length = c.T if window is None else min(c.T, int(window))
        self.window = length
        m = pyo.ConcreteModel(name="gtep_window")
        m.I = pyo.Set(initialize=c.types, ordered=True)
        m.R = pyo.Set(initialize=c.regions, ordered=True)
        m.L = pyo.Set(initialize=c.lines, ordered=True)
        m.K = pyo.RangeSet(0, length - 1)
        m.n0 = pyo.Var(m.I, m.R)
        m.built0 = pyo.Var(m.L)
        m.dem = pyo.Var(m.R, m.K)
        gen_bounds = {"bounds": lambda _, i, r: (0, c.maxgen[i][r])}
        m.N = pyo.Var(m.I, m.R, within=pyo.NonNegativeIntegers, **gen_bounds)
        m.n = pyo.Var(m.I, m.R, within=pyo.NonNegativeIntegers, **gen_bounds)
        m.B = pyo.Var(m.L, within=pyo.Binary)
        m.b = pyo.Var(m.L, within=pyo.Binary)
        m.P = pyo.Var(m.L, m.K, bounds=lambda _, line, k: (-c.tlcap[line], c.tlcap[line]))
        m.unmet = pyo.Var(m.R, m.K, within=pyo.NonNegativeReals)
        m.now_from_state = pyo.Constraint(m.I, m.R, rule=lambda _, i, r: m.n0[i, r] <= m.n[i, r])
        m.now_in_plan = pyo.Constraint(m.I, m.R, rule=lambda _, i, r: m.n[i, r] <= m.N[i, r])
        m.lines_from_state = pyo.Constraint(m.L, rule=lambda _, line: m.built0[line] <= m.b[line])
        m.lines_in_plan = pyo.Constraint(m.L, rule=lambda _, line: m.b[line] <= m.B[line])

        def units(i: str, r: str, k: int) -> Any:
            return m.n[i, r] if k == 0 else m.N[i, r]

        def line_built(line: str, k: int) -> Any:
            return m.b[line] if k == 0 else m.B[line]

        m.flow_up = pyo.Constraint(
            m.L, m.K, rule=lambda _, line, k: m.P[line, k] <= c.tlcap[line] * line_built(line, k)
        )
        m.flow_down = pyo.Constraint(
            m.L, m.K, rule=lambda _, line, k: -m.P[line, k] <= c.tlcap[line] * line_built(line, k)
        )

        def demand(_: Any, r: str, k: int) -> Any:
            capacity = sum(units(i, r, k) * c.gencap[i] for i in m.I)
            inflow = sum(m.P[line, k] for line in m.L if line.split("_")[1] == r)
            outflow = sum(m.P[line, k] for line in m.L if line.split("_")[0] == r)
            return capacity + inflow - outflow + m.unmet[r, k] - m.dem[r, k] >= 0

        m.demand = pyo.Constraint(m.R, m.K, rule=demand)
        gen = c.installcost.generators
        line_cost = c.installcost.transmission
        m.cost = pyo.Objective(
            expr=sum(gen[i] * m.N[i, r] for i in m.I for r in m.R)
            + sum(line_cost[line] * m.B[line] for line in m.L)
            + SHORTFALL_PRICE * sum(m.unmet[r, k] for r in m.R for k in m.K),
            sense=pyo.minimize,
        )
        self.model = WindowModel(m, m.K, [m.n0, m.built0, m.dem], mip_gap=DEFAULT_GAP)
        wm = self.model
        self._n0, self._built0 = wm.cols(m.n0, m.I, m.R), wm.cols(m.built0, m.L)
        self._dem = wm.cols(m.dem, m.R, m.K).T  # [K, R]
        self._N, self._n = wm.cols(m.N, m.I, m.R), wm.cols(m.n, m.I, m.R)
        self._B, self._b = wm.cols(m.B, m.L), wm.cols(m.b, m.L)
        self._P, self._unmet = wm.cols(m.P, m.L, m.K).T, wm.cols(m.unmet, m.R, m.K).T
        self._gen_cost = np.array([gen[i] for i in c.types])
        self._line_cost = np.array([line_cost[line] for line in c.lines])
        self._is_now = np.zeros(len(wm.columns), dtype=bool)
        for cols in (self._n, self._b, self._P[0], self._unmet[0]):
            self._is_now[cols[cols >= 0]] = True
        self._solve_time = 0.0

    def __call__(self, state: dict[str, Any], series: Mapping[str, np.ndarray]) -> Solution:
        c, wm = self.config, self.model
        start = int(state["t"])
        planned = min(self.window, c.T - start)
        if planned < 1:
            raise ValueError(f"no period to plan: start {start}, T {c.T}")
        installed = np.asarray(state["n"], dtype=float)
        built0 = np.asarray(state["built"], dtype=float)
        dem = np.zeros((self.window, len(c.regions)))
        dem[:planned] = np.asarray(series["load"], dtype=float)[start : start + planned]
        wm.set_params(self._n0, installed)
        wm.set_params(self._built0, built0)
        wm.set_params(self._dem, dem)
        wm.set_periods(planned)
        status, x = self._build_out()
        build_out = np.round(x[self._N]) - installed
        cost = float(self._gen_cost @ build_out.sum(axis=1))
        cost += float(self._line_cost @ (np.round(x[self._B]) - built0))
        cost += SHORTFALL_PRICE * float(x[self._unmet[:planned]].sum())
        arrays = {"add": (np.round(x[self._n]) - installed)[None]}
        if c.lines:
            flow = x[self._P[0]]
            arrays["flow"] = np.where(np.abs(flow) <= c.flow_epsilon, 0.0, flow)[None]
        return Solution(
            objective=-cost,
            status=status,
            solve_time=self._solve_time,
            plan=plan_from_arrays(1, **arrays),
            details={"solver": "highspy", "lines": c.lines},
        )

    def _build_out(self) -> tuple[str, np.ndarray]:
        """The cheapest build-out ``N``, ``B`` (priced shortfall only where none covers the
        forecast), then the least of it that covers the current period."""
        wm = self.model
        self._costs(now=False)
        wm.restore_bounds(self._N)
        wm.restore_bounds(self._B)
        wm.set_bounds(self._unmet, 0.0, 0.0)
        status, x, _ = wm.solve()
        self._solve_time = wm.solve_time
        if status not in ("optimal", "time_limit"):  # no build-out covers the forecast
            wm.set_bounds(self._unmet, 0.0, np.inf)
            status, x, _ = wm.solve()
            self._solve_time += wm.solve_time
            if status not in ("optimal", "time_limit"):
                raise RuntimeError(f"HiGHS found no build-out: {status}")
        for cols in (self._N, self._B):
            wm.set_bounds(cols, np.round(x[cols]), np.round(x[cols]))
        self._costs(now=True)
        now_status, now, _ = wm.solve()
        self._solve_time += wm.solve_time
        if now_status not in ("optimal", "time_limit"):
            raise RuntimeError(f"HiGHS found no first period in the build-out: {now_status}")
        return status, np.where(self._is_now, now, x)

    def _costs(self, now: bool) -> None:
        """Installation costs on the build-out (``now=False``) or on the current period's
        part of it (``now=True``); the other pair priced 0."""
        wm = self.model
        gen = np.broadcast_to(self._gen_cost[:, None], self._N.shape)
        for cols, price, active in (
            (self._N, gen, not now),
            (self._B, self._line_cost, not now),
            (self._n, gen, now),
            (self._b, self._line_cost, now),
        ):
            wm.set_costs(cols, price if active else np.zeros(cols.shape))


mpc_policy, clairvoyant_policy = forecast_policies(plan, WindowPlanner)


def optimal_policy(env: Any) -> PlanPolicy | ClairvoyantPolicy:
    """Solve the environment's configuration and replay the optimal plan (with
    ``uncertainty="forecast"``: the plan on the episode's realised demand)."""
    if env.unwrapped.config.stochastic:
        return clairvoyant_policy(env)
    return PlanPolicy(solve(env.unwrapped.config).plan)

"""Full-space MILP of a production network (:mod:`stagewise.core.production_scheduling.network`).

Built from any environment state over any window of periods ``t0 .. t0 + H - 1``
(0-based) and any demand series, so that the same model gives the full-horizon optimum, the
rolling-horizon ``mpc`` policy and the value of the remaining periods. With
``delta``/``hold`` the delays and pairs ``j`` active only:

    max sum_t [ sum_p price_p (s_pt - f (d_pt - s_pt)) - sum_j c_jt b_jt - sum_r o_r q_rt ]

subject to, with ``X_{t0-1}`` and ``E_{t0-1}`` the state's stock and free equipment:

- batch: ``V^min_j y_jt <= b_jt <= V^max_j y_jt``, ``y`` binary (A.1.4, A.2.4);
- start: ``X_m,t-1 - sum_j nu^-_jm b_jt >= X^min_m`` for intermediates and products;
- orders: ``q_rt >= X^min_r - (X_r,t-1 - sum_j nu^-_jr b_jt)``, ``q >= 0``;
- sales: ``s_pt <= d_pt``, ``s_pt <= X_p,t-1 - sum_j nu^-_jp b_jt - X^min_p``;
- stock: ``X_mt = X_m,t-1 - nu^- b + q - s + sum_j sum_delta nu^+_{jm delta} b_j,t-delta+1
  + pending_m,t`` and ``X_mt <= X^max_m``;
- equipment: ``E_k,t-1 - sum_j u_jk y_jt >= 0`` and
  ``E_kt = E_k,t-1 - sum_j u_jk y_jt + sum_j u_jk y_j,t-hold_j+1 + returning_k,t``.

The sign of every balance term is physical (consumption takes, deliveries
give, sales take): the published model's mirrored balance is not reproduced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyomo.environ as pyo

from stagewise.core import mpc as core_mpc
from stagewise.core.config import load_config
from stagewise.core.env import State
from stagewise.core.mpc import WindowModel
from stagewise.core.production_scheduling.network import Network
from stagewise.core.pyomo_tools import plan_from_arrays, run
from stagewise.core.solve import PlanPolicy, Solution
from stagewise.core.uncertainty import ClairvoyantPolicy, forecast_policies

DEFAULT_SOLVER = "highs"
DEFAULT_GAP = 1e-9


def initial_state(network: Network) -> State:
    """The physical state at the start of an episode (a single environment, no batch axis)."""
    d = network.max_delay - 1
    return {
        "t": 0,
        "X": network.x0.copy(),
        "E": network.e0.copy(),
        "pending": np.zeros((d, len(network.materials))),
        "returning": np.zeros((d, len(network.equipment))),
    }


def build_model(
    network: Network,
    state: State | None = None,
    horizon: int | None = None,
    demand: np.ndarray | None = None,
) -> pyo.ConcreteModel:
    """The MILP from ``state`` (default: the initial state) over ``horizon`` periods
    (default: to the end of the episode) against ``demand`` ``[T, P]`` (default: the
    network's; e.g. a forecast)."""
    nw = network
    demand = nw.demand if demand is None else np.asarray(demand, dtype=np.float64)
    if demand.shape != nw.demand.shape or not np.all(np.isfinite(demand)) or demand.min() < 0:
        raise ValueError(f"demand must be finite, >= 0 and shaped {nw.demand.shape}")
    st = initial_state(nw) if state is None else state
    t0 = int(st["t"])
    end = nw.horizon if horizon is None else min(nw.horizon, t0 + int(horizon))
    if not 0 <= t0 < end:
        raise ValueError(f"no period to plan: state at t = {t0}, horizon ends at {end}")
    x_prev0 = np.asarray(st["X"], dtype=np.float64)
    e_prev0 = np.asarray(st["E"], dtype=np.float64)
    pending = np.asarray(st["pending"], dtype=np.float64)
    returning = np.asarray(st["returning"], dtype=np.float64)
    m = pyo.ConcreteModel(name="production_scheduling")
    m.J = pyo.Set(initialize=[int(j) for j in np.flatnonzero(nw.active)], ordered=True)
    m.M = pyo.RangeSet(0, len(nw.materials) - 1)
    m.K = pyo.RangeSet(0, len(nw.equipment) - 1) if len(nw.equipment) else pyo.Set(initialize=[])
    m.P = pyo.RangeSet(0, len(nw.products) - 1)
    m.R = pyo.Set(initialize=[int(i) for i in np.flatnonzero(nw.reactant)], ordered=True)
    m.T = pyo.RangeSet(t0, end - 1)
    m.b = pyo.Var(m.J, m.T, bounds=lambda _, j, t: (0.0, nw.v_max[j]))
    m.y = pyo.Var(m.J, m.T, within=pyo.Binary)
    m.s = pyo.Var(m.P, m.T, bounds=lambda _, p, t: (0.0, demand[t, p]))
    m.q = pyo.Var(m.R, m.T, within=pyo.NonNegativeReals)
    m.X = pyo.Var(m.M, m.T, bounds=lambda _, i, t: (None, nw.x_max[i]))
    m.E = pyo.Var(m.K, m.T, within=pyo.NonNegativeReals)
    m.batch_low = pyo.Constraint(
        m.J, m.T, rule=lambda _, j, t: nw.v_min[j] * m.y[j, t] <= m.b[j, t]
    )
    m.batch_high = pyo.Constraint(
        m.J, m.T, rule=lambda _, j, t: m.b[j, t] <= nw.v_max[j] * m.y[j, t]
    )

    def x_prev(i: int, t: int) -> Any:
        return m.X[i, t - 1] if t > t0 else float(x_prev0[i])

    def e_prev(k: int, t: int) -> Any:
        return m.E[k, t - 1] if t > t0 else float(e_prev0[k])

    def after_start(i: int, t: int) -> Any:
        return x_prev(i, t) - sum(nw.consume[j, i] * m.b[j, t] for j in m.J if nw.consume[j, i])

    def arrivals(i: int, t: int) -> Any:
        made = sum(
            nw.deliver[j, d, i] * m.b[j, t - d]
            for j in m.J
            for d in range(nw.max_delay)
            if nw.deliver[j, d, i] and t - d >= t0
        )
        due = pending[t - t0, i] if t - t0 < len(pending) else 0.0
        return made + float(due)

    product_of = {int(i): p for p, i in enumerate(nw.products)}
    guarded = [i for i in m.M if not nw.reactant[i] and nw.consume[:, i].any()]
    m.start = pyo.Constraint(guarded, m.T, rule=lambda _, i, t: after_start(i, t) >= nw.x_min[i])
    m.orders = pyo.Constraint(
        m.R, m.T, rule=lambda _, r, t: m.q[r, t] >= nw.x_min[r] - after_start(r, t)
    )
    m.sales = pyo.Constraint(
        m.P,
        m.T,
        rule=lambda _, p, t: m.s[p, t] <= after_start(nw.products[p], t) - nw.x_min[nw.products[p]],
    )

    def stock(_: Any, i: int, t: int) -> Any:
        bought = m.q[i, t] if nw.reactant[i] else 0.0
        sold = m.s[product_of[i], t] if i in product_of else 0.0
        return m.X[i, t] == after_start(i, t) + bought - sold + arrivals(i, t)

    m.stock = pyo.Constraint(m.M, m.T, rule=stock)

    def taken(k: int, t: int) -> Any:
        return sum(m.y[j, t] for j in m.J if nw.uses[j, k])

    def returns(k: int, t: int) -> Any:
        back = sum(
            nw.release[j, d, k] * m.y[j, t - d]
            for j in m.J
            for d in range(nw.max_delay)
            if nw.release[j, d, k] and t - d >= t0
        )
        due = returning[t - t0, k] if t - t0 < len(returning) else 0.0
        return back + float(due)

    m.equipment_free = pyo.Constraint(
        m.K, m.T, rule=lambda _, k, t: e_prev(k, t) - taken(k, t) >= 0
    )
    m.equipment = pyo.Constraint(
        m.K, m.T, rule=lambda _, k, t: m.E[k, t] == e_prev(k, t) - taken(k, t) + returns(k, t)
    )
    factor = nw.unmet_factor
    m.cost = pyo.Objective(
        expr=-sum(
            nw.price[p] * (m.s[p, t] - factor * (demand[t, p] - m.s[p, t]))
            for p in m.P
            for t in m.T
        )
        + sum(nw.utility_cost[t, j] * m.b[j, t] for j in m.J for t in m.T)
        + sum(nw.order_price[r] * m.q[r, t] for r in m.R for t in m.T),
        sense=pyo.minimize,
    )
    return m


def solve_network(
    network: Network,
    state: State | None = None,
    horizon: int | None = None,
    demand: np.ndarray | None = None,
    *,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float = DEFAULT_GAP,
) -> Solution:
    """Optimal batches from ``state`` over ``horizon`` periods against ``demand``
    (objective = their reward; see :func:`build_model`).

    The plan has one ``{"batch": [J]}`` per period (0 where a pair idles).
    """
    model = build_model(network, state, horizon, demand)
    result = run(model, model.cost, solver, DEFAULT_SOLVER, time_limit, mip_gap)
    periods = list(model.T)
    batch = np.zeros((len(periods), len(network.pairs)))
    for pos, t in enumerate(periods):
        for j in model.J:
            on = (model.y[j, t].value or 0.0) > 0.5
            batch[pos, j] = max(model.b[j, t].value or 0.0, network.v_min[j]) if on else 0.0
    return Solution(
        objective=result.objective,
        status=result.status,
        solve_time=result.solve_time,
        bound=result.bound,
        plan=plan_from_arrays(len(periods), batch=batch),
        details={"solver": result.solver, "gap": result.gap, "start": periods[0]},
    )


def solve_config(
    config_model: type,
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
    """Optimal batches of the network a problem config describes (objective = episode
    reward of the periods planned).

    Args:
        config_model: the problem's config class (RTN or STN); it builds the network.
        config: path, dict or config (``None``: the shipped hard case study).
        state: physical environment state to plan from (``info["state"]``; default: the start).
        horizon: periods to plan (default: to the end of the episode).
        demand: ``[T, P]`` demand to plan against (default: the config's), e.g. a forecast.
        solver: ``"highs"`` (default), ``"scip"``, ``"gurobi"`` or another MILP solver.
        time_limit: seconds.
        mip_gap: relative optimality gap at which the solver stops.
        overrides: config fields, e.g. ``case="easy"``.
    """
    network = load_config(config_model, config, overrides).network()
    solution = solve_network(
        network, state, horizon, demand, solver=solver, time_limit=time_limit, mip_gap=mip_gap
    )
    solution.details["pairs"] = ", ".join(network.pairs)
    return solution


def plan(
    config: Any, state: State | None, series: Mapping[str, np.ndarray], window: int | None
) -> Solution:
    """The planner of :func:`stagewise.core.uncertainty.forecast_policies`: the MILP from
    ``state`` over ``window`` periods on ``series["demand"]`` (``[T, P]``)."""
    return solve_network(config.network(), state, window, series["demand"])


class WindowPlanner:
    """The MILP of :func:`build_model` over ``window`` periods compiled once into HiGHS
    (:class:`~stagewise.core.mpc.WindowModel`), for the ``mpc`` policy: the state's stock
    ``X``, free equipment ``E``, pending deliveries and returning equipment, and the
    forecast demand ``d_pk`` are parameters fixed each step (model period ``k`` is the
    state's ``t + k``); the utility costs ``c_jt`` are set per step. The constant
    ``f price_p d_pt`` of the objective is added back outside the solver."""

    def __init__(self, config: Any, window: int | None = None):
        nw = self.network = config.network()
        length = nw.horizon if window is None else min(nw.horizon, int(window))
        self.window = length
        delay = nw.max_delay - 1
        m = pyo.ConcreteModel(name="production_scheduling_window")
        m.J = pyo.Set(initialize=[int(j) for j in np.flatnonzero(nw.active)], ordered=True)
        m.M = pyo.RangeSet(0, len(nw.materials) - 1)
        m.Q = pyo.RangeSet(0, len(nw.equipment) - 1) if len(nw.equipment) else pyo.Set()
        m.P = pyo.RangeSet(0, len(nw.products) - 1)
        m.R = pyo.Set(initialize=[int(i) for i in np.flatnonzero(nw.reactant)], ordered=True)
        m.D = pyo.RangeSet(0, delay - 1) if delay else pyo.Set()
        m.K = pyo.RangeSet(0, length - 1)
        m.x0, m.e0 = pyo.Var(m.M), pyo.Var(m.Q)
        m.pending, m.returning = pyo.Var(m.D, m.M), pyo.Var(m.D, m.Q)
        m.demand = pyo.Var(m.P, m.K)
        m.b = pyo.Var(m.J, m.K, bounds=lambda _, j, k: (0.0, nw.v_max[j]))
        m.y = pyo.Var(m.J, m.K, within=pyo.Binary)
        m.s = pyo.Var(m.P, m.K, within=pyo.NonNegativeReals)
        m.q = pyo.Var(m.R, m.K, within=pyo.NonNegativeReals)
        m.X = pyo.Var(m.M, m.K, bounds=lambda _, i, k: (None, nw.x_max[i]))
        m.E = pyo.Var(m.Q, m.K, within=pyo.NonNegativeReals)
        rule = pyo.Constraint
        m.batch_low = rule(m.J, m.K, rule=lambda _, j, k: nw.v_min[j] * m.y[j, k] <= m.b[j, k])
        m.batch_high = rule(m.J, m.K, rule=lambda _, j, k: m.b[j, k] <= nw.v_max[j] * m.y[j, k])
        m.demand_cap = rule(m.P, m.K, rule=lambda _, p, k: m.s[p, k] <= m.demand[p, k])

        def x_prev(i: int, k: int) -> Any:
            return m.X[i, k - 1] if k > 0 else m.x0[i]

        def e_prev(q: int, k: int) -> Any:
            return m.E[q, k - 1] if k > 0 else m.e0[q]

        def after_start(i: int, k: int) -> Any:
            return x_prev(i, k) - sum(nw.consume[j, i] * m.b[j, k] for j in m.J if nw.consume[j, i])

        def arrivals(i: int, k: int) -> Any:
            made = sum(
                nw.deliver[j, d, i] * m.b[j, k - d]
                for j in m.J
                for d in range(nw.max_delay)
                if nw.deliver[j, d, i] and k - d >= 0
            )
            return made + (m.pending[k, i] if k < delay else 0.0)

        product_of = {int(i): p for p, i in enumerate(nw.products)}
        guarded = [i for i in m.M if not nw.reactant[i] and nw.consume[:, i].any()]
        m.start = rule(guarded, m.K, rule=lambda _, i, k: after_start(i, k) >= nw.x_min[i])
        m.orders = rule(m.R, m.K, rule=lambda _, r, k: m.q[r, k] >= nw.x_min[r] - after_start(r, k))
        m.sales = rule(
            m.P,
            m.K,
            rule=lambda _, p, k: (
                m.s[p, k] <= after_start(nw.products[p], k) - nw.x_min[nw.products[p]]
            ),
        )

        def stock(_: Any, i: int, k: int) -> Any:
            bought = m.q[i, k] if nw.reactant[i] else 0.0
            sold = m.s[product_of[i], k] if i in product_of else 0.0
            return m.X[i, k] == after_start(i, k) + bought - sold + arrivals(i, k)

        m.stock = rule(m.M, m.K, rule=stock)

        def taken(q: int, k: int) -> Any:
            return sum(m.y[j, k] for j in m.J if nw.uses[j, q])

        def returns(q: int, k: int) -> Any:
            back = sum(
                nw.release[j, d, q] * m.y[j, k - d]
                for j in m.J
                for d in range(nw.max_delay)
                if nw.release[j, d, q] and k - d >= 0
            )
            return back + (m.returning[k, q] if k < delay else 0.0)

        m.equipment_free = rule(m.Q, m.K, rule=lambda _, q, k: e_prev(q, k) - taken(q, k) >= 0)
        m.equipment = rule(
            m.Q,
            m.K,
            rule=lambda _, q, k: m.E[q, k] == e_prev(q, k) - taken(q, k) + returns(q, k),
        )
        factor = nw.unmet_factor
        m.cost = pyo.Objective(
            expr=-sum(nw.price[p] * (1 + factor) * m.s[p, k] for p in m.P for k in m.K)
            + sum(m.b[j, k] for j in m.J for k in m.K)
            + sum(nw.order_price[r] * m.q[r, k] for r in m.R for k in m.K),
            sense=pyo.minimize,
        )
        params = [m.x0, m.e0, m.pending, m.returning, m.demand]
        wm = self.model = WindowModel(m, m.K, params, mip_gap=DEFAULT_GAP)
        self._x0, self._e0 = wm.cols(m.x0, m.M), wm.cols(m.e0, m.Q)
        self._pending, self._returning = (
            wm.cols(m.pending, m.D, m.M),
            wm.cols(m.returning, m.D, m.Q),
        )
        self._demand = wm.cols(m.demand, m.P, m.K).T  # [K, P]
        self._pairs = list(m.J)
        self._b, self._y = wm.cols(m.b, m.J, m.K), wm.cols(m.y, m.J, m.K)  # [J active, K]

    def __call__(self, state: State, series: Mapping[str, np.ndarray]) -> Solution:
        nw, wm = self.network, self.model
        t0 = int(state["t"])
        planned = min(self.window, nw.horizon - t0)
        if planned < 1:
            raise ValueError(f"no period to plan: state at t = {t0}, horizon {nw.horizon}")
        demand = np.asarray(series["demand"], dtype=np.float64)
        if demand.shape != nw.demand.shape or not np.all(np.isfinite(demand)) or demand.min() < 0:
            raise ValueError(f"demand must be finite, >= 0 and shaped {nw.demand.shape}")
        window_demand = np.zeros(self._demand.shape)
        window_demand[:planned] = demand[t0 : t0 + planned]
        wm.set_params(self._x0, np.asarray(state["X"], dtype=np.float64))
        wm.set_params(self._e0, np.asarray(state["E"], dtype=np.float64))
        wm.set_params(self._pending, np.asarray(state["pending"], dtype=np.float64))
        wm.set_params(self._returning, np.asarray(state["returning"], dtype=np.float64))
        wm.set_params(self._demand, window_demand)
        utility = np.zeros(self._b.shape)
        utility[:, :planned] = nw.utility_cost[t0 : t0 + planned][:, self._pairs].T
        wm.set_costs(self._b, utility)
        wm.set_periods(planned)
        status, x, cost = wm.solve()
        if status not in ("optimal", "time_limit"):
            raise RuntimeError(f"HiGHS found no batches: {status}")
        constant = nw.unmet_factor * float((nw.price * window_demand[:planned]).sum())
        batch = np.zeros(len(nw.pairs))
        for pos, j in enumerate(self._pairs):
            on = x[self._y[pos, 0]] > 0.5
            batch[j] = max(x[self._b[pos, 0]], nw.v_min[j]) if on else 0.0
        return Solution(
            objective=-(cost - constant),
            status=status,
            solve_time=wm.solve_time,
            plan=plan_from_arrays(1, batch=batch[None]),
            details={"solver": "highspy", "start": t0},
        )


forecast_mpc_policy, clairvoyant_policy = forecast_policies(plan, WindowPlanner)


def optimal_policy(env: Any) -> PlanPolicy | ClairvoyantPolicy:
    """Solve the environment's configuration and replay the optimal plan (with
    ``uncertainty="forecast"``: the plan on the episode's realised demand)."""
    config = env.unwrapped.config
    if config.stochastic:
        return clairvoyant_policy(env)
    return PlanPolicy(solve_config(type(config), config).plan)


def mpc_policy(
    env: Any, horizon: int = 10, window: int | None = None, warm_start: bool = True
) -> NetworkMPC | core_mpc.MPCPolicy:
    """Re-plan ``window`` (or ``horizon``, default 10) periods from the current state every
    period: on the network's demand, or with ``uncertainty="forecast"`` on the forecast
    mean (:mod:`stagewise.core.mpc`; ``warm_start``: the model compiled once and updated,
    :class:`WindowPlanner`)."""
    periods = window if window is not None else horizon
    if env.unwrapped.config.stochastic:
        return forecast_mpc_policy(env, periods, warm_start)
    return NetworkMPC(periods)


class NetworkMPC:
    """Rolling-horizon re-planning: each period, solve ``horizon`` periods from the
    current state and apply the first batch."""

    def __init__(self, horizon: int | None = None, solver: str | None = None):
        if horizon is not None and horizon < 1:
            raise ValueError(f"horizon must be >= 1 period, got {horizon}")
        self.horizon = horizon
        self.solver = solver
        self._env: Any = None

    def reset(self, env: Any) -> None:
        self._env = env

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        assert self._env is not None, "reset() first"
        unwrapped = self._env.unwrapped
        solution = solve_network(
            unwrapped.dynamics.network, info["state"], self.horizon, solver=self.solver
        )
        return unwrapped.encode(solution.plan[0])

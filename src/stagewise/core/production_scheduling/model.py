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


forecast_mpc_policy, clairvoyant_policy = forecast_policies(plan)


def optimal_policy(env: Any) -> PlanPolicy | ClairvoyantPolicy:
    """Solve the environment's configuration and replay the optimal plan (with
    ``uncertainty="forecast"``: the plan on the episode's realised demand)."""
    config = env.unwrapped.config
    if config.stochastic:
        return clairvoyant_policy(env)
    return PlanPolicy(solve_config(type(config), config).plan)


def mpc_policy(
    env: Any, horizon: int = 10, window: int | None = None
) -> NetworkMPC | core_mpc.MPCPolicy:
    """Re-plan ``window`` (or ``horizon``, default 10) periods from the current state every
    period: on the network's demand, or with ``uncertainty="forecast"`` on the forecast
    mean (:mod:`stagewise.core.mpc`)."""
    periods = window if window is not None else horizon
    if env.unwrapped.config.stochastic:
        return forecast_mpc_policy(env, periods)
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

"""Full-space inventory model (LP; HiGHS by default) of the environment's problem.

Built from any environment state and window: periods ``k = start .. end - 1``
(0-based steps), the state's stock ``I0``, pipeline ``P0``, backlog ``B0`` and
pending demand ``D_{start-1}``, and a demand sequence ``D`` (the episode's, or a
forecast). Variables: orders ``Q_lk`` in ``[0, Cap_l]``, stock ``I_nk`` in
``[0, Cap_n]``, sales ``S_k >= 0``, backlog ``B_k >= 0``. Maximize

    sum_k  p S_k - sum_l (c^raw_l + C^oper_l / eta_l) Q_lk
           - sum_n h_n I_nk - sum_l g_l P^inv_lk - b B_k

subject to (A.6.5, with the published model's timing):

- arrivals ``A_lk = Q_l,k-LT_l`` (or the state's pipeline slot ``k - start``);
- stock: ``I_nk = I_n,k-1 + sum_{l into n} A_lk - sum_{l out of n} Q_lk / eta_n
  - [n = retailer] S_k``, with ``I >= 0`` (no shipment beyond the stock);
- shipping limit: ``sum_{l out of n} Q_lk / eta_n <= f (I_n,k-1 + sum A_lk - [retailer] S_k)``
  (``f`` = ``ship_fraction``; 0.5 is the published model's "ship no more than you keep");
- sales from the opening stock: ``S_k <= I_retailer,k-1``;
- backlog: ``S_k + B_k = B_k-1 + D_k-1``;
- in transit: ``P^inv_lk`` = pipeline slots still travelling after ``k`` plus the
  orders of the last ``LT_l`` periods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import pyomo.environ as pyo

from stagewise.core import mpc as core_mpc
from stagewise.core.config import load_config
from stagewise.core.pyomo_tools import plan_from_arrays, run, var_array
from stagewise.core.solve import PlanPolicy, Solution
from stagewise.core.uncertainty import ClairvoyantPolicy, forecast_policies
from stagewise.problems.inventory.config import InvMgmtConfig
from stagewise.problems.inventory.env import InvMgmtDynamics

DEFAULT_SOLVER = "highs"


def initial_state(dynamics: InvMgmtDynamics) -> dict[str, Any]:
    """The physical state at the start of an episode (without its demand)."""
    state = dynamics.initial_state(np.random.default_rng(0), 1)
    return {k: v[0] for k, v in state.items() if k != "demand"}


def build_model(
    config: InvMgmtConfig,
    demand: Sequence[float],
    state: dict[str, Any] | None = None,
    horizon: int | None = None,
) -> pyo.ConcreteModel:
    """The LP from ``state`` (``None``: the initial state) over ``horizon`` periods.

    Args:
        config: the problem.
        demand: ``[T]`` demand of every period (entries before ``state["t"]`` unused).
        state: a physical state as in ``info["state"]`` (``t``, ``on_hand``,
            ``pipeline``, ``backlog``, ``pending``).
        horizon: periods to plan (``None``: to the end of the episode).
    """
    dyn = InvMgmtDynamics(config)
    s = initial_state(dyn) if state is None else state
    start = int(s["t"])
    end = config.T if horizon is None else min(config.T, start + int(horizon))
    if not 0 <= start < end:
        raise ValueError(f"no period to plan: start {start}, end {end}, T {config.T}")
    demand = [float(x) for x in demand]
    if len(demand) < end:
        raise ValueError(f"demand has {len(demand)} periods, the window ends at {end}")
    pipe0 = np.asarray(s["pipeline"], dtype=float)
    stock0 = np.asarray(s["on_hand"], dtype=float)
    routes, nodes = range(len(dyn.routes)), range(len(dyn.nodes))
    m = pyo.ConcreteModel(name="inventory")
    m.K = pyo.RangeSet(start, end - 1)
    m.Q = pyo.Var(routes, m.K, bounds=lambda _, r, k: (0.0, dyn.route_cap[r]))
    m.I = pyo.Var(nodes, m.K, bounds=lambda _, n, k: (0.0, dyn.capacity[n]))
    m.S = pyo.Var(m.K, within=pyo.NonNegativeReals)
    m.B = pyo.Var(m.K, within=pyo.NonNegativeReals)

    def arrival(r: int, k: int) -> Any:
        placed = k - int(dyn.lead[r])
        return m.Q[r, placed] if placed >= start else float(pipe0[r, k - start])

    def opening(n: int, k: int) -> Any:
        return m.I[n, k - 1] if k > start else float(stock0[n])

    def in_transit(r: int, k: int) -> Any:
        still = float(pipe0[r, k - start + 1 :].sum())
        return still + sum(m.Q[r, j] for j in range(max(start, k - int(dyn.lead[r]) + 1), k + 1))

    def stock_balance(_: Any, n: int, k: int) -> Any:
        inflow = sum(arrival(r, k) for r in routes if dyn.into[r, n])
        shipped = sum(m.Q[r, k] for r in routes if dyn.out_of[r, n]) / dyn.node_yield[n]
        sold = m.S[k] if n == dyn.retailer else 0.0
        return m.I[n, k] == opening(n, k) + inflow - shipped - sold

    def backlog_balance(_: Any, k: int) -> Any:
        owed = m.B[k - 1] if k > start else float(s["backlog"])
        due = demand[k - 1] if k > start else float(s["pending"])
        return m.S[k] + m.B[k] == owed + due

    def ship_limit(_: Any, n: int, k: int) -> Any:
        shipped = sum(m.Q[r, k] for r in routes if dyn.out_of[r, n]) / dyn.node_yield[n]
        sold = m.S[k] if n == dyn.retailer else 0.0
        inflow = sum(arrival(r, k) for r in routes if dyn.into[r, n])
        return shipped <= config.ship_fraction * (opening(n, k) + inflow - sold)

    shippers = [n for n in nodes if dyn.out_of[:, n].any()]
    m.stock = pyo.Constraint(nodes, m.K, rule=stock_balance)
    m.ship_limit = pyo.Constraint(shippers, m.K, rule=ship_limit)
    m.sell_from_stock = pyo.Constraint(m.K, rule=lambda _, k: m.S[k] <= opening(dyn.retailer, k))
    m.backlog = pyo.Constraint(m.K, rule=backlog_balance)
    m.profit = pyo.Objective(
        expr=sum(
            dyn.price * m.S[k]
            - sum((dyn.raw_price[r] + dyn.operating[r]) * m.Q[r, k] for r in routes)
            - sum(dyn.holding[n] * m.I[n, k] for n in nodes)
            - sum(dyn.transit_holding[r] * in_transit(r, k) for r in routes)
            - dyn.backlog_penalty * m.B[k]
            for k in m.K
        ),
        sense=pyo.maximize,
    )
    m.cost = pyo.Objective(expr=-m.profit.expr, sense=pyo.minimize)
    m.profit.deactivate()
    return m


def solve(
    config: Any = None,
    *,
    demand_series: Sequence[float] | None = None,
    state: dict[str, Any] | None = None,
    horizon: int | None = None,
    solver: str | None = None,
    time_limit: float | None = None,
    **overrides: Any,
) -> Solution:
    """Optimal orders (objective = episode reward from ``state``) on a known demand sequence.

    Args:
        config: path, dict or :class:`InvMgmtConfig` (``None``: the published case study).
        demand_series: ``[T]`` demand (``None``: the config's fixed sequence; required when
            ``demand="stochastic"``, e.g. an episode's draw for the perfect-information value).
        state: start from this physical state (``None``: the initial state).
        horizon: periods to plan (``None``: to the end).
        solver: ``"highs"`` (default) or another LP Pyomo solver.
        time_limit: seconds.
        overrides: config fields.
    """
    cfg = load_config(InvMgmtConfig, config, overrides)
    series = demand_series if demand_series is not None else cfg.fixed_demand()
    if series is None:
        raise ValueError("demand='stochastic': pass the demand sequence to plan on")
    model = build_model(cfg, series, state, horizon)
    result = run(model, model.cost, solver, DEFAULT_SOLVER, time_limit)
    steps = list(model.K)
    orders = np.maximum(var_array(model.Q, range(len(cfg.routes)), steps).T, 0.0)
    return Solution(
        objective=result.objective,
        status=result.status,
        solve_time=result.solve_time,
        bound=result.bound,
        plan=plan_from_arrays(len(steps), order=orders),
        details={
            "solver": result.solver,
            "start": steps[0],
            "sales": var_array(model.S, steps).tolist(),
        },
    )


def plan(
    config: InvMgmtConfig,
    state: dict[str, Any] | None,
    series: Mapping[str, np.ndarray],
    window: int | None,
) -> Solution:
    """The planner of :func:`stagewise.core.uncertainty.forecast_policies`: the LP from
    ``state`` over ``window`` periods on ``series["demand"]``."""
    return solve(config, demand_series=series["demand"], state=state, horizon=window)


_mpc_policy, clairvoyant_policy = forecast_policies(plan)


def optimal_policy(env: gym.Env) -> PlanPolicy | PerfectInformationPolicy | ClairvoyantPolicy:
    """Fixed demand: the optimal plan replayed. Drawn demand: the perfect-information plan."""
    cfg = env.unwrapped.config
    if cfg.stochastic:
        return clairvoyant_policy(env)
    if cfg.fixed_demand() is None:
        return PerfectInformationPolicy()
    return PlanPolicy(solve(cfg).plan)


class PerfectInformationPolicy:
    """Plans each episode on its own drawn demand (an oracle: the perfect-information bound)."""

    def __init__(self) -> None:
        self._plan: PlanPolicy | None = None

    def reset(self, env: gym.Env) -> None:
        inner = env.unwrapped
        self._plan = PlanPolicy(solve(inner.config, demand_series=inner.episode_demand()).plan)
        self._plan.reset(env)

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        assert self._plan is not None, "reset() first"
        return self._plan.act(obs, info)


def mpc_policy(
    env: gym.Env, horizon: int | None = None, window: int | None = None
) -> core_mpc.MPCPolicy:
    """Rolling-horizon policy (:mod:`stagewise.core.mpc`) on the demand forecast: the
    sequence when fixed, the mean when drawn, the forecast mean with
    ``uncertainty="forecast"``; ``window`` (or ``horizon``) periods, ``None`` to the end."""
    return _mpc_policy(env, window if window is not None else horizon)

"""ASU production model (MILP; HiGHS by default) of the environment's problem, from any state.

Sets ``J`` (products), ``X`` (hull vertices ``v_x``), ``H`` = 0..L-1 (the window's
hours, the first being the state's hour ``t0``). Variables: ``y_h`` (the unit
works in hour h; binary), ``lambda_xh >= 0`` (vertex weights), ``IV_jh`` (inventory
after hour h-1, in ``[0, IV^ub_j]``). Minimize the electricity bill (A.9.7)

    sum_h e_h (C_fixed y_h + C_unit sum_j PQ_jh),   PQ_jh = sum_x lambda_xh v_jx,

subject to

- convex hull, "Off" when all weights are 0 (A.9.4): ``sum_x lambda_xh = y_h``;
- inventory (A.9.5) with every demand met at its day's last hour and no overflow
  (A.9.6's costs are zero): ``IV_j,h+1 = IV_jh + PQ_jh - D_jh``, ``0 <= IV <= IV^ub``.

Switching between "Work" and "Off" is instantaneous and free (A.9.1), as in the
environment. With ``shortfall=True`` a day's shipment may fall short by ``s_jh >= 0``
at the environment's price ``rho_D s_jh`` (for states that cannot meet a demand any
more). Valid "cover" inequalities on the working hours tighten the LP relaxation.
:func:`build_model` takes any state (inventory, hour) and window
(length, prices, demands), so one builder serves the full-week optimum
(:func:`solve`), the rolling-horizon policy (``mpc.py``) and one-step projections.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from stagewise.core.config import load_config
from stagewise.core.pyomo_tools import RunResult, plan_from_arrays, run, var_array
from stagewise.core.solve import PlanPolicy, Solution
from stagewise.core.uncertainty import ClairvoyantPolicy, forecast_policies
from stagewise.problems.asu.config import HOURS_PER_DAY, ASUConfig
from stagewise.problems.asu.env import ASUDynamics

DEFAULT_SOLVER = "highs"
DEFAULT_GAP = 1e-9
# Rounding slack of the cover cuts: a requirement within this many hours of a whole
# number is not rounded up.
CUT_EPS = 1e-7


@dataclass
class Window:
    """The data of one model: the state it starts from and the hours it plans.

    Attributes:
        start: episode hour ``t0`` of the first decision.
        inventory: ``IV_t0`` ``[J]``.
        price: ``e_h`` ``[L]`` of hours ``t0 .. t0 + L - 1``.
        demand: ``D_jh`` ``[L, J]`` due at the end of each hour (non-zero at each
            day's last hour).
    """

    start: int
    inventory: np.ndarray
    price: np.ndarray
    demand: np.ndarray

    @property
    def hours(self) -> int:
        return len(self.price)


def window_at(
    config: ASUConfig, inventory: np.ndarray | None = None, start: int = 0, hours: int | None = None
) -> Window:
    """The window of ``hours`` (default: to the episode's end) from hour ``start`` in the
    state with ``inventory`` (default ``IV_i``), with the config's prices and demands.

    Raises:
        ValueError: the window runs past the data or starts outside the episode.
    """
    dyn = ASUDynamics(config)
    if not 0 <= start < dyn.horizon:
        raise ValueError(f"start hour {start} is outside the episode's 0..{dyn.horizon - 1}")
    hours = dyn.horizon - start if hours is None else hours
    if hours < 1 or start + hours > len(dyn.price):
        raise ValueError(
            f"a window of {hours} hours from hour {start} needs data the config lacks "
            f"({len(dyn.price)} hours)"
        )
    iv = dyn.initial_iv if inventory is None else np.asarray(inventory, dtype=float)
    return Window(
        start, iv.copy(), dyn.price[start : start + hours], dyn.demand[start : start + hours]
    )


def build_model(config: ASUConfig, window: Window, shortfall: bool = False) -> pyo.ConcreteModel:
    """The Pyomo model of ``config``'s unit over ``window``.

    ``shortfall=True`` lets a day's shipment fall short by ``s_jh >= 0`` at the
    environment's price ``rho_D s_jh`` in the objective (reward minus cost), so that
    states from which a demand cannot be met still have a plan; without it (the
    default) every demand is met.
    """
    dyn = ASUDynamics(config)
    v = dyn.vertices  # [k, J]
    c = config
    m = pyo.ConcreteModel(name="asu")
    m.J = pyo.RangeSet(0, len(dyn.products) - 1)
    m.X = pyo.RangeSet(0, len(v) - 1)
    m.H = pyo.RangeSet(0, window.hours - 1)
    m.after = pyo.RangeSet(1, window.hours)
    m.y = pyo.Var(m.H, within=pyo.Binary)
    m.lam = pyo.Var(m.X, m.H, bounds=(0.0, 1.0))
    m.iv = pyo.Var(m.J, m.after, bounds=lambda _, j, h: (0.0, float(dyn.capacity[j])))
    m.hull = pyo.Constraint(m.H, rule=lambda _, h: sum(m.lam[x, h] for x in m.X) == m.y[h])

    def produced(j: int, h: int) -> Any:
        return sum(float(v[x, j]) * m.lam[x, h] for x in m.X)

    def before(j: int, h: int) -> Any:
        return m.iv[j, h] if h > 0 else float(window.inventory[j])

    due = [int(h) for h in np.flatnonzero(window.demand.sum(axis=1) > 0)] if shortfall else []
    due_hours = set(due)
    m.short = pyo.Var(m.J, due, bounds=lambda _, j, h: (0.0, float(window.demand[h, j])))

    def shipped(j: int, h: int) -> Any:
        demand = float(window.demand[h, j])
        return demand - m.short[j, h] if h in due_hours else demand

    m.balance = pyo.Constraint(
        m.J,
        m.H,
        rule=lambda _, j, h: m.iv[j, h + 1] == before(j, h) + produced(j, h) - shipped(j, h),
    )
    output = v.sum(axis=1)  # sum_j v_jx

    def bill(h: int) -> Any:
        produced_total = sum(float(output[x]) * m.lam[x, h] for x in m.X)
        return float(window.price[h]) * (
            c.fixed_cost[0] * m.y[h] + c.dynamic_cost[0] * produced_total
        )

    if not shortfall:
        _add_cover_cuts(m, window, dyn.vertices.max(axis=0))
    penalty = c.demand_penalty * sum(m.short[j, h] for j in m.J for h in due)
    m.cost = pyo.Objective(
        expr=sum(bill(h) for h in m.H) + penalty,
        sense=pyo.minimize,
    )
    return m


def _add_cover_cuts(m: pyo.ConcreteModel, window: Window, peak: np.ndarray) -> None:
    """Valid inequalities that count the working hours a demand needs (tighten the LP).

    Between an interval's first hour ``a`` (the window's start or a day's first hour) and a
    day's last hour ``b``, product j's demand ``D`` must come from the stock ``IV_ja`` and
    production ``PQ_jh <= v^max_j y_h``: ``Y + IV_ja / v^max_j >= beta = D / v^max_j`` with
    ``Y`` the working hours. Integer rounding of that (mixed-integer rounding, ``f`` the
    fractional part of ``beta``) gives ``Y + IV_ja / (v^max_j f) >= ceil(beta)``, and with the
    known stock at the window's start ``Y >= ceil(beta - IV_j0 / v^max_j)``.
    """
    due = np.flatnonzero(window.demand.sum(axis=1) > 0)
    starts = [0] + [int(b) + 1 for b in due if b + 1 < window.hours]
    rows = []
    for j in range(len(peak)):
        if peak[j] <= 0:
            continue
        for a in starts:
            for b in due[due >= a]:
                beta = float(window.demand[a : b + 1, j].sum()) / peak[j]
                hours = sum(m.y[h] for h in range(a, int(b) + 1))
                if a == 0:
                    need = np.ceil(beta - window.inventory[j] / peak[j] - CUT_EPS)
                    if need > 0:
                        rows.append(hours >= float(need))
                    continue
                frac = beta - np.floor(beta)
                if CUT_EPS < frac < 1 - CUT_EPS:
                    stock = m.iv[j, a] / float(peak[j] * frac)
                    rows.append(hours + stock >= float(np.ceil(beta)))
    m.cover = pyo.ConstraintList()
    for row in rows:
        m.cover.add(row)


def plan_window(
    config: ASUConfig,
    window: Window,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float = DEFAULT_GAP,
    shortfall: bool = False,
) -> tuple[RunResult, np.ndarray]:
    """Solve the model over ``window``; the result and the weights ``[L, k]`` of each hour
    (normalized to sum 1 where the unit works, all 0 where it is off)."""
    model = build_model(config, window, shortfall)
    result = run(model, model.cost, solver, DEFAULT_SOLVER, time_limit, mip_gap)
    works = var_array(model.y, model.H, integral=True)
    lam = np.maximum(var_array(model.lam, model.X, model.H).T, 0.0)
    total = lam.sum(axis=1, keepdims=True)
    weights = np.where((works[:, None] > 0) & (total > 0), lam / np.where(total > 0, total, 1), 0)
    return result, weights


def solve(
    config: Any = None,
    *,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float = DEFAULT_GAP,
    **overrides: Any,
) -> Solution:
    """Optimal hourly production over the whole episode (objective = episode reward).

    Args:
        config: path, dict or :class:`ASUConfig` (``None``: the shipped case study).
        solver: ``"highs"`` (default), ``"scip"``, ``"gurobi"`` or another MILP Pyomo solver.
        time_limit: seconds.
        mip_gap: relative optimality gap at which the solver stops.
        overrides: config fields, e.g. ``start_day=9``.
    """
    cfg = load_config(ASUConfig, config, overrides)
    window = window_at(cfg)
    result, weights = plan_window(cfg, window, solver, time_limit, mip_gap)
    return Solution(
        objective=result.objective,
        status=result.status,
        solve_time=result.solve_time,
        bound=result.bound,
        plan=plan_from_arrays(window.hours, weights=weights),
        details={
            "solver": result.solver,
            "gap": result.gap,
            "working_hours": int((weights.sum(axis=1) > 0).sum()),
            "days": daily_costs(cfg, weights),
        },
    )


def daily_costs(config: ASUConfig, weights: np.ndarray) -> list[dict[str, Any]]:
    """Electricity bill of each day of a plan ``[T, k]`` (from the episode's first hour)."""
    dyn = ASUDynamics(config)
    out = dyn.production(weights)
    hours = len(weights)
    bill = dyn.price[:hours] * (
        config.fixed_cost[0] * out[:, -1] + config.dynamic_cost[0] * out[:, -2]
    )
    days = -(-hours // HOURS_PER_DAY)
    per_day = [bill[d * HOURS_PER_DAY : (d + 1) * HOURS_PER_DAY].sum() for d in range(days)]
    return [{"day": config.start_day + d, "cost": float(cost)} for d, cost in enumerate(per_day)]


def plan(
    config: ASUConfig,
    state: dict[str, Any] | None,
    series: Mapping[str, np.ndarray],
    window: int | None,
) -> Solution:
    """The planner of :func:`stagewise.core.uncertainty.forecast_policies`: the model from
    ``state`` (``None``: the initial one) over ``window`` hours (``None``: to the end) on
    ``series["price"]`` ``[L]`` and hourly ``series["demand"]`` ``[L, J]``."""
    base = window_at(
        config, None if state is None else state["iv"], 0 if state is None else int(state["t"])
    )
    hours = base.hours if window is None else min(int(window), base.hours)
    start = base.start
    price = np.asarray(series["price"], dtype=float)[start : start + hours]
    demand = np.asarray(series["demand"], dtype=float)[start : start + hours]
    window_data = Window(start, base.inventory, price, demand)
    try:
        result, weights = plan_window(config, window_data)
    except RuntimeError:  # a drawn demand no schedule meets: ship what can be, priced at rho_D
        result, weights = plan_window(config, window_data, shortfall=True)
    return Solution(
        objective=result.objective,
        status=result.status,
        solve_time=result.solve_time,
        bound=result.bound,
        plan=plan_from_arrays(hours, weights=weights),
        details={"solver": result.solver, "gap": result.gap},
    )


forecast_mpc_policy, clairvoyant_policy = forecast_policies(plan)


def optimal_policy(env: Any) -> PlanPolicy | ClairvoyantPolicy:
    """Solve the environment's configuration over the whole episode and replay the plan
    (with ``uncertainty="forecast"``: on the episode's realised prices and demands)."""
    if env.unwrapped.config.stochastic:
        return clairvoyant_policy(env)
    return PlanPolicy(solve(env.unwrapped.config).plan)

"""Scheduling-and-maintenance model (MILP; HiGHS by default) from any environment state.

Compressors ``C``, days ``t`` of the window ``t0 .. t0 + H - 1``. Variables:
maintenance starts ``y_ct`` (binary), production ``q_ct`` (t/day), purchase
``u_t`` (t/day). A maintenance day is ``m_ct = sum_{s = t - MTTR + 1 .. t} y_cs``,
plus the days left of a repair under way at ``t0`` (``tlcm``). Minimize

    sum_t [ price_t sum_c SPEN_c / 750 q_ct + alpha_ext u_t ]

subject to the zero-cost region of the environment (A.8.5):

- ``m_ct <= 1``; ``q_ct <= Cap_c (1 - m_ct)``; ``u_t <= Q_ext``;
- failure: no day with ``tslm >= MTTF`` without maintenance, i.e.
  ``sum_{s = t - MTTF .. t} m_cs >= 1`` wherever ``tslm_t0 + t - t0 >= MTTF`` or
  ``t - t0 >= MTTF``;
- early maintenance: a start needs ``tslm >= max(MNRD, 1)``: ``y_ct + m_cs <= 1``
  for ``s`` in the ``max(MNRD, 1)`` days before ``t``, no start while
  ``tslm_t0 + t - t0 < MNRD``, and none at ``t0`` unless ``cdm = 1`` and ``tslm > 0``;
- demand: ``|sum_c q_ct + u_t - d_t| <= band`` (``band = 0``: exactly, as the published
  rolling-horizon optimizer; the environment charges gaps above ``demand_dead_band``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pyomo.environ as pyo

from stagewise.core.config import load_config
from stagewise.core.mpc import MPCPolicy
from stagewise.core.pyomo_tools import plan_from_arrays, run, var_array
from stagewise.core.solve import PlanPolicy, Solution
from stagewise.core.uncertainty import forecast_policies, scenario
from stagewise.problems.sched_maint.config import SchedMaintConfig

DEFAULT_SOLVER = "highs"
DEFAULT_GAP = 1e-9
# Price per t of supply outside the demand band in a plan on drawn series that cannot meet
# it (only then): far above any production cost, so the plan misses as little as it can.
SHORTFALL_PRICE = 1e4
Schedule = Literal["reset", "published"]


def _deadlines(
    c: SchedMaintConfig,
    t0: int,
    days: int,
    tslm: np.ndarray,
    tlcm: np.ndarray,
    mttf: np.ndarray,
) -> list[tuple[int, int]]:
    """(compressor, day) where the published schedule forces maintenance: ``MTTF + 1`` days
    after the last maintenance day before ``t0`` (or the end of the repair under way)."""
    out = []
    for i in range(len(c.compressors)):
        last = t0 + int(tlcm[i]) - 1 if tlcm[i] > 0 else t0 - int(tslm[i]) - 1
        due = last + int(mttf[i]) + 1
        if t0 <= due < t0 + days:
            out.append((i, due))
    return out


def initial_state(config: SchedMaintConfig) -> dict[str, Any]:
    """The environment's initial physical state (nominal MTTF)."""
    comps = config.compressors
    return {
        "t": 0,
        "tslm": np.array([x.TSLM for x in comps], dtype=float),
        "tlcm": np.array([x.TLCM for x in comps], dtype=float),
        "cdm": np.array([x.CDM for x in comps], dtype=float),
        "mttf": np.array([x.mttf for x in comps], dtype=float),
    }


def build_model(
    config: SchedMaintConfig,
    state: dict[str, Any] | None = None,
    horizon: int | None = None,
    band: float = 0.0,
    schedule: Schedule = "reset",
    demand: np.ndarray | None = None,
    prices: np.ndarray | None = None,
    shortfall: bool = False,
) -> pyo.ConcreteModel:
    """The MILP of ``config`` from ``state`` (default: the initial one) over ``horizon``
    days (default: to the end of the episode); supply within ``band`` t of demand. ``demand``
    and ``prices`` (per day of the data; default: the config's) may be a forecast or a
    realised scenario. ``shortfall=True`` lets supply fall short of the band (or exceed it)
    at ``SHORTFALL_PRICE`` per t, for a drawn demand no plan meets."""
    c = config
    demand = c.demand if demand is None else [float(x) for x in demand]
    prices = c.electricity_prices if prices is None else [float(x) for x in prices]
    s = initial_state(c) if state is None else state
    t0 = int(s["t"])
    days = c.episode_days - t0 if horizon is None else int(horizon)
    if days < 1 or t0 + days > len(c.demand):
        raise ValueError(f"cannot plan {days} days from day {t0}: the data has {len(c.demand)}")
    tslm, tlcm = np.asarray(s["tslm"], float), np.asarray(s["tlcm"], float)
    cdm, mttf = np.asarray(s["cdm"], float), np.asarray(s["mttf"], float)
    comps = c.compressors
    m = pyo.ConcreteModel(name="sched_maint")
    m.C = pyo.RangeSet(0, len(comps) - 1)
    m.T = pyo.RangeSet(t0, t0 + days - 1)
    m.y = pyo.Var(m.C, m.T, within=pyo.Binary)
    m.q = pyo.Var(m.C, m.T, bounds=lambda _, i, t: (0.0, comps[i].capacity))
    # The published optimizer bounds no purchase; only the first (applied) day needs Q_ext.
    m.u = pyo.Var(
        m.T,
        bounds=lambda _, t: (0.0, c.q_ext if schedule == "reset" or t == t0 else None),
    )

    def maint(i: int, t: int) -> Any:
        ongoing = 1.0 if t - t0 < tlcm[i] else 0.0
        return ongoing + sum(m.y[i, d] for d in range(max(t0, t - comps[i].mttr + 1), t + 1))

    m.maint = pyo.Expression(m.C, m.T, rule=lambda _, i, t: maint(i, t))
    m.one_at_a_time = pyo.Constraint(m.C, m.T, rule=lambda _, i, t: m.maint[i, t] <= 1)
    m.idle_in_maintenance = pyo.Constraint(
        m.C, m.T, rule=lambda _, i, t: m.q[i, t] <= comps[i].capacity * (1 - m.maint[i, t])
    )

    def no_failure(_: Any, i: int, t: int) -> Any:
        life = int(mttf[i])
        if tslm[i] + t - t0 < life and t - t0 < life:
            return pyo.Constraint.Skip
        return sum(m.maint[i, d] for d in range(max(t0, t - life), t + 1)) >= 1

    m.no_failure = pyo.Constraint(m.C, m.T, rule=no_failure)

    def blocked(i: int, t: int) -> bool:
        """Whether a start on day ``t`` is early whatever happens in the window."""
        if t == t0:
            return cdm[i] == 0 or tslm[i] == 0 or tlcm[i] > 0
        return tslm[i] + t - t0 < comps[i].mntr

    for i in m.C:
        for t in m.T:
            if blocked(i, t):
                m.y[i, t].fix(0)
    m.rest = pyo.Constraint(
        [(i, t, d) for i in m.C for t in m.T for d in range(max(t0, t - max(comps[i].mntr, 1)), t)],
        rule=lambda _, i, t, d: m.y[i, t] + m.maint[i, d] <= 1,
    )
    if schedule == "published":
        m.deadline = pyo.Constraint(
            [(i, d) for i, d in _deadlines(c, t0, days, tslm, tlcm, mttf)],
            rule=lambda _, i, d: m.maint[i, d] >= 1,
        )
        m.next_deadline = pyo.Constraint(
            [(i, d) for i in m.C for d in m.T if d + int(mttf[i]) + 1 < t0 + days],
            rule=lambda _, i, d: (
                m.maint[i, d + int(mttf[i]) + 1] >= m.maint[i, d] - m.maint[i, d + 1]
            ),
        )

    def supply(t: int) -> Any:
        return sum(m.q[i, t] for i in m.C) + m.u[t]

    m.short = pyo.Var(m.T, bounds=(0.0, None if shortfall else 0.0))
    m.excess = pyo.Var(m.T, bounds=(0.0, None if shortfall else 0.0))
    m.demand_low = pyo.Constraint(m.T, rule=lambda _, t: supply(t) + m.short[t] >= demand[t] - band)
    m.demand_high = pyo.Constraint(
        m.T, rule=lambda _, t: supply(t) - m.excess[t] <= demand[t] + band
    )
    energy = c.energy_cost
    m.cost = pyo.Objective(
        expr=sum(
            prices[t] * sum(energy[i] * m.q[i, t] for i in m.C) + c.alpha_ext * m.u[t] for t in m.T
        )
        + SHORTFALL_PRICE * sum(m.short[t] + m.excess[t] for t in m.T),
        sense=pyo.minimize,
    )
    return m


def solve(
    config: Any = None,
    *,
    state: dict[str, Any] | None = None,
    horizon: int | None = None,
    band: float | None = None,
    schedule: Schedule = "reset",
    demand: np.ndarray | None = None,
    prices: np.ndarray | None = None,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float = DEFAULT_GAP,
    **overrides: Any,
) -> Solution:
    """Optimal plan from ``state`` (objective = reward of the planned days).

    Args:
        config: path, dict or :class:`SchedMaintConfig` (``None``: ``gasu_config.json``).
        state: environment state (``info["state"]``); ``None``: the initial one.
        horizon: days to plan (default: to the end of the episode).
        band: allowed supply-demand gap in t; ``None``: the environment's
            ``demand_dead_band`` (the gap it charges nothing for), so the plan is the
            optimum of the environment's own problem; 0: exact, as the published optimizer.
        schedule: ``"reset"``: any maintenance restarts the MTTF clock (the environment's
            rule); ``"published"``: as the published optimizer, each maintenance also forces
            another exactly ``MTTF + 1`` days later (a time-based schedule).
        demand, prices: daily series to plan on (default: the config's), e.g. a forecast.
        solver: ``"highs"`` (default), ``"scip"`` or another MILP Pyomo solver.
        time_limit: seconds.
        mip_gap: relative optimality gap at which the solver stops.
        overrides: config fields.
    """
    cfg = load_config(SchedMaintConfig, config, overrides)
    band = cfg.demand_dead_band if band is None else band
    model = build_model(cfg, state, horizon, band, schedule, demand, prices)
    try:
        result = run(model, model.cost, solver, DEFAULT_SOLVER, time_limit, mip_gap)
    except RuntimeError:
        if demand is None:  # the case study is always feasible: a real error
            raise
        # A drawn demand no plan meets exactly: the gap priced, the plan as close as can be.
        model = build_model(cfg, state, horizon, band, schedule, demand, prices, shortfall=True)
        result = run(model, model.cost, solver, DEFAULT_SOLVER, time_limit, mip_gap)
    days = list(model.T)
    maint = np.array([[round(pyo.value(model.maint[i, t])) for i in model.C] for t in days])
    production = np.where(maint > 0, 0.0, var_array(model.q, model.C, days).T)
    plan = plan_from_arrays(
        len(days),
        maintain=maint.astype(float),
        production=production,
        purchase=var_array(model.u, days),
    )
    return Solution(
        objective=result.objective,
        status=result.status,
        solve_time=result.solve_time,
        bound=result.bound,
        plan=plan,
        details={
            "solver": result.solver,
            "gap": result.gap,
            "maintenance_days": maint.sum(axis=0).astype(int).tolist(),
        },
    )


class EpisodeOptimumPolicy:
    """Solves the full horizon from each episode's initial state (``info["state"]``, with
    the MTTF drawn in v1: a perfect-information bound) and replays that plan."""

    def __init__(self, config: SchedMaintConfig):
        self.config = config
        self._plan: PlanPolicy | None = None
        self._env: Any = None

    def reset(self, env: Any) -> None:
        self._env, self._plan = env, None

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        if self._plan is None:
            self._plan = PlanPolicy(solve(self.config, state=info["state"]).plan)
            self._plan.reset(self._env)
        return self._plan.act(obs, info)


def plan(
    config: SchedMaintConfig,
    state: dict[str, Any] | None,
    series: Mapping[str, np.ndarray],
    window: int | None,
) -> Solution:
    """The planner of :func:`stagewise.core.uncertainty.forecast_policies`: the environment's
    own problem (its dead band, any maintenance restarts the clock) from ``state`` over
    ``window`` days on ``series["demand"]`` and ``series["price"]``."""
    if state is None:  # the episode's own initial state (v1: its drawn MTTF)
        raise ValueError("SchedMaint plans from info['state']")
    return solve(
        config, state=state, horizon=window, demand=series["demand"], prices=series["price"]
    )


forecast_mpc_policy, _clairvoyant_policy = forecast_policies(plan)


class ClairvoyantPolicy:
    """Perfect information: at the first step, the environment's problem solved from the
    episode's initial state (``info["state"]``: v1's drawn MTTF) on its realised demand and
    prices, replayed."""

    def __init__(self) -> None:
        self._env: Any = None
        self._plan: PlanPolicy | None = None

    def reset(self, env: Any) -> None:
        self._env, self._plan = env, None

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        if self._plan is None:
            realised = scenario(self._env)
            self._plan = PlanPolicy(
                plan(self._env.unwrapped.config, info["state"], realised, None).plan
            )
            self._plan.reset(self._env)
        return self._plan.act(obs, info)


def clairvoyant_policy(env: Any) -> ClairvoyantPolicy:
    """The perfect-information bound of ``uncertainty="forecast"`` (common random numbers)."""
    return ClairvoyantPolicy()


def optimal_policy(env: Any) -> PlanPolicy | EpisodeOptimumPolicy | ClairvoyantPolicy:
    """The full-horizon optimum replayed open loop (v1: re-solved for each episode's MTTF;
    ``uncertainty="forecast"``: on each episode's realised series)."""
    cfg: SchedMaintConfig = env.unwrapped.config
    if cfg.stochastic:
        return clairvoyant_policy(env)
    if cfg.variant == "v1":
        return EpisodeOptimumPolicy(cfg)
    return PlanPolicy(solve(cfg).plan)


def mpc_policy(env: Any, window: int | None = None, schedule: Schedule = "published") -> MPCPolicy:
    """Daily re-planning over ``window`` days (default: the config's ``window_days``, 30)
    from the current state, applying the first day: the published rolling horizon (supply
    meets demand exactly), with its time-based maintenance ``schedule`` by default (reward
    -1221.85 on the case study)."""
    cfg: SchedMaintConfig = env.unwrapped.config
    days = cfg.window_days if window is None else window
    if cfg.stochastic:  # the same procedure on the forecast mean
        return MPCPolicy(
            lambda state: solve(
                cfg,
                state=state,
                horizon=days,
                band=0.0,
                schedule=schedule,
                demand=state["demand_forecast"],
                prices=state["price_forecast"],
            )
        )
    return MPCPolicy(
        lambda state: solve(cfg, state=state, horizon=days, band=0.0, schedule=schedule)
    )


def mpc_reset_policy(env: Any, window: int | None = None) -> MPCPolicy:
    """Daily re-planning as :func:`mpc_policy` with the environment's own rule (any
    maintenance restarts the MTTF clock): a better plan than the published procedure."""
    return mpc_policy(env, window, schedule="reset")

"""Full-space grid-storage model (LP; HiGHS by default) of the environment's problem.

Sets ``N`` (buses; the first is the angle reference), ``G`` (generators), ``L``
(energised lines), hours ``t`` of the window ``start .. start + H - 1``.
Variables: ``p_gt`` (MW), ``c_nt``, ``pd_nt`` (p.u./h), ``l_nt`` (shed, MW),
``theta_nt`` (rad), ``s_nt`` (slack, MW), ``E_nt`` (p.u., end of hour t).
Minimize

    sum_t [ sum_g sum_j C_gj p_gt^(j + shift) + K_slack sum_n s_nt + K_ls sum_n l_nt ]

(shift 0 as published, so degree 1 is a constant; 1 with ``cost_polynomial="shifted"``)
subject to the zero-cost region of the environment:

- SOC (A.7.4 step 2): ``E_nt = gamma E_n,t-1 + eta c_nt - pd_nt / eta`` in ``[E_min, E_max]``;
- shedding: ``0 <= l_nt <= d_nt``; slack ``0 <= s_nt <= smax``;
- energised line ``(i, j)``: angle difference in its bounds, ``|B_ij (theta_i - theta_j)|
  <= f_max``; de-energised lines carry nothing;
- balance (steps 5-6): ``sum_{g at n} p_gt + s_nt + l_nt + pd_nt - c_nt + inflow_nt
  - outflow_nt = d_nt``.

The window starts from any environment state (``E`` and ``t``), so the same
builder gives the full-horizon optimum and re-planning from a later hour.
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
from stagewise.problems.grid_storage.config import GridStorageConfig
from stagewise.problems.grid_storage.env import GridData


def build_model(
    config: GridStorageConfig,
    state: dict[str, Any] | None = None,
    horizon: int | None = None,
    demand: np.ndarray | None = None,
) -> pyo.ConcreteModel:
    """The Pyomo model of ``config`` from ``state`` (default: the initial state) over
    ``horizon`` hours (default: to the end of the episode) on ``demand`` ``[T, N]`` (MW;
    default: the config's)."""
    g = GridData(config)
    c = config
    start = int(state["t"]) if state is not None else 0
    energy0 = np.asarray(state["E"], dtype=float) if state is not None else g.e_0
    hours = g.T - start if horizon is None else min(int(horizon), g.T - start)
    if hours < 1:
        raise ValueError(f"no hours left to plan from hour {start} of {g.T}")
    m = pyo.ConcreteModel(name="grid_storage")
    m.N = pyo.RangeSet(0, g.n_bus - 1)
    m.G = pyo.RangeSet(0, g.n_gen - 1)
    m.L = pyo.Set(initialize=[k for k in range(g.n_line) if g.energised[k]], ordered=True)
    m.T = pyo.RangeSet(start, start + hours - 1)
    demand = g.demand if demand is None else np.asarray(demand, dtype=float)
    m.p = pyo.Var(m.G, m.T, bounds=lambda _, i, t: (g.p_min[i], g.p_max[i]))
    m.c = pyo.Var(m.N, m.T, bounds=lambda _, n, t: (g.c_min[n], g.c_max[n]))
    m.pd = pyo.Var(m.N, m.T, bounds=lambda _, n, t: (g.d_min[n], g.d_max[n]))
    m.shed = pyo.Var(m.N, m.T, bounds=lambda _, n, t: (0.0, min(c.dmax_global, demand[t, n])))
    m.theta = pyo.Var(
        m.N, m.T, bounds=lambda _, n, t: (0.0, 0.0) if n == 0 else (-c.ThetaMax, c.ThetaMax)
    )
    m.s = pyo.Var(m.N, m.T, bounds=(0.0, c.smax))
    m.E = pyo.Var(m.N, m.T, bounds=lambda _, n, t: (g.e_min[n], g.e_max[n]))

    def energy_before(n: int, t: int) -> Any:
        return m.E[n, t - 1] if t > start else float(energy0[n])

    m.soc = pyo.Constraint(
        m.N,
        m.T,
        rule=lambda _, n, t: (
            m.E[n, t] == g.gamma * energy_before(n, t) + g.eta * m.c[n, t] - m.pd[n, t] / g.eta
        ),
    )

    def diff(k: int, t: int) -> Any:
        return sum(g.incidence[k, n] * m.theta[n, t] for n in m.N if g.incidence[k, n] != 0)

    m.angle = pyo.Constraint(
        m.L, m.T, rule=lambda _, k, t: (g.angle_low[k], diff(k, t), g.angle_up[k])
    )
    m.flow_limit = pyo.Constraint(
        m.L,
        m.T,
        rule=lambda _, k, t: (-g.f_max[k], g.susceptance[k] * diff(k, t), g.f_max[k]),
    )

    def balance(_: Any, n: int, t: int) -> Any:
        generation = sum(m.p[i, t] for i in m.G if g.gen_at_bus[i, n])
        inflow = sum(-g.incidence[k, n] * g.susceptance[k] * diff(k, t) for k in m.L)
        return (
            generation + m.s[n, t] + m.shed[n, t] + m.pd[n, t] - m.c[n, t] + inflow == demand[t, n]
        )

    m.balance = pyo.Constraint(m.N, m.T, rule=balance)
    generation_cost = sum(
        g.cost[i, j] * (m.p[i, t] ** int(g.powers[j]) if g.powers[j] else 1.0)
        for i in m.G
        for j in range(g.cost.shape[1])
        for t in m.T
        if g.cost[i, j] != 0
    )
    m.cost = pyo.Objective(
        expr=generation_cost
        + sum(c.Kslack * m.s[n, t] + c.Kls * m.shed[n, t] for n in m.N for t in m.T),
        sense=pyo.minimize,
    )
    return m


def default_solver(config: GridStorageConfig) -> str:
    """HiGHS when the generation cost is at most linear in ``p``, else SCIP."""
    top = config.PolynomialDegree - (0 if config.cost_polynomial == "shifted" else 1)
    return "highs" if top <= 1 else "scip"


def solve(
    config: Any = None,
    *,
    state: dict[str, Any] | None = None,
    horizon: int | None = None,
    demand: np.ndarray | None = None,
    solver: str | None = None,
    time_limit: float | None = None,
    **overrides: Any,
) -> Solution:
    """Optimal dispatch (objective = episode reward from ``state``).

    Args:
        config: path, dict or :class:`GridStorageConfig` (``None``: ``battery_config.json``).
        state: environment state (``info["state"]``) to plan from; ``None``: the initial one.
        horizon: hours to plan (default: to the end of the episode).
        demand: ``[T, N]`` demand (MW) to plan on (default: the config's).
        solver: ``"highs"`` (default for a linear cost), ``"scip"`` or another Pyomo solver.
        time_limit: seconds.
        overrides: config fields, e.g. ``cost_polynomial="shifted"``.
    """
    cfg = load_config(GridStorageConfig, config, overrides)
    model = build_model(cfg, state, horizon, demand)
    result = run(model, model.cost, solver, default_solver(cfg), time_limit)
    hours = list(model.T)
    arrays = {
        "p": var_array(model.p, model.G, hours).T,
        "charge": var_array(model.c, model.N, hours).T,
        "discharge": var_array(model.pd, model.N, hours).T,
        "shed": var_array(model.shed, model.N, hours).T,
    }
    if len(model.N) > 1:
        arrays["theta"] = var_array(model.theta, model.N, hours).T[:, 1:]
    slack = var_array(model.s, model.N, hours)
    shed = arrays["shed"]
    return Solution(
        objective=result.objective,
        status=result.status,
        solve_time=result.solve_time,
        bound=result.bound,
        plan=plan_from_arrays(len(hours), **arrays),
        details={
            "solver": result.solver,
            "gap": result.gap,
            "slack_MWh": float(slack.sum()),
            "shed_MWh": float(shed.sum()),
            "cost_polynomial": cfg.cost_polynomial,
        },
    )


def plan(
    config: GridStorageConfig,
    state: dict[str, Any] | None,
    series: Mapping[str, np.ndarray],
    window: int | None,
) -> Solution:
    """The planner of :func:`stagewise.core.uncertainty.forecast_policies`: the model from
    ``state`` over ``window`` hours on ``series["load"]`` (``[T, N]`` MW)."""
    return solve(config, state=state, horizon=window, demand=series["load"])


mpc_policy, clairvoyant_policy = forecast_policies(plan)


def optimal_policy(env: Any) -> PlanPolicy | ClairvoyantPolicy:
    """Solve the environment's configuration and replay the optimal plan (with
    ``uncertainty="forecast"``: the plan on the episode's realised demand)."""
    if env.unwrapped.config.stochastic:
        return clairvoyant_policy(env)
    return PlanPolicy(solve(env.unwrapped.config).plan)

"""Generation and transmission expansion planning (SafeOR-Gym GTEPEnv, A.4), batched."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from stagewise.core.bounded import l0_l2_penalty, truncate_at_capacity
from stagewise.core.env import ConstrainedEnv, Dynamics, State, Transition, as_operand
from stagewise.core.forecast import WindowTable, window_batched
from stagewise.core.spaces import ActionCodec, Decision, DecisionField
from stagewise.problems.gtep.config import GTEPConfig

# Unmet demand below this many MW is float32/solver noise, not a violation.
DEMAND_TOL = 1e-5
ZERO, ONE = as_operand(0.0), as_operand(1.0)


class GTEPDynamics(Dynamics):
    """Batched transition of A.4.5 with the costs of A.4.6 and the rewards of A.4.7.

    State (physical): periods done ``t`` (the next decision is for period
    ``t + 1``), installed units ``n`` ``[I, R]`` and built lines ``built`` ``[L]``.
    """

    cost_families = ("generator_bound", "demand_balance")
    reward_term_names = ("generators", "lines")

    def __init__(self, config: GTEPConfig):
        c = self.config = config
        self.horizon = c.T
        self.types, self.regions, self.lines = c.types, c.regions, c.lines
        shape = (len(self.types), len(self.regions))
        self.max_units = np.array(
            [[c.maxgen[i][r] for r in self.regions] for i in self.types], dtype=float
        )
        self.unit_capacity = np.array([c.gencap[i] for i in self.types])
        self.unit_cost = np.array([c.installcost.generators[i] for i in self.types])
        self.line_capacity = np.array([c.tlcap[line] for line in self.lines])
        self.line_cost = np.array([c.installcost.transmission[line] for line in self.lines])
        # incidence[l, r]: +1 where line l delivers into r, -1 where it draws from r.
        self.incidence = np.zeros((len(self.lines), len(self.regions)))
        for k, line in enumerate(self.lines):
            frm, to = c.line_ends(line)
            self.incidence[k, frm], self.incidence[k, to] = -1.0, 1.0
        self.demand = np.array(
            [[c.demand[r][str(t)] for r in self.regions] for t in range(1, c.T + 1)]
        )
        fields = [DecisionField("add", shape, 0.0, self.max_units, "integer")]
        if self.lines:
            fields.append(
                DecisionField("flow", (len(self.lines),), -self.line_capacity, self.line_capacity)
            )
        self.codec = ActionCodec(fields, modes=("box",))
        # uncertainty="forecast": each episode's demand drawn around the published one.
        self.errors = c.error_model() if c.stochastic else None
        self.units_scale = np.where(self.max_units > 0, self.max_units, 1.0).ravel()
        self.demand_scale = max(float(self.demand.max(initial=0.0)), 1e-9)
        if self.errors is not None:  # room for draws up to 3 stationary standard deviations
            self.demand_scale *= float(np.exp(3.0 * np.sqrt(self.errors.variance(10**6))))
        size = self.max_units.size + len(self.lines) + len(self.regions) * c.forecast_window + 1
        self.observation_space = spaces.Box(0.0, 1.0, shape=(size,), dtype=np.float32)
        self.demand_table = WindowTable(self.demand, c.forecast_window, pad="zero")
        # The observation's tail of every period, computed once: the forecast (region-major,
        # scaled) and t / T. Rows stop at t = T, where t / T = 1 is also what the clip into
        # [0, 1] makes of any later t, so the lookup gives the same numbers for every t.
        self.observed_tail = WindowTable(
            self.demand, c.forecast_window, pad="zero", transform=self._observed_tail
        )
        # Constants as fast-path operands (see as_operand), broadcast to the state's shape.
        self.k = SimpleNamespace(
            max_units=as_operand(self.max_units),
            unit_capacity=as_operand(np.broadcast_to(self.unit_capacity[:, None], shape)),
            unit_cost=as_operand(np.broadcast_to(self.unit_cost[:, None], shape)),
            line_cost=as_operand(self.line_cost),
            flow_epsilon=as_operand(c.flow_epsilon),
            penalty_fixed=as_operand(c.penalty_fixed),
            penalty_quadratic=as_operand(c.penalty_quadratic),
            tol=as_operand(DEMAND_TOL),
            units_scale=as_operand(self.units_scale),
            horizon=np.asarray(self.horizon, np.int64),
            one_period=np.ones((), np.int64),
        )

    def initial_state(self, rng: np.random.Generator, n: int) -> State:
        state = {
            "t": np.zeros(n, dtype=np.int64),
            "n": np.zeros((n, *self.max_units.shape)),
            "built": np.zeros((n, len(self.lines))),
        }
        if self.errors is not None:
            state["log_error"] = self.errors.draw(rng, n, self.horizon, (len(self.regions),))
            state["demand"] = self.errors.realise(self.demand, state["log_error"])
        return state

    def scenario(self, state: State) -> dict[str, np.ndarray]:
        """The realised demand ``{"load": [n, T, R]}`` of each copy's episode (oracle use)."""
        return {"load": state["demand"]}

    def load_forecast(self, state: State) -> np.ndarray:
        """``uncertainty="forecast"``: ``[n, T, R]`` demand known after ``t`` periods:
        realised before, the forecast mean from the period being decided on."""
        assert self.errors is not None
        return self.errors.forecast(self.demand, state["log_error"], state["t"])

    def transition(self, state: State, decision: Decision, rng: np.random.Generator) -> Transition:
        k = self.k
        installed = state["n"]
        # A.4.5 generator bound repair: an addition beyond M_ir is cut to M_ir - n_ir.
        add, overshoot = truncate_at_capacity(decision["add"], installed, k.max_units)
        units = installed + add
        supply = np.add.reduce(units * k.unit_capacity, axis=1)
        terms = {"generators": -np.add.reduce(add * k.unit_cost, axis=(1, 2))}
        built = state["built"]
        if self.lines:
            flow = decision["flow"]
            flow = np.where(np.abs(flow) <= k.flow_epsilon, ZERO, flow)
            # A line is installed, and paid for, the first time it carries a flow: with 0/1
            # entries, max(built, carries) - built marks exactly the lines built now.
            built_before, built = built, np.maximum(built, flow != ZERO)
            terms["lines"] = -np.add.reduce((built - built_before) * k.line_cost, axis=1)
            supply = supply + flow @ self.incidence
        else:
            terms["lines"] = np.zeros(add.shape[0])
        period = state["t"]
        if "demand" in state:
            demand_now = state["demand"][np.arange(period.shape[0]), period]
        else:
            demand_now = self.demand[period]
        unmet = np.maximum(demand_now - supply, ZERO)
        costs = {
            "generator_bound": np.add.reduce(
                l0_l2_penalty(overshoot, k.penalty_fixed, k.penalty_quadratic, k.tol), axis=(1, 2)
            ),
            "demand_balance": np.add.reduce(
                l0_l2_penalty(unmet, k.penalty_fixed, k.penalty_quadratic, k.tol), axis=1
            ),
        }
        next_state = {"t": period + k.one_period, "n": units, "built": built}
        if "demand" in state:
            next_state["demand"], next_state["log_error"] = state["demand"], state["log_error"]
        return Transition(
            state=next_state,
            reward=terms["generators"] + terms["lines"],
            costs=costs,
            reward_terms=terms,
            terminated=next_state["t"] >= k.horizon,
        )

    def demand_window(self, state: State) -> np.ndarray:
        """Demand ``[n, k, R]`` (MW) of the next ``k`` periods, zero beyond the horizon
        (with ``uncertainty="forecast"``: the forecast mean)."""
        if self.errors is None:
            return self.demand_table(state["t"])
        return window_batched(self.load_forecast(state), state["t"], self.config.forecast_window)

    def _observed_tail(self, windows: np.ndarray) -> np.ndarray:
        """Scaled forecast windows ``[rows, k, R]`` of periods ``t = 0, 1, ...`` followed by
        ``t / T``, as observation entries ``[rows, R k + 1]``."""
        rows = len(windows)
        forecast = windows.transpose(0, 2, 1).reshape(rows, -1) / self.demand_scale
        return np.concatenate([forecast, (np.arange(rows) / self.horizon)[:, None]], axis=1)

    def observe(self, state: State) -> np.ndarray:
        n = state["t"].shape[0]
        obs = np.concatenate(
            [
                state["n"].reshape(n, -1) / self.k.units_scale,
                state["built"],
                self.observed_tail(state["t"])
                if self.errors is None
                else self._forecast_tail(state),
            ],
            axis=1,
        )
        # np.clip(obs, 0, 1) to the bit (signed zeros too), without its Python-level overhead.
        return np.minimum(ONE, np.maximum(ZERO, obs)).astype(np.float32)

    def _forecast_tail(self, state: State) -> np.ndarray:
        """The observation's tail with ``uncertainty="forecast"``: scaled forecast, ``t / T``."""
        n = state["t"].shape[0]
        forecast = self.demand_window(state).transpose(0, 2, 1).reshape(n, -1)
        return np.concatenate(
            [forecast / self.demand_scale, (state["t"] / self.horizon)[:, None]], axis=1
        )

    def physical_state(self, state: State) -> State:
        if self.errors is None:
            return {**state, "demand_forecast": self.demand_window(state)}
        public = {k: v for k, v in state.items() if k not in ("demand", "log_error")}
        return {
            **public,
            "demand_forecast": self.demand_window(state),
            "load_forecast": self.load_forecast(state),
        }


class GTEPEnv(ConstrainedEnv):
    """Multi-period generation and transmission expansion (SafeOR-Gym GTEPEnv, A.4).

    **Decision** for the next period: units to add ``add`` ``[I, R]`` (integer,
    ``0..M_ir``; normalized, mapped affinely and rounded half-to-even) and,
    with lines, the directed flows ``flow`` ``[L]`` in ``[-cap_l, cap_l]``
    (MW; positive from ``ra`` to ``rb`` of line ``"ra_rb"``). ``box`` mode only.

    **Dynamics** (A.4.5): an addition beyond ``M_ir - n_ir`` is cut to it;
    flows with ``|P| <= flow_epsilon`` are 0; a line is built the first time
    it carries a flow, and stays built.

    **Costs** (A.4.6, per step; L0+L2 penalty ``lambda_0 + lambda_2 x^2`` per
    violation): ``generator_bound`` (units asked beyond ``M_ir``),
    ``demand_balance`` (regional demand above installed capacity plus net
    import), and ``action_range``.

    **Reward** (A.4.7): minus the installation cost of the added units and of
    the lines built this period.

    **Observation** (float32 in [0, 1]): ``n_ir / M_ir``, built lines (with
    lines), the demand of the next ``forecast_window`` periods per region
    (region-major, divided by the peak demand, 0 beyond the horizon) and ``t / T``.

    **Episode**: ``T`` periods from nothing installed.

    **Stochastic variant** (``uncertainty="forecast"``): each episode's demand is the
    published demand times AR(1) log-space errors per region (``error_sigma``,
    ``error_phi``; :mod:`stagewise.core.uncertainty`). The period being decided is known
    only through its forecast (lead 1); the observed window and
    ``info["state"]["demand_forecast"]`` hold the forecast mean,
    ``info["state"]["load_forecast"]`` all ``[T, R]`` periods.
    """

    problem_id: ClassVar[str] = "GTEP"
    slug: ClassVar[str] = "gtep"
    summary: ClassVar[str] = (
        "Generation and transmission expansion planning over regions and periods (SafeOR-Gym A.4)"
    )
    config_model = GTEPConfig

    @classmethod
    def build_dynamics(cls, config: Any) -> GTEPDynamics:
        return GTEPDynamics(config)

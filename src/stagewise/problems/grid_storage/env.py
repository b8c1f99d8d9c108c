"""Grid-integrated energy storage (SafeOR-Gym GridStorageEnv, A.7), batched."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from stagewise.core.bounded import DEFAULT_TOL
from stagewise.core.env import ConstrainedEnv, Dynamics, State, Transition, as_operand
from stagewise.core.forecast import WindowTable, window_batched
from stagewise.core.spaces import ActionCodec, Decision, DecisionField
from stagewise.problems.grid_storage.config import GridStorageConfig

TOL = as_operand(DEFAULT_TOL)


class GridData:
    """The config as arrays: buses ``N`` (the first is the angle reference), generators
    ``G``, lines ``L`` in config order, hours ``T``."""

    def __init__(self, c: GridStorageConfig):
        buses, gens = c.bus_keys, [str(g) for g in c.Generators]
        self.n_bus, self.n_gen, self.n_line = len(buses), len(gens), len(c.TransmissionLines)
        self.T = c.time_periods
        self.demand = np.array(
            [[c.PowerDemandAtBus[b][str(t)] for b in buses] for t in range(1, self.T + 1)]
        )
        self.p_min = np.array([c.GeneratorLowerLimit[g] for g in gens])
        self.p_max = np.array([c.GeneratorUpperLimit[g] for g in gens])
        # gen_at_bus[g, n] = 1 where generator g feeds bus n.
        self.gen_at_bus = np.zeros((self.n_gen, self.n_bus))
        for bus, gen in c.BusGeneratorLink.items():
            self.gen_at_bus[c.Generators.index(gen), buses.index(bus)] = 1.0
        per_bus = {
            name: np.array([getattr(c, name)[b] for b in buses])
            for name in (
                "BatteryUpLimit",
                "BatteryLowLimit",
                "BatteryInitialCharge",
                "LowerBatteryChargeRate",
                "UpperBatteryChargeRate",
                "LowerBatteryDischargeRate",
                "UpperBatteryDischargeRate",
            )
        }
        self.e_max, self.e_min = per_bus["BatteryUpLimit"], per_bus["BatteryLowLimit"]
        self.e_0 = per_bus["BatteryInitialCharge"]
        self.c_min, self.c_max = (
            per_bus["LowerBatteryChargeRate"],
            per_bus["UpperBatteryChargeRate"],
        )
        self.d_min = per_bus["LowerBatteryDischargeRate"]
        self.d_max = per_bus["UpperBatteryDischargeRate"]
        # incidence[l, n] = +1 at the line's first bus i, -1 at its second bus j: the angle
        # difference theta_i - theta_j is incidence @ theta, and a positive flow goes i -> j.
        self.incidence = np.zeros((self.n_line, self.n_bus))
        for k, (i, j) in enumerate(c.TransmissionLines):
            self.incidence[k, c.Buses.index(i)], self.incidence[k, c.Buses.index(j)] = 1.0, -1.0
        self.energised = np.array(
            [
                tuple(line) not in {tuple(x) for x in c.DeEnergizedLines}
                for line in c.TransmissionLines
            ],
            dtype=float,
        )
        self.susceptance = np.array(c.line_value("LineSusceptance"))
        self.f_max = np.array(c.line_value("LinePowerFlowLimit"))
        self.angle_up = np.array(c.line_value("LineUpperVoltageAngle"))
        self.angle_low = np.array(c.line_value("LineLowerVoltageAngle"))
        self.cost = np.array(c.cost_coefficients())  # [G, degree]
        shift = 1 if c.cost_polynomial == "shifted" else 0
        self.powers = np.arange(c.PolynomialDegree) + shift
        # The p^0 terms are one constant per hour; the others (power, C_g.) are evaluated.
        self.constant_cost = float(self.cost[:, self.powers == 0].sum())
        self.variable_cost = [
            (int(power), self.cost[:, j].copy())
            for j, power in enumerate(self.powers)
            if power > 0 and np.any(self.cost[:, j])
        ]
        self.eta, self.gamma = c.ChargeEfficiency, c.CarryOverRate

    def generation_cost(self, p: np.ndarray) -> np.ndarray:
        """``sum_g sum_j C_gj p_g^(j + shift)`` of outputs ``p`` ``[n, G]`` (``[n]``)."""
        total = np.full(p.shape[0], self.constant_cost)
        for power, coefficients in self.variable_cost:
            total = total + (p if power == 1 else p**power) @ coefficients
        return total


class GridStorageDynamics(Dynamics):
    """Batched transition of A.7.4 with the costs and rewards of A.7.5.

    State (physical): hours done ``t`` (the next decision is for hour ``t + 1``),
    battery energy ``E`` ``[N]`` (p.u.), and the last hour's angles ``theta`` of buses
    2..N, line angle differences ``angle_diff`` and flows ``flow`` ``[L]`` and slack
    generation ``slack`` ``[N]``.
    """

    cost_families = ("soc", "shed", "angle", "flow_ratio", "slack", "balance")
    reward_term_names = ("generation", "slack", "shed")

    def __init__(self, config: GridStorageConfig):
        c = self.config = config
        g = self.data = GridData(c)
        self.horizon = g.T
        fields = [
            DecisionField("p", (g.n_gen,), g.p_min, g.p_max),
            DecisionField("charge", (g.n_bus,), g.c_min, g.c_max),
            DecisionField("discharge", (g.n_bus,), g.d_min, g.d_max),
            DecisionField("shed", (g.n_bus,), 0.0, c.dmax_global),
        ]
        if g.n_bus > 1:
            fields.append(DecisionField("theta", (g.n_bus - 1,), -c.ThetaMax, c.ThetaMax))
        self.codec = ActionCodec(fields, modes=("box",))
        self.angle_span = np.where(g.angle_up > g.angle_low, g.angle_up - g.angle_low, 1.0)
        self.angle_mid = g.angle_up + g.angle_low
        self.slack_scale = c.smax if c.smax > 0 else 1.0
        self.demand_scale = max(float(g.demand.max(initial=0.0)), 1e-9)
        # uncertainty="forecast": each episode's demand drawn around the published one.
        self.errors = c.error_model() if c.stochastic else None
        if self.errors is not None:  # room for draws up to 3 stationary standard deviations
            self.demand_scale *= float(np.exp(3.0 * np.sqrt(self.errors.variance(10**6))))
        self.observed_tail = WindowTable(
            g.demand, c.DemandForecastHorizon, pad="zero", transform=self._observed_tail
        )
        self.observation_space = self._observation_space()
        self.k = SimpleNamespace(
            # Sums over buses and lines as products with ones (faster than a reduction).
            ones_bus=np.ones(g.n_bus),
            ones_line=np.ones(g.n_line),
            gamma=as_operand(g.gamma),
            eta=as_operand(g.eta),
            inv_eta=as_operand(1.0 / g.eta),
            e_min=as_operand(g.e_min),
            e_max=as_operand(g.e_max),
            inv_e_max=as_operand(1.0 / g.e_max),
            gen_at_bus=g.gen_at_bus,
            incidence=g.incidence,
            incidence_free_t=np.ascontiguousarray(g.incidence[:, 1:].T),
            flow_gain=as_operand(g.susceptance * g.energised),
            inv_f_max=as_operand(1.0 / g.f_max),
            one_f=as_operand(1.0),
            angle_up=as_operand(np.where(g.energised > 0, g.angle_up, np.inf)),
            angle_low=as_operand(np.where(g.energised > 0, g.angle_low, -np.inf)),
            angle_gain=as_operand(2.0 / self.angle_span),
            angle_offset=as_operand(self.angle_mid / self.angle_span),
            smax=as_operand(c.smax),
            inv_smax=as_operand(1.0 / self.slack_scale),
            last_hour=np.asarray(self.horizon - 1, np.int64),
            horizon=np.asarray(self.horizon, np.int64),
            one=np.ones((), np.int64),
        )

    def _observation_space(self) -> spaces.Box:
        g, c = self.data, self.config
        # Largest |theta_i - theta_j|: one end is the reference bus (0) or both are free.
        touches_ref = np.abs(g.incidence[:, 0]) > 0
        reach = np.where(touches_ref, c.ThetaMax, 2 * c.ThetaMax)
        angle_bound = (2 * reach + np.abs(self.angle_mid)) / self.angle_span
        # At least the nominal [-1, 1] (a de-energised line's ratio is always 0).
        flow_bound = np.maximum(np.abs(g.susceptance) * g.energised * reach / g.f_max, 1.0)
        n_window = g.n_bus * c.DemandForecastHorizon
        low = np.concatenate(
            [np.zeros(g.n_bus), -angle_bound, -flow_bound, np.zeros(g.n_bus + n_window + 1)]
        )
        high = np.concatenate(
            [np.ones(g.n_bus), angle_bound, flow_bound, np.ones(g.n_bus + n_window + 1)]
        )
        return spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)

    def initial_state(self, rng: np.random.Generator, n: int) -> State:
        g = self.data
        state = {
            "t": np.zeros(n, dtype=np.int64),
            "E": np.tile(g.e_0, (n, 1)),
            "theta": np.zeros((n, g.n_bus - 1)),
            "angle_diff": np.zeros((n, g.n_line)),
            "flow": np.zeros((n, g.n_line)),
            "slack": np.zeros((n, g.n_bus)),
        }
        if self.errors is not None:
            state["log_error"] = self.errors.draw(rng, n, self.horizon, (g.n_bus,))
            state["demand"] = self.errors.realise(g.demand, state["log_error"])
        return state

    def scenario(self, state: State) -> dict[str, np.ndarray]:
        """The realised demand ``{"load": [n, T, N]}`` of each copy's episode (oracle use)."""
        return {"load": state["demand"]}

    def load_forecast(self, state: State) -> np.ndarray:
        """``uncertainty="forecast"``: ``[n, T, N]`` demand known after ``t`` hours:
        realised before, the forecast mean from the hour being decided on."""
        assert self.errors is not None
        return self.errors.forecast(self.data.demand, state["log_error"], state["t"])

    def transition(self, state: State, decision: Decision, rng: np.random.Generator) -> Transition:
        g, k, c = self.data, self.k, self.config
        p, charge, discharge = decision["p"], decision["charge"], decision["discharge"]
        # A.7.4 step 2: bucket SOC; energy outside [E_min, E_max] is clipped and charged.
        raw = k.gamma * state["E"] + k.eta * charge - discharge * k.inv_eta
        energy = np.minimum(np.maximum(raw, k.e_min), k.e_max)
        # Step 3: shedding beyond the bus's own demand is cut and charged.
        hour = np.minimum(state["t"], k.last_hour)
        if "demand" in state:
            demand = state["demand"][np.arange(hour.shape[0]), hour]
        else:
            demand = g.demand[hour]
        shed = np.minimum(decision["shed"], demand)
        # Step 4: DC flows B_ij (theta_i - theta_j) on energised lines, 0 on the others
        # (theta_1 = 0: the angle differences are the decided angles times the incidence).
        if "theta" in decision:
            theta = decision["theta"]
            diff = theta @ k.incidence_free_t
        else:
            theta, diff = np.zeros((p.shape[0], 0)), np.zeros((p.shape[0], g.n_line))
        flow = diff * k.flow_gain
        # Steps 5-6: slack covers a shortfall up to smax; the balance
        # gen + slack + shed + discharge - charge + inflow - outflow = demand.
        need = demand - shed - p @ k.gen_at_bus + (charge - discharge) + flow @ k.incidence
        short = _beyond(need)
        slack = np.minimum(short, k.smax)
        angle_out = np.abs(diff - np.minimum(np.maximum(diff, k.angle_low), k.angle_up))
        bus, line = k.ones_bus, k.ones_line
        costs = {
            "soc": c.PhiSOC * (_beyond(np.abs(raw - energy)) @ bus),
            "shed": c.PhiShed * (_beyond(decision["shed"] - shed) @ bus),
            "angle": c.PhiTheta * (_beyond(angle_out) @ line),
            "flow_ratio": c.PhiFlowRatio * (_beyond(np.abs(flow) * k.inv_f_max - k.one_f) @ line),
            "slack": c.PhiSlack * ((short - slack) @ bus),
            "balance": c.PhiBalance * (_beyond(-need) @ bus),
        }
        terms = {
            "generation": -g.generation_cost(p),
            "slack": -c.Kslack * (slack @ bus),
            "shed": -c.Kls * (shed @ bus),
        }
        t = state["t"] + k.one
        next_state = {
            "t": t,
            "E": energy,
            "theta": theta,
            "angle_diff": diff,
            "flow": flow,
            "slack": slack,
        }
        if "demand" in state:
            next_state["demand"], next_state["log_error"] = state["demand"], state["log_error"]
        return Transition(
            state=next_state,
            reward=terms["generation"] + terms["slack"] + terms["shed"],
            costs=costs,
            reward_terms=terms,
            terminated=t >= k.horizon,
        )

    def observe(self, state: State) -> np.ndarray:
        k = self.k
        obs = np.concatenate(
            [
                state["E"] * k.inv_e_max,
                state["angle_diff"] * k.angle_gain - k.angle_offset,
                state["flow"] * k.inv_f_max,
                state["slack"] * k.inv_smax,
                self.observed_tail(state["t"])
                if self.errors is None
                else self._forecast_tail(state),
            ],
            axis=1,
        )
        return obs.astype(np.float32)

    def _observed_tail(self, windows: np.ndarray) -> np.ndarray:
        """Scaled demand windows ``[rows, k, N]`` of hours ``t = 0, 1, ...`` (bus-major)
        followed by ``min(t / (T - 1), 1)``."""
        rows = len(windows)
        demand = windows.transpose(0, 2, 1).reshape(rows, -1) / self.demand_scale
        clock = np.minimum(np.arange(rows) / max(self.horizon - 1, 1), 1.0)
        return np.concatenate([demand, clock[:, None]], axis=1)

    def _forecast_tail(self, state: State) -> np.ndarray:
        """The observation's tail with ``uncertainty="forecast"``: the scaled forecast window
        (bus-major, 0 beyond ``T``) and ``min(t / (T - 1), 1)``."""
        n, width = state["t"].shape[0], self.config.DemandForecastHorizon
        ahead = window_batched(self.load_forecast(state), state["t"], width, pad="zero")
        clock = np.minimum(state["t"] / max(self.horizon - 1, 1), 1.0)
        return np.concatenate(
            [ahead.transpose(0, 2, 1).reshape(n, -1) / self.demand_scale, clock[:, None]], axis=1
        )

    def physical_state(self, state: State) -> State:
        hour = np.minimum(state["t"], self.k.last_hour)
        if self.errors is None:
            return {**state, "demand_forecast": self.data.demand[hour]}
        public = {k: v for k, v in state.items() if k not in ("demand", "log_error")}
        forecast = self.load_forecast(state)
        rows = np.arange(hour.shape[0])
        return {**public, "demand_forecast": forecast[rows, hour], "load_forecast": forecast}


def _beyond(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)`` with amounts within the tolerance counted as 0 (float32 actions)."""
    return x * (x > TOL)


class GridStorageEnv(ConstrainedEnv):
    """Hourly dispatch of generators, batteries and load shedding on a DC grid (A.7).

    **Decision** for the next hour: generator outputs ``p`` ``[G]`` (MW, in
    ``[p_min, p_max]``), battery charge ``charge`` and discharge ``discharge``
    ``[N]`` (p.u./h, in their rate bounds), load shed ``shed`` ``[N]`` (MW, in
    ``[0, dmax_global]``) and the angles ``theta`` of buses 2..N (rad, in
    ``[-ThetaMax, ThetaMax]``; bus 1 is the reference at 0). ``box`` mode.

    **Dynamics** (A.7.4): ``E' = gamma E + eta c - pd / eta``; shedding is cut
    at the bus's demand; flows ``B_ij (theta_i - theta_j)`` on energised lines
    (positive from i to j), 0 on de-energised ones; slack generation covers
    each bus's shortfall up to ``smax``.

    **Costs** (per step, magnitudes times the config's phi): ``soc`` (energy
    outside ``[E_min, E_max]``, then clipped), ``shed`` (shedding beyond the
    bus demand), ``angle`` (angle difference of an energised line outside its
    bounds), ``flow_ratio`` (``|f| / f_max`` above 1), ``slack`` (shortfall
    beyond ``smax``), ``balance`` (over-generation), and ``action_range``.

    **Reward** (A.7.5): minus generation cost, ``K_slack`` times slack and ``K_ls``
    times load shed.

    **Observation** (float32, ``2N + 2L + N k + 1``): ``E / E_max``, normalized
    angle differences, ``f / f_max``, ``slack / smax``, the demand of the next
    ``k`` hours per bus (bus-major, over the peak demand, 0 beyond ``T``) and
    ``t / (T - 1)``.

    **Episode**: ``T`` hours from ``E_0``.

    **Stochastic variant** (``uncertainty="forecast"``): each episode's demand is the
    published demand times AR(1) log-space errors per bus (``error_sigma``, ``error_phi``;
    :mod:`stagewise.core.uncertainty`). The hour being decided is known only through its
    forecast (lead 1): the slack covers a shortfall, over-generation is charged; the
    observed window holds the forecast mean, ``info["state"]["load_forecast"]`` all
    ``[T, N]`` hours.
    """

    problem_id: ClassVar[str] = "GridStorage"
    slug: ClassVar[str] = "grid-storage"
    summary: ClassVar[str] = "Grid-integrated energy storage with DC power flow (SafeOR-Gym A.7)"
    config_model = GridStorageConfig

    @classmethod
    def build_dynamics(cls, config: Any) -> GridStorageDynamics:
        return GridStorageDynamics(config)

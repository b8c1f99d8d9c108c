"""Integrated scheduling and maintenance of ASU compressors (SafeOR-Gym SchedMaintEnv, A.8)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from stagewise.core.env import ConstrainedEnv, Dynamics, State, Transition, as_operand
from stagewise.core.forecast import WindowTable, window_batched
from stagewise.core.spaces import ActionCodec, Decision, DecisionField
from stagewise.problems.sched_maint.config import SchedMaintConfig

# A supply-demand gap below this many t is float32/solver noise, not a violation.
DEMAND_TOL = 1e-3
ZERO, ONE = as_operand(0.0), as_operand(1.0)


class SchedMaintDynamics(Dynamics):
    """Batched transition of A.8.4 with the costs and reward of A.8.5.

    State (physical), per compressor ``c``: days done ``t`` (the next decision
    is for day ``t``, 0-based), time since last maintenance ``tslm``, time left
    to complete maintenance ``tlcm``, can-do-maintenance ``cdm`` and this
    episode's ``mttf`` (the nominal one in v0, drawn at reset in v1).
    """

    cost_families = (
        "maintenance_duration",
        "maintenance_failure",
        "early_maintenance",
        "ramping_in_maintenance",
        "demand",
    )
    reward_term_names = ("electricity", "purchase")

    def __init__(self, config: SchedMaintConfig):
        c = self.config = config
        self.horizon = c.episode_days
        comps = c.compressors
        self.n = len(comps)
        self.mttf = np.array([x.mttf for x in comps], dtype=float)
        self.mttr = np.array([x.mttr for x in comps], dtype=float)
        self.mnrd = np.array([x.mntr for x in comps], dtype=float)
        self.initial = {
            "tslm": np.array([x.TSLM for x in comps], dtype=float),
            "tlcm": np.array([x.TLCM for x in comps], dtype=float),
            "cdm": np.array([x.CDM for x in comps], dtype=float),
        }
        self.demand = np.asarray(c.demand, dtype=float)
        self.price = np.asarray(c.electricity_prices, dtype=float)
        self.codec = ActionCodec(
            [
                DecisionField("maintain", (self.n,), 0.0, 1.0, "binary"),
                DecisionField("production", (self.n,), 0.0, c.capacity),
                DecisionField("purchase", (), 0.0, c.q_ext),
            ],
            modes=("box", "hybrid"),
        )
        demand_scale = max(float(self.demand.max(initial=0.0)), 1e-9)
        price_scale = max(float(self.price.max(initial=0.0)), 1e-9)
        # uncertainty="forecast": each episode's demand and prices drawn around the data.
        self.errors = c.error_model() if c.stochastic else None
        self.series = np.stack([self.demand, self.price], axis=1)  # [days, 2]
        self.series_scale = np.array([demand_scale, price_scale])
        if self.errors is not None:  # room for draws up to 3 stationary standard deviations
            self.series_scale *= float(np.exp(3.0 * np.sqrt(self.errors.variance(10**6))))
        series = np.stack([self.demand / demand_scale, self.price / price_scale], axis=1)
        # Rows: the demand window then the price window, both from day t on.
        self.windows = WindowTable(
            series,
            c.window_days,
            pad="edge",
            transform=lambda w: w.transpose(0, 2, 1).reshape(len(w), -1),
        )
        self.observation_space = spaces.Box(
            0.0, 1.0, shape=(2 * c.window_days + 3 * self.n,), dtype=np.float32
        )
        self.k = SimpleNamespace(
            # Sums over the compressor axis as products with ones: a small-axis reduction
            # is the slowest NumPy operation of a batched step.
            ones=np.ones(self.n),
            # per-compressor cost weights as the vectors of those sums (one product each)
            duration_sum=np.full(self.n, c.rho_duration, dtype=float),
            failure_sum=np.full(self.n, c.rho_failure, dtype=float),
            early_sum=np.full(self.n, c.rho_early, dtype=float),
            ramp_sum=np.full(self.n, c.rho_ramp, dtype=float),
            minus_energy_per_t=-np.asarray(c.energy_cost, dtype=float),
            minus_alpha=as_operand(-c.alpha_ext),
            mttr_less_one=as_operand(self.mttr - 1),
            mnrd=as_operand(self.mnrd),
            tlcm_scale=as_operand(np.maximum(self.mttr - 1, 1)),
            tslm_scale=as_operand(2 * self.mttf),
            band=as_operand(c.demand_dead_band + DEMAND_TOL),
            half=as_operand(0.5),
            rho_demand=as_operand(c.rho_demand),
            last_day=np.asarray(len(self.demand) - 1, np.int64),
            horizon=np.asarray(self.horizon, np.int64),
            one_day=np.ones((), np.int64),
        )

    def initial_state(self, rng: np.random.Generator, n: int) -> State:
        state = {key: np.tile(value, (n, 1)) for key, value in self.initial.items()}
        state["t"] = np.zeros(n, dtype=np.int64)
        mttf = np.tile(self.mttf, (n, 1))
        if self.config.variant == "v1":
            drop = rng.integers(0, self.config.mttf_spread + 1, size=mttf.shape)
            mttf = np.maximum(mttf - drop, 1.0)
        state["mttf"] = mttf
        if self.errors is not None:
            state["log_error"] = self.errors.draw(rng, n, len(self.series), (2,))
            state["series"] = self.errors.realise(self.series, state["log_error"])
        return state

    def scenario(self, state: State) -> dict[str, np.ndarray]:
        """The realised ``demand`` and ``price`` ``[n, days]`` of each copy (oracle use)."""
        return {"demand": state["series"][:, :, 0], "price": state["series"][:, :, 1]}

    def forecast(self, state: State) -> np.ndarray:
        """``uncertainty="forecast"``: ``[n, days, 2]`` demand and price known after ``t``
        days: realised before, the forecast mean from the day being decided on."""
        assert self.errors is not None
        return self.errors.forecast(self.series, state["log_error"], state["t"])

    def transition(self, state: State, decision: Decision, rng: np.random.Generator) -> Transition:
        k = self.k
        tslm, tlcm, cdm, mttf = state["tslm"], state["tlcm"], state["cdm"], state["mttf"]
        asked = decision["maintain"] > k.half
        production, purchase = decision["production"], decision["purchase"]
        busy, overdue = tlcm > ZERO, tslm - mttf
        due = overdue >= ZERO
        # A.8.5 costs, on the start-of-day state and the decision as asked. Masks become
        # 0/1 floats before they scale an amount: bool x float costs NumPy a slow cast loop.
        # On masks x > y is x & ~y, one operation instead of two.
        fresh = asked > busy  # asking to start a repair
        duration = _float(busy > asked) * np.exp(tlcm) + _float(fresh & (tslm == ZERO))
        failure = _float(due > asked) * np.maximum(overdue, ONE)
        early = _float(fresh & (cdm == ZERO)) * tslm
        ramp = _float(asked) * production
        # A.8.4 repairs, in order: maintenance forced at MTTF, refused while cdm = 0,
        # forced while a repair is under way; no production on a maintenance day.
        forced = asked | due
        maintain = (forced & (cdm > ZERO)) | busy
        working = _float(~(forced | maintain))
        produced = working * production
        supply = produced.dot(k.ones) + purchase
        if "series" in state:
            day = np.minimum(state["t"], k.last_day)
            today = state["series"][np.arange(day.shape[0]), day]
            demand_now, price_now = today[:, 0], today[:, 1]
        else:
            demand_now, price_now = self._today(state["t"])
        gap = np.abs(demand_now - supply)
        demand_cost = k.rho_demand * (_float(gap > k.band) * gap)
        terms = {
            "electricity": produced.dot(k.minus_energy_per_t) * price_now,
            "purchase": purchase * k.minus_alpha,
        }
        # A repair under way counts down; one starting now has MTTR - 1 days left after
        # today; without maintenance tlcm is 0 (busy forces maintenance).
        maintain_f = _float(maintain)
        next_tlcm = np.where(busy, tlcm - ONE, maintain_f * k.mttr_less_one)
        next_tslm = (ONE - maintain_f) * (tslm + ONE)
        t = state["t"] + k.one_day
        next_state = {
            "t": t,
            "tslm": next_tslm,
            "tlcm": next_tlcm,
            "cdm": _float(next_tslm >= k.mnrd),
            "mttf": mttf,
        }
        if "series" in state:
            next_state["series"], next_state["log_error"] = state["series"], state["log_error"]
        return Transition(
            state=next_state,
            reward=terms["electricity"] + terms["purchase"],
            costs={
                "maintenance_duration": duration.dot(k.duration_sum),
                "maintenance_failure": failure.dot(k.failure_sum),
                "early_maintenance": early.dot(k.early_sum),
                "ramping_in_maintenance": ramp.dot(k.ramp_sum),
                "demand": demand_cost,
            },
            reward_terms=terms,
            terminated=t >= k.horizon,
        )

    def observe(self, state: State) -> np.ndarray:
        k = self.k
        return np.concatenate(
            [
                self.windows(state["t"]) if self.errors is None else self._forecast_windows(state),
                state["tlcm"] / k.tlcm_scale,
                np.minimum(state["tslm"] / k.tslm_scale, ONE),
                state["cdm"],
            ],
            axis=1,
            dtype=np.float32,  # each entry rounded once, as by a cast of the float64 result
        )

    def _forecast_windows(self, state: State) -> np.ndarray:
        """``uncertainty="forecast"``: the scaled demand window then the price window."""
        n = state["t"].shape[0]
        ahead = window_batched(
            self.forecast(state) / self.series_scale, state["t"], self.config.window_days, "edge"
        )
        return np.minimum(ahead.transpose(0, 2, 1).reshape(n, -1), ONE)

    def _today(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Demand and price of day ``t`` ``[n]`` of the data (the last day's past its end).

        ``take`` with ``mode="clip"`` is ``series[min(t, T - 1)]`` for days ``t >= 0`` in
        one operation instead of two.
        """
        return self.demand.take(t, mode="clip"), self.price.take(t, mode="clip")

    def physical_state(self, state: State) -> State:
        if self.errors is None:
            demand_today, price_today = self._today(state["t"])
            return {**state, "demand_today": demand_today, "price_today": price_today}
        day = np.minimum(state["t"], self.k.last_day)
        public = {k: v for k, v in state.items() if k not in ("series", "log_error")}
        forecast = self.forecast(state)
        today = forecast[np.arange(day.shape[0]), day]
        return {
            **public,
            "demand_today": today[:, 0],
            "price_today": today[:, 1],
            "demand_forecast": forecast[:, :, 0],
            "price_forecast": forecast[:, :, 1],
        }


class SchedMaintEnv(ConstrainedEnv):
    """Daily production, maintenance and purchase plan of three ASU compressors (A.8).

    **Decision** for day ``t``: ``maintain`` ``[C]`` (binary; in box mode 1 iff
    the entry is > 0, i.e. the published 0.5 threshold on [0, 1]),
    ``production`` ``[C]`` (t/day in ``[0, Cap_c]``) and ``purchase`` (t/day in
    ``[0, Q_ext]``). Modes ``box`` and ``hybrid``.

    **Dynamics** (A.8.4): maintenance is forced once ``tslm >= MTTF``, refused
    while ``cdm = 0``, and forced while a repair is under way (``tlcm > 0``); a
    maintenance day produces nothing. A repair lasts ``MTTR`` days; ``tslm``
    restarts at 0 on each maintenance day and ``cdm = [tslm >= MNRD]``.

    **Costs** (A.8.5, per step, on the start-of-day state and the decision as
    asked): ``maintenance_duration`` (50 e^tlcm for interrupting a repair, 50
    for maintaining the day after a maintenance day), ``maintenance_failure``
    (100 at MTTF, 100 (tslm - MTTF) past it, without maintenance),
    ``early_maintenance`` (75 tslm for asking while ``cdm = 0``),
    ``ramping_in_maintenance`` (0.1 per t asked on a maintenance day),
    ``demand`` (0.5 per t of the whole gap between demand and supply, production
    plus purchase, when it exceeds 10 t), and ``action_range``.

    **Reward**: minus the electricity cost of what is produced, ``SPEN_c/750``
    times the day's price per t, and ``alpha_ext`` per t purchased.

    **Observation** (float32 in [0, 1], ``2 S + 3 C``): demand and price of
    days ``t .. t + S - 1`` (over their peaks), ``tlcm / (MTTR - 1)``,
    ``tslm / (2 MTTF)`` (capped at 1) and ``cdm``.

    **Episode**: ``episode_days`` days (31).

    **Stochastic variant** (``uncertainty="forecast"``): each episode's demand and
    electricity prices are the data times AR(1) log-space errors (``error_sigma``,
    ``error_phi``; :mod:`stagewise.core.uncertainty`); the day being decided is known only
    through its forecast (lead 1). The observed windows, ``demand_today``/``price_today``
    and ``info["state"]["demand_forecast"]``/``["price_forecast"]`` hold the forecast mean.
    """

    problem_id: ClassVar[str] = "SchedMaint"
    slug: ClassVar[str] = "sched-maint"
    summary: ClassVar[str] = (
        "Integrated production scheduling and compressor maintenance of an ASU (SafeOR-Gym A.8)"
    )
    config_model = SchedMaintConfig

    @classmethod
    def build_dynamics(cls, config: Any) -> SchedMaintDynamics:
        return SchedMaintDynamics(config)


def _float(mask: np.ndarray) -> np.ndarray:
    """A boolean mask as 0/1 floats (cheaper to multiply than the mask itself)."""
    return mask.astype(np.float64)

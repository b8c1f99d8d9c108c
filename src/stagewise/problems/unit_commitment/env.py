"""Unit commitment (SafeOR-Gym UCEnv, Appendix A.3) as a constrained MDP, batched."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from stagewise.core.bounded import clip_with_excess
from stagewise.core.env import ConstrainedEnv, Dynamics, State, Transition, as_operand
from stagewise.core.forecast import WindowTable, window, window_batched
from stagewise.core.spaces import ActionCodec, Decision, DecisionField
from stagewise.problems.unit_commitment.config import UnitCommitmentConfig

# Dispatch below this many MW beyond a ramp limit is numerical noise, not a violation.
POWER_TOL = 1e-4
# Demand draws of model_type="normal" are truncated to [0, loc + DEMAND_SIGMAS * scale].
DEMAND_SIGMAS = 6.0
ZERO, ONE = as_operand(0.0), as_operand(1.0)
# Rows of the per-unit ledger [n, 8, G] whose sums over the units one reduction takes.
LEDGER_ROWS = ("up_time", "down_time", "ramp_up", "ramp_down")
LEDGER_ROWS += ("generation", "startup", "shutdown", "reserve")
UP_TIME, DOWN_TIME, RAMP_UP, RAMP_DOWN, GENERATION, STARTUP, SHUTDOWN, RESERVE = range(8)


class UnitCommitmentDynamics(Dynamics):
    """Batched transition of A.3.5 with the costs of A.3.6 and the rewards of A.3.7.

    State (physical): hour ``t`` (0-based, the hour the next decision serves),
    on/off history ``u_hist`` ``[G, L]`` (most recent first, ``L`` the longest
    ``max(UT, DT) + 1``), output ``p`` ``[G]`` (MW), angles ``theta`` ``[N]``
    (rad), and in ``model_type="normal"`` the episode's demand ``[T, N]`` (MW).
    """

    reward_term_names = ("generation", "startup", "shutdown", "load_shedding", "reserve_shortfall")

    def __init__(self, config: UnitCommitmentConfig):
        c = self.config = config
        self.horizon = c.T
        self.n_gen, self.n_bus, self.n_line = c.n_gen, c.n_bus, c.n_line
        self.cost_families = ("min_up_down", "ramping") + (("line_capacity",) if c.n_line else ())
        f = np.asarray
        self.P_max, self.P_min = f(c.P_max, float), f(c.P_min, float)
        self.a, self.b, self.c = f(c.a, float), f(c.b, float), f(c.c, float)
        self.RU, self.RD, self.SU, self.SD = (f(x, float) for x in (c.RU, c.RD, c.SU, c.SD))
        self.hot_cost, self.C_SD = f(c.hot_cost, float), f(c.C_SD, float)
        self.history_len = np.maximum(c.UT, c.DT) + 1
        length = int(self.history_len.max())
        self._build_move_counts(length)
        self.u_hist0 = np.array([_pad_history(seq, length) for seq in c.u0_seq], dtype=float)
        self.gen_at_bus = np.zeros((self.n_gen, self.n_bus))
        self.gen_at_bus[np.arange(self.n_gen), c.gen_bus] = 1.0
        self.incidence = np.zeros((self.n_line, self.n_bus))  # +1 at the from bus, -1 at the to bus
        for k, (frm, to) in enumerate(c.line_bus):
            self.incidence[k, frm], self.incidence[k, to] = 1.0, -1.0
        self.B, self.F_max, self.F_min = f(c.B, float), f(c.F_max, float), f(c.F_min, float)
        self.demand = f(c.deterministic_demand, float)[: c.T]
        self.loc, self.scale = f(c.loc, float), f(c.scale, float)
        # uncertainty="forecast": each episode's demand drawn around the deterministic one.
        self.errors = c.error_model() if c.stochastic else None
        fields = [
            DecisionField("u", (self.n_gen,), 0.0, 1.0, "binary"),
            DecisionField("p", (self.n_gen,), self.P_min, self.P_max),
        ]
        if self.n_bus > 1:
            fields.append(DecisionField("theta", (self.n_bus - 1,), c.Pi_min[1:], c.Pi_max[1:]))
        self.codec = ActionCodec(fields, modes=("box", "hybrid"))
        self._build_observation(length)
        self._operands()

    def _operands(self) -> None:
        """The constants of :meth:`transition` as fast-path operands (see ``as_operand``)."""
        c, names = self.config, ("P_max", "a", "b", "c", "RU", "RD", "SU", "SD", "hot_cost", "C_SD")
        self.k = SimpleNamespace(**{name: as_operand(getattr(self, name)) for name in names})
        penalties = ("penalty_factor_UT", "penalty_factor_DT", "penalty_factor_RampUp")
        penalties += ("penalty_factor_RampDown",)
        self.k.penalty = as_operand([getattr(c, name) for name in penalties])
        self.k.minus_C_LS, self.k.minus_C_RP = as_operand(-c.C_LS), as_operand(-c.C_RP)
        self.k.R = as_operand(c.R)
        self.k.p_scale = as_operand(self.p_scale)
        self.k.obs_low = self.observation_space.low[None, :]
        self.k.obs_high = self.observation_space.high[None, :]
        self.k.one_hour, self.k.horizon = np.ones((), np.int64), np.asarray(self.horizon, np.int64)

    def _build_move_counts(self, length: int) -> None:
        """Matrices that count each unit's recent start-ups and shut-downs from its history."""
        c, lags = self.config, np.arange(length - 1)
        # A start-up k hours ago still binds the unit on while k < UT - 1 (A.3.5, min up time).
        up_window = lags[None, :] < np.asarray(c.UT)[:, None] - 1
        down_window = lags[None, :] < np.asarray(c.DT)[:, None] - 1
        # history @ pair_change: u_k - u_{k+1} (a start-up k hours ago when +1), then its negative.
        change = np.eye(length, length - 1) - np.eye(length, length - 1, -1)
        self.pair_change = np.concatenate([change, -change], axis=1)
        # [G, 2(L-1), 2]: which of those moves fall in the unit's up / down window.
        self.move_windows = np.zeros((self.n_gen, 2 * (length - 1), 2))
        self.move_windows[:, : length - 1, 0] = up_window
        self.move_windows[:, length - 1 :, 1] = down_window

    def _build_observation(self, length: int) -> None:
        c = self.config
        self.obs_history = np.concatenate(
            [g * length + np.arange(n) for g, n in enumerate(self.history_len)]
        )
        peak = self.loc + DEMAND_SIGMAS * self.scale if c.model_type == "normal" else self.demand
        # Every forecast window of the fixed demand, computed once.
        self.demand_table = (
            WindowTable(self.demand, c.forecast_length, pad="wrap")
            if c.model_type == "deterministic"
            else None
        )
        self.demand_scale = max(float(np.max(peak, initial=0.0)), 1e-9)
        if self.errors is not None:  # the forecast, read per state; room for 3 std of draws
            self.demand_table = None
            self.demand_scale *= float(np.exp(3.0 * np.sqrt(self.errors.variance(10**6))))
        self.p_scale = np.where(self.P_max > 0, self.P_max, 1.0)
        angle = float(np.max(np.abs([*c.Pi_max, *c.Pi_min])))
        self.angle_scale = angle if angle > 0 else 1.0
        n_angles = self.n_bus if self.n_bus > 1 else 0
        sizes = (len(self.obs_history), c.forecast_length * self.n_bus, self.n_gen, n_angles)
        low = np.concatenate([np.zeros(sum(sizes[:3])), -np.ones(n_angles)]).astype(np.float32)
        self.observation_space = spaces.Box(low, np.ones_like(low), dtype=np.float32)
        # The scaled forecast of the fixed demand, per start hour (x / s elementwise, so
        # dividing the table once gives the same numbers as dividing each window).
        self.scaled_demand_table = (
            WindowTable(
                self.demand,
                c.forecast_length,
                pad="wrap",
                transform=lambda w: w.reshape(len(w), -1) / self.demand_scale,
            )
            if self.demand_table is not None
            else None
        )

    # ------------------------------------------------------------------ state
    def initial_state(self, rng: np.random.Generator, n: int) -> State:
        c = self.config
        state = {
            "t": np.zeros(n, dtype=np.int64),
            "u_hist": np.broadcast_to(self.u_hist0, (n, *self.u_hist0.shape)).copy(),
            "p": np.broadcast_to(np.asarray(c.p0, float), (n, self.n_gen)).copy(),
            "theta": np.broadcast_to(np.asarray(c.pi0, float), (n, self.n_bus)).copy(),
        }
        if self.errors is not None:
            state["log_error"] = self.errors.draw(rng, n, c.T, (self.n_bus,))
            state["demand"] = self.errors.realise(self.demand, state["log_error"])
        elif c.model_type == "normal":
            draw = rng.normal(self.loc, self.scale, size=(n, c.T, self.n_bus))
            state["demand"] = np.clip(draw, 0.0, self.loc + DEMAND_SIGMAS * self.scale)
        return state

    def scenario(self, state: State) -> dict[str, np.ndarray]:
        """The realised demand ``{"load": [n, T, N]}`` of each copy's episode (oracle use)."""
        return {"load": state["demand"]}

    def load_forecast(self, state: State) -> np.ndarray:
        """``uncertainty="forecast"``: ``[n, T, N]`` demand known at hour ``t``: realised
        before it, the forecast mean from it on (the hour being decided is forecast too)."""
        assert self.errors is not None
        return self.errors.forecast(self.demand, state["log_error"], state["t"])

    def demand_window(self, state: State, width: int) -> np.ndarray:
        """Demand ``[n, width, N]`` (MW) of hours ``t .. t + width - 1``, read circularly
        (with ``uncertainty="forecast"``: the forecast, the published demand past ``T``)."""
        if self.errors is not None:
            n = state["t"].shape[0]
            known = np.concatenate(
                [self.load_forecast(state), np.broadcast_to(self.demand, (n, *self.demand.shape))],
                axis=1,
            )
            return window_batched(known, state["t"], width, pad="wrap")
        if "demand" in state:
            return window_batched(state["demand"], state["t"], width, pad="wrap")
        if self.demand_table is not None and width == self.demand_table.width:
            return self.demand_table(state["t"])
        return window(self.demand, state["t"], width, pad="wrap")

    # ------------------------------------------------------------- transition
    def recent_moves(self, hist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Start-ups within each unit's last ``UT - 1`` hours and shut-downs within its last
        ``DT - 1`` hours, each ``[n, G]``, from ``u_hist``."""
        # All values are small integers, so matrix products give the exact counts: one over
        # the whole batch finds the moves, one per unit (a [n, 2(L-1)] @ [2(L-1), 2] product
        # each, not one per unit and environment) weighs them by the unit's windows.
        n, n_gen, length = hist.shape
        moves = np.maximum(hist.reshape(n * n_gen, length) @ self.pair_change, ZERO)
        counts = moves.reshape(n, n_gen, -1).transpose(1, 0, 2) @ self.move_windows
        up, down = counts.transpose(2, 1, 0).copy()  # contiguous [n, G] rows
        return up, down

    def repair_on_off(
        self, u: np.ndarray, u_prev: np.ndarray, hist: np.ndarray, ledger: np.ndarray
    ) -> np.ndarray:
        """A.3.5 on/off repair: the repaired ``u^r`` ``[n, G]``; the up- and down-time
        violations go to the ``UP_TIME`` and ``DOWN_TIME`` rows of ``ledger``.

        Start-ups in the UT window beyond ``u`` force the unit on, shut-downs in the DT
        window beyond ``1 - u`` force it off; the up time is checked first.
        """
        recent_up, recent_down = self.recent_moves(hist)
        # With 0/1 values, v - u = -u_prev u (the unit stays on) and w - (1 - u) =
        # -(1 - u_prev)(1 - u) (it stays off): the same whole numbers in fewer operations.
        up = np.maximum(recent_up - u_prev * u, ZERO, out=ledger[:, UP_TIME])
        down = np.maximum(recent_down - (ONE - u_prev) * (ONE - u), ZERO, out=ledger[:, DOWN_TIME])
        # Violations are whole numbers, so min(violation, 1) is the 0/1 "forced" flag and
        # max(forced on, u - forced off) is "on if forced on, else off if forced off, else u".
        return np.maximum(np.minimum(up, ONE), u - np.minimum(down, ONE))

    def transition(self, state: State, decision: Decision, rng: np.random.Generator) -> Transition:
        c, k = self.config, self.k
        hist, p_prev = state["u_hist"], state["p"]
        # Contiguous copy: with [1, G] constants a batch of one then stays on the fast path.
        u_prev = hist[:, :, 0].copy()
        # Per-unit amounts are written (ufunc out=) into the rows of one ledger, which one
        # reduction sums over the units; each row is contiguous, so each sum is bit-identical
        # to summing that amount alone.
        ledger = np.empty((u_prev.shape[0], len(LEDGER_ROWS), self.n_gen))
        u_r = self.repair_on_off(decision["u"], u_prev, hist, ledger)
        switch = u_r - u_prev
        v_r = np.maximum(switch, ZERO)
        w_r = v_r - switch  # max(-d, 0) = max(d, 0) - d, exactly for whole numbers
        # A.3.5 ramp repair: dispatch into [p_prev - RD u - SD w, p_prev + RU u_prev + SU v].
        ramp_high = p_prev + k.RU * u_prev + k.SU * v_r
        ramp_low = p_prev - k.RD * u_r - k.SD * w_r
        p_req = u_r * decision["p"]
        p_ramped, ledger[:, RAMP_UP], ledger[:, RAMP_DOWN] = clip_with_excess(
            p_req, ramp_low, ramp_high, POWER_TOL
        )
        p = u_r * p_ramped
        np.add(k.a * p**2 + k.b * p, k.c, out=ledger[:, GENERATION])
        np.multiply(k.hot_cost, v_r, out=ledger[:, STARTUP])
        np.multiply(k.C_SD, w_r, out=ledger[:, SHUTDOWN])
        # min(a - p, b - p) = min(a, b) - p exactly (rounding is monotonic).
        np.maximum(np.minimum(k.P_max * u_r, ramp_high) - p, ZERO, out=ledger[:, RESERVE])
        total = np.add.reduce(ledger, axis=2)
        # penalty_factor_UT, _DT, _RampUp, _RampDown times the four violation totals.
        charged = total[:, UP_TIME : RAMP_DOWN + 1] * k.penalty
        costs = {
            "min_up_down": charged[:, UP_TIME] + charged[:, DOWN_TIME],
            "ramping": charged[:, RAMP_UP] + charged[:, RAMP_DOWN],
        }
        theta = np.zeros((p.shape[0], self.n_bus))
        if self.n_bus > 1:
            theta[:, 1:] = decision["theta"]
        # Bus balance: demand - generation - net import; without lines nothing is imported
        # (and x - 0.0 is x, so skipping the subtraction changes no bit).
        short = self.demand_now(state) - p @ self.gen_at_bus
        if self.n_line:
            flow = self.B * (theta @ self.incidence.T)
            flow_r, above, below = clip_with_excess(flow, self.F_min, self.F_max, POWER_TOL)
            costs["line_capacity"] = c.penalty_factor_fmax * above.sum(
                axis=1
            ) + c.penalty_factor_fmin * below.sum(axis=1)
            net_import = -flow_r @ self.incidence
            short = short - net_import
        paid = -total[:, GENERATION : SHUTDOWN + 1]
        terms = {
            "generation": paid[:, 0],
            "startup": paid[:, 1],
            "shutdown": paid[:, 2],
            "load_shedding": k.minus_C_LS * np.add.reduce(np.maximum(short, ZERO), axis=1),
            "reserve_shortfall": k.minus_C_RP * np.maximum(k.R - total[:, RESERVE], ZERO),
        }
        next_state = {
            "t": state["t"] + k.one_hour,
            "u_hist": np.concatenate([u_r[:, :, None], hist[:, :, :-1]], axis=2),
            "p": p,
            "theta": theta,
        }
        if "demand" in state:
            next_state["demand"] = state["demand"]
        if "log_error" in state:
            next_state["log_error"] = state["log_error"]
        return Transition(
            state=next_state,
            reward=sum(terms.values(), ZERO),  # 0.0 + ..., the same sum as Python's 0 + ...
            costs=costs,
            reward_terms=terms,
            terminated=next_state["t"] >= k.horizon,
        )

    def demand_now(self, state: State) -> np.ndarray:
        """Demand ``[n, N]`` (MW) of the hour being decided."""
        hour = state["t"] % self.k.horizon
        if "demand" in state:
            return state["demand"][np.arange(hour.shape[0]), hour]
        return self.demand[hour]

    # ------------------------------------------------------------ observation
    def observe(self, state: State) -> np.ndarray:
        n = state["t"].shape[0]
        if self.scaled_demand_table is not None:
            forecast = self.scaled_demand_table(state["t"])
        else:
            forecast = self.demand_window(state, self.config.forecast_length).reshape(n, -1)
            forecast = forecast / self.demand_scale
        parts = [state["u_hist"].reshape(n, -1)[:, self.obs_history], forecast]
        parts.append(state["p"] / self.k.p_scale)
        if self.n_bus > 1:
            parts.append(state["theta"] / self.angle_scale)
        obs = np.concatenate(parts, axis=1)
        # np.clip with array bounds, to the bit, without its Python-level overhead.
        return np.minimum(np.maximum(obs, self.k.obs_low), self.k.obs_high).astype(np.float32)

    def physical_state(self, state: State) -> State:
        physical = {
            "t": state["t"],
            "u": state["u_hist"][:, :, 0],
            "u_hist": state["u_hist"],
            "p": state["p"],
            "theta": state["theta"],
            "demand_forecast": self.demand_window(state, self.config.forecast_length),
        }
        if self.errors is not None:
            physical["load_forecast"] = self.load_forecast(state)
        return physical


def _pad_history(seq: list[int], length: int) -> list[int]:
    """``seq`` cut or extended to ``length``; hours older than given repeat the oldest."""
    return (list(seq) + [seq[-1]] * length)[:length]


class UnitCommitmentEnv(ConstrainedEnv):
    """Hourly commitment and dispatch of thermal generators (SafeOR-Gym UCEnv, A.3).

    **Decision** for the next hour: on/off ``u`` (binary, ``[G]``), output ``p``
    in ``[P_min, P_max]`` (MW, ``[G]``) and, with several buses, the angles
    ``theta`` of buses 1..N-1 in ``[Pi_min, Pi_max]`` (bus 0 is the reference,
    ``theta_0 = 0``). ``box`` mode: one ``Box(-1, 1)`` vector, ``u`` decided by
    sign, the rest mapped affinely; ``hybrid`` mode: ``(MultiBinary(G),
    Box(-1, 1))`` with ``u`` in the first part.

    **Dynamics** (A.3.5). Minimum up/down times are repaired: a unit started
    within the last ``UT - 1`` hours is kept on, one stopped within the last
    ``DT - 1`` hours is kept off. Then the dispatch ``u^r p`` is clipped into
    the ramp window ``[p_t - RD u^r - SD w^r, p_t + RU u_t + SU v^r]``; a unit
    that is off produces 0. Line flows ``f = B (theta_from - theta_to)`` are
    clipped to ``[F_min, F_max]``.

    **Costs** (A.3.6, per step): ``min_up_down`` (penalty x repaired on/off
    decisions), ``ramping`` (penalty x MW moved back into the ramp window),
    ``line_capacity`` (with lines; penalty x MW of flow clipped), and
    ``action_range``.

    **Reward** (A.3.7): minus generation cost ``a p^2 + b p + c`` (``c`` every
    hour for every unit, on or off, as in the published optimum), start-up
    cost ``hot_cost v``, shut-down cost ``C_SD w``, load shedding ``C_LS s`` and
    reserve shortfall ``C_RP max(R - sum r, 0)``.

    **Observation** (float32 in [0, 1], angles in [-1, 1]): the on/off history
    of each unit (``max(UT, DT) + 1`` entries, most recent first), the demand
    of the next ``forecast_length`` hours per bus (hour-major, divided by the
    peak demand, read circularly past the horizon), ``p / P_max`` and, with
    several buses, ``theta / max|Pi|``.

    **Episode**: ``T`` hours from the configured history (``u0_seq``, ``p0``).

    **Stochastic variant** (``uncertainty="forecast"``): each episode's demand is the
    deterministic demand times AR(1) log-space errors per bus (``error_sigma``,
    ``error_phi``; :mod:`stagewise.core.uncertainty`). The hour being decided is known only
    through its forecast (lead 1); the observed window and ``info["state"]["demand_forecast"]``
    hold the forecast mean, ``info["state"]["load_forecast"]`` the whole day's ``[T, N]``.
    """

    problem_id: ClassVar[str] = "UnitCommitment"
    slug: ClassVar[str] = "unit-commitment"
    summary: ClassVar[str] = (
        "Unit commitment with min up/down times, ramping, reserve and DC lines (SafeOR-Gym A.3)"
    )
    config_model = UnitCommitmentConfig

    @classmethod
    def build_dynamics(cls, config: Any) -> UnitCommitmentDynamics:
        return UnitCommitmentDynamics(config)

"""Blending step constraints for the safety layer (A.5.5-A.5.6), a small MILP.

Columns: the purchases ``tau_s = buy_s tau^0_s`` ``[S]`` and sales ``delta_p = sell_p
delta^0_p`` ``[P]`` in physical units (``tau^0``, ``delta^0`` the period's availability
and demand limit: column bounds), the flows ``F_sj`` and ``F_jp`` of the arcs, and an
auxiliary binary ``y_j`` per blender (1: the blender may receive, 0: it may ship).
For the inventories ``I`` and blender properties ``C`` at the start of the period:

- ``source_bound`` (``[S]``): ``I^s_low <= I_s + tau_s - sum_j F_sj <= I^s_up``;
- ``in_out`` (``[J]`` twice): ``sum_s F_sj <= M_j y_j`` and ``sum_p F_jp <= M_j
  (1 - y_j)`` with ``M_j = I^j_up - I^j_low`` (no blender receives or ships more than
  its span): no blender receives and ships;
- ``blender_bound`` (``[J]``): ``I^j_low <= I_j + sum_s F_sj - sum_p F_jp <= I^j_up``;
- ``product_bound`` (``[P]``): ``I^p_low <= I_p + sum_j F_jp - delta_p <= I^p_up``;
- ``property``: a blender ships at its property ``C_j`` before this period's mixing, so
  with ``C`` known the property balance of a shipment is fixed: ``F_jp <= 0`` (a column
  bound) where ``C_jq`` lies outside product ``p``'s spec ``[sigma^lb_pq - eps,
  sigma^ub_pq + eps]`` for some ``q``.

Where a blender cannot ship (nothing above its floor, or off spec for every product)
``y_j = 1`` is fixed, and where it cannot receive (full) ``y_j = 0``: the LP relaxation is
then whole more often, and only the other steps go to branch and bound. With these rows
the transition repairs nothing and charges no cost. Shipping nothing,
buying nothing and selling nothing satisfies every row (the inventories start within
their bounds and the transition keeps them there), so no state is infeasible.

The distance counts the flows in the codec's scaling and ``tau``, ``delta`` in units of
half their peak over the horizon (the published data: a whole ``buy`` range at the
peak period is 2 units, as in the codec). With ``uncertainty="forecast"`` ``tau^0`` and
``delta^0`` are the forecast means of the period (what the decision maker knows), so a
realised availability away from them can still cost.
"""

from __future__ import annotations

import numpy as np

from stagewise.core.env import State
from stagewise.core.safety import ColumnBlock, RowBlock, StepBounds, StepConstraints
from stagewise.core.spaces import Decision
from stagewise.problems.blending.env import BlendingDynamics


def _half_peak(series: np.ndarray) -> np.ndarray:
    """Half the peak ``[X]`` of each column of ``series`` ``[T, X]`` (1 where it is 0)."""
    half = 0.5 * series.max(axis=0, initial=0.0)
    return np.where(half > 0, half, 1.0)


class BlendingStep(StepConstraints):
    """The projection rows of one blending period."""

    def __init__(self, dynamics: BlendingDynamics):
        self.dynamics = d = dynamics
        fields = {f.name: f for f in d.codec.fields}
        n_s, n_j, n_p = d.sj_from.shape[1], d.sj_to.shape[1], d.jp_to.shape[1]
        peak = d.published
        self.columns = (
            ColumnBlock("tau", (n_s,), 0.0, np.inf, _half_peak(peak[:, :n_s])),
            ColumnBlock.of_field(fields["flow_sj"]),
            ColumnBlock.of_field(fields["flow_jp"]),
            ColumnBlock("delta", (n_p,), 0.0, np.inf, _half_peak(peak[:, n_s:])),
            ColumnBlock("receives", (n_j,), 0.0, 1.0, integer=True),
        )
        inflow, outflow = d.sj_to.T, d.jp_from.T  # [J, A_sj], [J, A_jp]
        # A blender receives at most its free room and ships at most its stock, both at
        # most its span: the tightest big-M the bounds allow (a tight LP relaxation).
        j_low, j_high = d.bounds["j"]
        span = np.maximum(j_high - j_low, d.config.eps)
        self.big_in = np.minimum(d.flow_max * inflow.sum(axis=1), span)
        self.big_out = np.minimum(d.flow_max * outflow.sum(axis=1), span)
        self.arcs_out = outflow.sum(axis=1) - 0.5  # [J]: more off-spec arcs: none to ship on
        self.rows = (
            RowBlock("source_bound", n_s, {"tau": np.eye(n_s), "flow_sj": -d.sj_from.T}),
            RowBlock("in_out", n_j, {"flow_sj": inflow, "receives": -np.diag(self.big_in)}),
            RowBlock("in_out", n_j, {"flow_jp": outflow, "receives": np.diag(self.big_out)}),
            RowBlock("blender_bound", n_j, {"flow_sj": inflow, "flow_jp": -outflow}),
            RowBlock("product_bound", n_p, {"flow_jp": d.jp_to.T, "delta": -np.eye(n_p)}),
        )
        self.static_low = np.concatenate([b.flat(b.low) for b in self.columns])
        self.static_high = np.concatenate([b.flat(b.high) for b in self.columns])
        sizes = np.cumsum([0, *(b.size for b in self.columns)])
        self.spans = {b.name: slice(sizes[i], sizes[i + 1]) for i, b in enumerate(self.columns)}
        self.available: tuple[np.ndarray, np.ndarray] | None = None

    def limits(self, state: State) -> tuple[np.ndarray, np.ndarray]:
        """The period's availability ``tau^0`` ``[n, S]`` and demand limit ``delta^0``
        ``[n, P]`` as the decision maker knows them (the forecast mean when uncertain)."""
        d = self.dynamics
        if d.errors is None:
            now = d.availability[np.minimum(state["t"], d.horizon)]
        else:
            forecast = d.forecast(state)
            now = forecast[np.arange(forecast.shape[0]), np.minimum(state["t"], d.horizon - 1)]
        n_s = d.k.n_sources
        return now[:, :n_s], now[:, n_s:]

    def bounds(self, state: State) -> StepBounds:
        d = self.dynamics
        n = state["t"].shape[0]
        tau_max, delta_max = self.available = self.limits(state)
        (s_low, s_high), (j_low, j_high), (p_low, p_high) = (d.bounds[x] for x in "sjp")
        zeros = np.zeros((n, self.big_in.size))
        low = [s_low - state["I_s"], np.full_like(zeros, -np.inf), np.full_like(zeros, -np.inf)]
        high = [s_high - state["I_s"], zeros, np.broadcast_to(self.big_out, zeros.shape)]
        low += [j_low - state["I_j"], p_low - state["I_p"]]
        high += [j_high - state["I_j"], p_high - state["I_p"]]
        col_high = np.tile(self.static_high, (n, 1))
        col_high[:, self.spans["tau"]] = tau_max
        col_high[:, self.spans["delta"]] = delta_max
        flows = col_high[:, self.spans["flow_jp"]]
        off_spec = self.off_spec(state)
        flows[off_spec] = 0.0
        # A blender that cannot ship (nothing above its floor, or off spec for every
        # product) receives, one that cannot receive (full) ships: y_j is then fixed.
        eps = d.config.eps
        cannot_ship = (state["I_j"] - j_low <= eps) | (off_spec @ d.jp_from > self.arcs_out)
        cannot_receive = j_high - state["I_j"] <= eps
        col_low = np.tile(self.static_low, (n, 1))
        col_low[:, self.spans["receives"]] = cannot_ship & ~cannot_receive
        col_high[:, self.spans["receives"]] = ~cannot_receive | cannot_ship
        return StepBounds(
            row_low=np.concatenate(low, axis=1),
            row_high=np.concatenate(high, axis=1),
            col_low=col_low,
            col_high=col_high,
        )

    def off_spec(self, state: State) -> np.ndarray:
        """``[n, A_jp]``: where the blender's property is outside the product's spec."""
        d = self.dynamics
        eps = d.config.eps
        shipped = state["C"][:, d.jp_blender, :]  # [n, A_jp, Q]
        outside = (shipped < d.arc_lb - eps) | (shipped > d.arc_ub + eps)
        return outside.any(axis=2)

    def target(self, proposal: Decision) -> dict[str, np.ndarray]:
        tau_max, delta_max = self._kept()
        return {
            "tau": np.asarray(proposal["buy"], np.float64) * tau_max,
            "flow_sj": np.asarray(proposal["flow_sj"], np.float64),
            "flow_jp": np.asarray(proposal["flow_jp"], np.float64),
            "delta": np.asarray(proposal["sell"], np.float64) * delta_max,
        }

    def decision(self, values: dict[str, np.ndarray], proposal: Decision) -> Decision:
        tau_max, delta_max = self._kept()
        out = dict(proposal)
        out["flow_sj"], out["flow_jp"] = values["flow_sj"], values["flow_jp"]
        out["buy"] = _fraction(values["tau"], tau_max, proposal["buy"])
        out["sell"] = _fraction(values["delta"], delta_max, proposal["sell"])
        return out

    def _kept(self) -> tuple[np.ndarray, np.ndarray]:
        if self.available is None:
            raise RuntimeError("BlendingStep.bounds(state) must come before target/decision")
        return self.available


def _fraction(amount: np.ndarray, limit: np.ndarray, proposed: np.ndarray) -> np.ndarray:
    """``amount / limit`` in [0, 1] where the limit is positive, else the proposed fraction
    (which then buys or sells nothing either way)."""
    positive = limit > 0
    share = amount / np.where(positive, limit, 1.0)
    return np.where(positive, np.clip(share, 0.0, 1.0), proposed)


def step_constraints(dynamics: BlendingDynamics) -> BlendingStep:
    """The safety layer's rows of blending (see the module docstring)."""
    return BlendingStep(dynamics)

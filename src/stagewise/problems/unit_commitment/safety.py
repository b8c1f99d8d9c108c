"""Unit-commitment step constraints for the safety layer (A.3.5-A.3.6), a small MILP.

Columns: on/off ``u_g`` (binary), the dispatch ``p_g = u_g p^req_g`` (MW, in
``[0, P^max_g]``: the decision's ``p`` where the unit is on) and, with several buses,
the angles ``theta`` of buses 1..N-1; auxiliary start-ups ``v_g`` and shut-downs
``w_g``. For the previous on/off ``u^0``, output ``p^0`` and recent moves:

- ``min_up_down``: ``u_g >= 1`` where unit ``g`` is on and started within its last
  ``UT_g - 1`` hours, ``u_g <= 0`` where it is off and stopped within its last
  ``DT_g - 1`` hours (column bounds); ``u - v + w = u^0`` with ``v <= 1 - u^0`` and
  ``w <= u^0``, so ``v = max(u - u^0, 0)`` and ``w = max(u^0 - u, 0)``;
- ``dispatch``: ``P^min u <= p <= P^max u`` (a unit that is on runs in its range, one
  that is off produces 0);
- ``ramping``: ``p - SU v <= p^0 + RU u^0`` and ``p + RD u + SD w >= p^0``;
- ``line_capacity`` (with lines): ``F^min_k <= B_k (theta_from - theta_to) <= F^max_k``.

The distance counts ``u`` and ``p`` in the codec's scaling, ``p`` against the proposed
dispatch ``u^req p^req``. A unit off in the projection keeps the proposal's ``p``
(the environment multiplies it by ``u = 0``).
"""

from __future__ import annotations

import numpy as np

from stagewise.core.env import State
from stagewise.core.safety import ColumnBlock, RowBlock, StepBounds, StepConstraints
from stagewise.core.spaces import Decision
from stagewise.problems.unit_commitment.env import UnitCommitmentDynamics


class UnitCommitmentStep(StepConstraints):
    """The projection rows of one unit-commitment hour."""

    def __init__(self, dynamics: UnitCommitmentDynamics):
        self.dynamics = d = dynamics
        n_gen = d.n_gen
        fields = {f.name: f for f in d.codec.fields}
        on_off, request = ColumnBlock.of_field(fields["u"]), ColumnBlock.of_field(fields["p"])
        dispatch = ColumnBlock("p", (n_gen,), 0.0, d.P_max, request.scale)
        columns = [on_off, dispatch]
        if "theta" in fields:
            columns.append(ColumnBlock.of_field(fields["theta"]))
        columns += [ColumnBlock("v", (n_gen,), 0.0, 1.0), ColumnBlock("w", (n_gen,), 0.0, 1.0)]
        self.columns = tuple(columns)
        eye = np.eye(n_gen)
        rows = [
            RowBlock("min_up_down", n_gen, {"u": eye, "v": -eye, "w": eye}),
            RowBlock("dispatch", n_gen, {"p": eye, "u": -np.diag(d.P_max)}),
            RowBlock("dispatch", n_gen, {"p": eye, "u": -np.diag(d.P_min)}),
            RowBlock("ramping", n_gen, {"p": eye, "v": -np.diag(d.SU)}),
            RowBlock("ramping", n_gen, {"p": eye, "u": np.diag(d.RD), "w": np.diag(d.SD)}),
        ]
        if d.n_line and "theta" in fields:
            flows = d.B[:, None] * d.incidence[:, 1:]  # [K, N-1]: bus 0 is the reference
            rows.append(RowBlock("line_capacity", d.n_line, {"theta": flows}))
        self.rows = tuple(rows)
        self.n_gen = n_gen
        self.static_high = np.concatenate([b.flat(b.high) for b in self.columns])
        self.static_low = np.concatenate([b.flat(b.low) for b in self.columns])
        self.v_column = sum(b.size for b in self.columns[:-2])

    def bounds(self, state: State) -> StepBounds:
        d, n_gen = self.dynamics, self.n_gen
        hist, p_prev = state["u_hist"], state["p"]
        n = hist.shape[0]
        u_prev = hist[:, :, 0]
        recent_up, recent_down = d.recent_moves(hist)
        col_low = np.tile(self.static_low, (n, 1))
        col_high = np.tile(self.static_high, (n, 1))
        col_low[:, :n_gen] = (u_prev > 0) & (recent_up > 0)  # must stay on
        col_high[:, :n_gen] = 1.0 - ((u_prev < 1) & (recent_down > 0))  # must stay off
        v, w = self.v_column, self.v_column + n_gen
        col_high[:, v:w] = 1.0 - u_prev
        col_high[:, w : w + n_gen] = u_prev
        zeros, inf = np.zeros((n, n_gen)), np.full((n, n_gen), np.inf)
        low = [u_prev, -inf, zeros, -inf, p_prev]
        high = [u_prev, zeros, inf, p_prev + d.RU * u_prev, inf]
        if len(self.rows) > 5:
            low.append(np.broadcast_to(d.F_min, (n, d.n_line)))
            high.append(np.broadcast_to(d.F_max, (n, d.n_line)))
        return StepBounds(
            row_low=np.concatenate(low, axis=1),
            row_high=np.concatenate(high, axis=1),
            col_low=col_low,
            col_high=col_high,
        )

    def target(self, proposal: Decision) -> dict[str, np.ndarray]:
        out = super().target(proposal)
        out["p"] = proposal["u"] * proposal["p"]  # the proposed dispatch
        return out

    def decision(self, values: dict[str, np.ndarray], proposal: Decision) -> Decision:
        out = super().decision(values, proposal)
        out["p"] = np.where(values["u"] > 0.5, values["p"], proposal["p"])
        return out


def step_constraints(dynamics: UnitCommitmentDynamics) -> UnitCommitmentStep:
    """The safety layer's rows of unit commitment (see the module docstring)."""
    return UnitCommitmentStep(dynamics)

"""ASU step constraints for the safety layer (A.9.4-A.9.6), a small MILP.

Columns: the weights ``lambda_x`` ``[k]`` of the extreme points ``v_x`` (the decision,
normalized: the environment divides the proposed weights by their sum, so the target is
the proposal's normalized weights), an auxiliary binary ``y`` (the unit works this hour)
and auxiliary weights ``mu_x >= 0`` ``[k]``: the production of the hours left in the day
after this one, as a combination of the points. For the inventory ``IV`` at the start of
hour ``t``, the demand ``D`` due at the end of the day (``r`` hours after this one), the
storage ``IV^ub`` and the largest output ``v^max_j`` of one hour:

- ``on``: ``sum_x lambda_x = y`` (a working unit's weights sum to 1, "Off" is all 0);
- ``inventory_overflow``: ``IV + sum_x lambda_x v_x <= IV^ub`` (``+ D`` at the day's last
  hour, ``r = 0``), and at the day's end ``IV + sum_x (lambda_x + mu_x) v_x <= IV^ub +
  min(D, v^max)`` (``IV^ub + D`` where ``r = 0``): what stays after the demand fits, and
  before the last hour the stock fits;
- ``demand_shortfall``: ``IV + sum_x (lambda_x + mu_x) v_x >= D`` with ``sum_x mu_x <= r``:
  the day's demand stays reachable with the hours left.

The look-ahead is a relaxation of the hours left: it lets them produce any point of
``r conv({0} U {v_x})`` (a fractional number of working hours), where each working hour
produces a point of ``conv{v_x}``, and the stock before the last hour is bounded through
``v^max`` per product, not jointly. A state it admits can therefore still miss a
demand by a fraction of an hour's output, or overflow before the last hour; what remains
is measured in ``docs/safety.md``. With ``uncertainty="forecast"`` ``D`` is the forecast
mean of the day's demand.
"""

from __future__ import annotations

import numpy as np

from stagewise.core.env import State
from stagewise.core.safety import ColumnBlock, RowBlock, StepBounds, StepConstraints
from stagewise.core.spaces import Decision
from stagewise.problems.asu.config import HOURS_PER_DAY
from stagewise.problems.asu.env import ASUDynamics


class ASUStep(StepConstraints):
    """The projection rows of one ASU hour."""

    def __init__(self, dynamics: ASUDynamics):
        self.dynamics = d = dynamics
        k, n_j = d.vertices.shape
        self.columns = (
            ColumnBlock.of_field(d.codec.fields[0]),
            ColumnBlock("on", (), 0.0, 1.0, integer=True),
            ColumnBlock("future", (k,), 0.0, np.inf),
        )
        output = d.vertices.T  # [J, k]: sum_x lambda_x v_jx
        self.rows = (
            RowBlock("on", 1, {"weights": np.ones((1, k)), "on": -np.ones((1, 1))}),
            RowBlock("inventory_overflow", n_j, {"weights": output}),
            RowBlock("inventory_overflow", n_j, {"weights": output, "future": output}),
            RowBlock("demand_shortfall", n_j, {"weights": output, "future": output}),
            RowBlock("demand_shortfall", 1, {"future": np.ones((1, k))}),
        )
        self.hour_max = d.vertices.max(axis=0)  # v^max_j

    def due(self, state: State) -> np.ndarray:
        """``[n, J]`` demand due at the end of the day of hour ``t`` (the forecast mean
        when uncertain)."""
        d, t = self.dynamics, state["t"]
        last = np.minimum(
            HOURS_PER_DAY * (t // HOURS_PER_DAY + 1) - 1, d.demand.shape[0] - 1
        )  # the day's last hour
        if d.errors is None:
            return d.demand[last]
        return d.series_forecast(state)[1][np.arange(t.shape[0]), last]

    def bounds(self, state: State) -> StepBounds:
        d = self.dynamics
        iv, t = state["iv"], state["t"]
        n = t.shape[0]
        due = self.due(state)
        left = (HOURS_PER_DAY - 1 - t % HOURS_PER_DAY).astype(float)[:, None]  # r
        last = left == 0
        room = d.capacity - iv
        inf = np.full_like(iv, np.inf)
        low = [np.zeros((n, 1)), -inf, -inf, due - iv, np.zeros((n, 1))]
        high = [
            np.zeros((n, 1)),
            room + np.where(last, due, 0.0),
            room + np.where(last, due, np.minimum(due, self.hour_max)),
            inf,
            left,
        ]
        return StepBounds(np.concatenate(low, axis=1), np.concatenate(high, axis=1))

    def target(self, proposal: Decision) -> dict[str, np.ndarray]:
        weights = np.asarray(proposal["weights"], np.float64)
        total = weights.sum(axis=-1, keepdims=True)
        return {"weights": weights / np.where(total > 0, total, 1.0)}


def step_constraints(dynamics: ASUDynamics) -> ASUStep:
    """The safety layer's rows of the ASU (see the module docstring)."""
    return ASUStep(dynamics)

"""ASU step constraints for the safety layer (A.9.4-A.9.6), a small MILP.

Columns: the weights ``lambda_x`` ``[k]`` of the extreme points ``v_x`` (the decision,
normalized: the environment divides the proposed weights by their sum, so the target is
the proposal's normalized weights) and an auxiliary binary ``y`` (the unit works this
hour). The rest of today and tomorrow (:data:`PLANNED_DAYS`) is planned with it: for day
``i`` (``i = 0`` the day of hour ``t``, ``i = 1`` the next) auxiliary weights ``mu_ix >=
0`` with a whole number ``m_i`` of working hours (``sum_x mu_ix = m_i``) for its hours
before the last (after this one where ``i = 0``), and ``nu_ix >= 0`` with a binary ``z_i``
(``sum_x nu_ix = z_i``) for its last hour, when the demand ``D_i`` is due. With ``P_i =
sum_x (mu_ix + nu_ix) v_x`` the day's production, ``W = sum_x lambda_x v_x`` this hour's,
``IV`` the stock at the start of hour ``t``, ``IV^ub`` the storage and ``S_i = D_0 + ... +
D_(i-1)`` the demand of the days before day ``i``:

- ``on``: ``sum_x lambda_x = y`` (a working unit's weights sum to 1, "Off" is all 0);
- ``inventory_overflow``: before day ``i``'s last hour the stock fits,
  ``IV + W + P_0 + ... + P_(i-1) + sum_x mu_ix v_x <= IV^ub + S_i`` (``+ D_0`` where hour
  ``t`` is the day's last), and what stays after its demand fits,
  ``IV + W + P_0 + ... + P_i <= IV^ub + S_i + D_i``;
- ``demand_shortfall``: ``IV + W + P_0 + ... + P_i >= S_i + D_i``, with ``m_i <= 23``
  (``r - 1`` on day 0, ``r`` its hours after hour ``t``) and ``z_i <= 1`` (0 where hour
  ``t`` is the day's last).

The look-ahead is exact over the planned days: the production of ``m`` working hours is a
point of ``m conv{v_x}`` (a Minkowski sum of a convex set with itself), the stock only
grows within a day until its last hour (the demand is taken there), so it is largest just
before it, and one set of weights holds every product at once (the operating points tie
LIN, LOX and LAR together). So every state the layer admits has a plan for today and
tomorrow with no overflow and both demands met. Tomorrow is needed: with today alone, a
day can end with the LIN tank so full that the next day's LOX demand cannot be made
without overflowing it. Days after tomorrow are not planned (each adds two whole-number
columns to the branch and bound; with the whole week a projection took about 5 ms
instead of 1.6). With ``uncertainty="forecast"`` the demands are the forecast means.
"""

from __future__ import annotations

import numpy as np

from stagewise.core.env import State
from stagewise.core.safety import ColumnBlock, RowBlock, StepBounds, StepConstraints
from stagewise.core.spaces import Decision
from stagewise.problems.asu.config import HOURS_PER_DAY
from stagewise.problems.asu.env import ASUDynamics

PLANNED_DAYS = 2
"""Days planned by the look-ahead: the day of hour ``t`` and the next."""


class ASUStep(StepConstraints):
    """The projection rows of one ASU hour, with today and tomorrow planned."""

    def __init__(self, dynamics: ASUDynamics):
        self.dynamics = d = dynamics
        k = d.vertices.shape[0]
        self.days = min(PLANNED_DAYS, -(-d.horizon // HOURS_PER_DAY))
        self.columns = (
            ColumnBlock.of_field(d.codec.fields[0]),
            ColumnBlock("on", (), 0.0, 1.0, integer=True),
            ColumnBlock("middle", (self.days, k), 0.0, np.inf),
            ColumnBlock("middle_hours", (self.days,), 0.0, HOURS_PER_DAY - 1, integer=True),
            ColumnBlock("last", (self.days, k), 0.0, np.inf),
            ColumnBlock("last_on", (self.days,), 0.0, 1.0, integer=True),
        )
        self.rows = (
            RowBlock("on", 1, {"weights": np.ones((1, k)), "on": -np.ones((1, 1))}),
            *self._hour_rows(k),
            *self._stock_rows(d.vertices.T),
        )

    def _hour_rows(self, k: int) -> tuple[RowBlock, ...]:
        """``sum_x mu_ix = m_i``, ``sum_x nu_ix = z_i`` and the rows bounding ``m_i``, ``z_i``."""
        days = self.days
        per_day = np.kron(np.eye(days), np.ones((1, k)))  # [days, days k]
        unit = np.eye(days)
        return (
            RowBlock("demand_shortfall", days, {"middle": per_day, "middle_hours": -unit}),
            RowBlock("demand_shortfall", days, {"last": per_day, "last_on": -unit}),
            RowBlock("demand_shortfall", days, {"middle_hours": unit}),
            RowBlock("demand_shortfall", days, {"last_on": unit}),
        )

    def _stock_rows(self, output: np.ndarray) -> tuple[RowBlock, ...]:
        """Per day ``i`` and product: the stock before the last hour, after the demand,
        and the demand met (``output`` is ``v`` as ``[J, k]``)."""
        days, n_j = self.days, output.shape[0]
        rows = []
        for i in range(days):
            before = np.kron((np.arange(days) < i)[None, :].astype(float), output)
            through = np.kron((np.arange(days) <= i)[None, :].astype(float), output)
            own = np.kron((np.arange(days) == i)[None, :].astype(float), output)
            rows += [
                RowBlock(
                    "inventory_overflow",
                    n_j,
                    {"weights": output, "middle": before + own, "last": before},
                ),
                RowBlock(
                    "inventory_overflow",
                    n_j,
                    {"weights": output, "middle": through, "last": through},
                ),
                RowBlock(
                    "demand_shortfall", n_j, {"weights": output, "middle": through, "last": through}
                ),
            ]
        return tuple(rows)

    def demands(self, state: State) -> np.ndarray:
        """``[n, days, J]`` demand due at the end of day ``t // 24 + i`` (the forecast mean
        when uncertain), 0 for days past the episode."""
        d, t = self.dynamics, state["t"]
        last = HOURS_PER_DAY * (t[:, None] // HOURS_PER_DAY + 1 + np.arange(self.days)) - 1
        inside = last < d.horizon
        last = np.minimum(last, d.demand.shape[0] - 1)
        if d.errors is None:
            due = d.demand[last]
        else:
            due = d.series_forecast(state)[1][np.arange(t.shape[0])[:, None], last]
        return np.where(inside[..., None], due, 0.0)

    def bounds(self, state: State) -> StepBounds:
        d = self.dynamics
        iv, t = state["iv"], state["t"]
        n, days = t.shape[0], self.days
        due = self.demands(state)  # [n, days, J]
        left = (HOURS_PER_DAY - 1 - t % HOURS_PER_DAY).astype(float)  # r
        day = t // HOURS_PER_DAY
        inside = (HOURS_PER_DAY * (day[:, None] + 1 + np.arange(days)) - 1) < d.horizon
        middle = np.where(
            np.arange(days) == 0, np.maximum(left - 1, 0.0)[:, None], HOURS_PER_DAY - 1
        )
        last = np.where(np.arange(days) == 0, np.minimum(left, 1.0)[:, None], 1.0)
        zero = np.zeros((n, days))
        low = [np.zeros((n, 1)), zero, zero, zero, zero]
        high = [
            np.zeros((n, 1)),
            zero,
            zero,
            np.where(inside, middle, 0.0),
            np.where(inside, last, 0.0),
        ]
        room = d.capacity - iv
        served = np.cumsum(due, axis=1) - due  # S_i
        first_is_last = (left == 0)[:, None, None] & (np.arange(days) == 0)[None, :, None]
        for i in range(days):
            open_ = ~inside[:, i : i + 1]
            pre = room + served[:, i] + np.where(first_is_last[:, i], due[:, i], 0.0)
            after = room + served[:, i] + due[:, i]
            need = served[:, i] + due[:, i] - iv
            inf = np.full_like(iv, np.inf)
            low += [-inf, -inf, np.where(open_, -inf, need)]
            high += [np.where(open_, inf, pre), np.where(open_, inf, after), inf]
        return StepBounds(np.concatenate(low, axis=1), np.concatenate(high, axis=1))

    def decision(self, values: dict[str, np.ndarray], proposal: Decision) -> Decision:
        """The weights of a unit that works (``y = 1``); exact zeros where it is off: the
        environment normalizes any positive weights, so a solver's 1e-12 would run it."""
        on = np.rint(values["on"]).reshape(-1, 1) == 1
        return {**proposal, "weights": np.where(on, np.maximum(values["weights"], 0.0), 0.0)}

    def target(self, proposal: Decision) -> dict[str, np.ndarray]:
        weights = np.asarray(proposal["weights"], np.float64)
        total = weights.sum(axis=-1, keepdims=True)
        return {"weights": weights / np.where(total > 0, total, 1.0)}


def step_constraints(dynamics: ASUDynamics) -> ASUStep:
    """The safety layer's rows of the ASU (see the module docstring)."""
    return ASUStep(dynamics)

"""Scheduling-and-maintenance step constraints for the safety layer (A.8.4-A.8.5), a small MILP.

Columns: ``maintain_c`` (binary), ``production_c`` (t/day, ``[0, Cap_c]``) and
``purchase`` (t/day, ``[0, Q_ext]``). For the start-of-day state (``tslm``, ``tlcm``,
``cdm``, this episode's ``MTTF``) and the day's demand ``D_t``:

- ``maintenance_duration``: ``maintain_c >= 1`` while a repair is under way
  (``tlcm_c > 0``), ``maintain_c <= 0`` the day after a maintenance day of an idle
  compressor (``tslm_c = 0``, ``tlcm_c = 0``);
- ``maintenance_failure``: ``maintain_c >= 1`` once ``tslm_c >= MTTF_c``;
- ``early_maintenance``: ``maintain_c <= 0`` for an idle compressor with ``cdm_c = 0``;
- ``ramping_in_maintenance``: ``production_c + Cap_c maintain_c <= Cap_c`` (nothing asked
  of a compressor on a maintenance day);
- ``demand``: ``D_t - b <= sum_c production_c + purchase <= D_t + b`` (``b`` the dead
  band: with maintenance as asked, the supply is what was asked).

Each requirement is a row (not a column bound), so a state where two of them conflict
(``tslm >= MTTF`` while ``cdm = 0``, possible in v1 where MTTF is drawn below MNRD) gets
the least-violating decision; where no supply meets the demand band the ``demand`` row
gives first (its elastic weight is ``DEMAND_WEIGHT``). The rows look at one day: a
maintenance started now holds a compressor for ``MTTR`` days, and on a day where the
compressors left working plus the purchase limit cannot reach ``D_t - b`` the ``demand``
row is violated (reported in ``info["safety"]["violation"]``, charged by the
environment). With
``uncertainty="forecast"`` ``D_t`` is the forecast mean of the day.
"""

from __future__ import annotations

import numpy as np

from stagewise.core.env import State
from stagewise.core.safety import ColumnBlock, RowBlock, StepBounds, StepConstraints
from stagewise.core.spaces import Decision
from stagewise.problems.sched_maint.env import SchedMaintDynamics

DEMAND_WEIGHT = 0.01
"""Elastic weight of the ``demand`` row against the maintenance and ramping rows (1): a
tonne short still costs a hundred times more than moving a decision by a tonne."""


class SchedMaintStep(StepConstraints):
    """The projection rows of one scheduling-and-maintenance day."""

    def __init__(self, dynamics: SchedMaintDynamics):
        self.dynamics = d = dynamics
        self.columns = tuple(ColumnBlock.of_field(f) for f in d.codec.fields)
        n = d.n
        eye = np.eye(n)
        capacity = np.asarray(d.config.capacity, dtype=float)
        supply = {"production": np.ones((1, n)), "purchase": np.ones((1, 1))}
        self.rows = (
            RowBlock("maintenance_duration", n, {"maintain": eye}),
            RowBlock("maintenance_failure", n, {"maintain": eye}),
            RowBlock("early_maintenance", n, {"maintain": eye}),
            RowBlock(
                "ramping_in_maintenance", n, {"production": eye, "maintain": np.diag(capacity)}
            ),
            # the row to give where no supply meets the band: a compressor held by maintenance
            # is the cheaper cost to keep (DEMAND_WEIGHT)
            RowBlock("demand", 1, supply, weight=DEMAND_WEIGHT),
        )
        self.capacity = capacity

    def demand(self, state: State) -> np.ndarray:
        """``[n]`` demand of the day being decided (the forecast mean when uncertain)."""
        d = self.dynamics
        day = np.minimum(state["t"], d.k.last_day)
        if d.errors is None:
            return d.demand[day]
        return d.forecast(state)[np.arange(day.shape[0]), day, 0]

    def bounds(self, state: State) -> StepBounds:
        d = self.dynamics
        tslm, tlcm, cdm = state["tslm"], state["tlcm"], state["cdm"]
        busy = tlcm > 0
        idle = ~busy
        ones, zeros = np.ones_like(tslm), np.zeros_like(tslm)
        band = d.config.demand_dead_band
        demand = self.demand(state)[:, None]
        low = [
            busy.astype(float),
            (tslm >= state["mttf"]).astype(float),
            -np.inf * ones,
            -np.inf * ones,
            demand - band,
        ]
        high = [
            1.0 - (idle & (tslm == 0)),
            ones,
            1.0 - (idle & (cdm == 0)),
            zeros + self.capacity,
            demand + band,
        ]
        return StepBounds(np.concatenate(low, axis=1), np.concatenate(high, axis=1))

    def decision(self, values: dict[str, np.ndarray], proposal: Decision) -> Decision:
        out = super().decision(values, proposal)
        # exactly nothing asked on a maintenance day (the solver's 1e-15 would be charged)
        out["production"] = np.where(values["maintain"] > 0.5, 0.0, values["production"])
        return out


def step_constraints(dynamics: SchedMaintDynamics) -> SchedMaintStep:
    """The safety layer's rows of scheduling and maintenance (see the module docstring)."""
    return SchedMaintStep(dynamics)

"""GTEP step constraints for the safety layer (A.4.5-A.4.6).

Columns: the additions ``add_ir`` (integer, ``[I, R]``) and, with lines, the flows
``P_l`` (MW, ``[L]``). Rows and bounds, for installed units ``n_ir`` and the demand
``Dem_r`` of the period being decided:

- ``generator_bound``: ``0 <= add_ir <= M_ir - n_ir`` (a column bound: it always holds
  for some addition, so it needs no slack);
- ``demand_balance`` (``[R]``): ``sum_i Cap^gen_i add_ir + sum_l inc_lr P_l >=
  Dem_r - sum_i Cap^gen_i n_ir`` with ``inc_lr = +1`` where line ``l`` delivers into
  ``r`` and ``-1`` where it draws from ``r``.

With ``uncertainty="forecast"`` the demand is the forecast mean of the period (what the
decision maker knows), so a realised demand above it can still be unmet. A flow below
``flow_epsilon`` counts as 0 in the environment; the projection does not model that
gap (a flow of at most ``flow_epsilon`` MW, 1e-3 by default, can be lost).
"""

from __future__ import annotations

import numpy as np

from stagewise.core.env import State
from stagewise.core.safety import ColumnBlock, RowBlock, StepBounds, StepConstraints
from stagewise.problems.gtep.env import GTEPDynamics


class GTEPStep(StepConstraints):
    """The projection rows of one GTEP period."""

    def __init__(self, dynamics: GTEPDynamics):
        self.dynamics = d = dynamics
        n_regions = d.max_units.shape[1]
        columns = [ColumnBlock.of_field(f) for f in d.codec.fields]  # add, then flow
        # demand rows: sum_i Cap_i add_ir, i.e. for row r the columns (i, r) of every type
        self.supply = np.kron(d.unit_capacity[None, :], np.eye(n_regions))  # [R, I*R], i-major
        coefficients = {"add": self.supply}
        if d.lines:
            coefficients["flow"] = d.incidence.T
        self.columns = tuple(columns)
        self.rows = (RowBlock("demand_balance", n_regions, coefficients),)
        self.n_add = d.max_units.size

    def bounds(self, state: State) -> StepBounds:
        d = self.dynamics
        installed = state["n"].reshape(state["n"].shape[0], -1)
        n = installed.shape[0]
        demand = d.demand_window(state)[:, 0, :]  # [n, R]: the period being decided
        row_low = demand - installed @ self.supply.T
        col_high = np.tile(np.concatenate([d.max_units.ravel(), d.line_capacity]), (n, 1))
        col_high[:, : self.n_add] = np.maximum(col_high[:, : self.n_add] - installed, 0.0)
        return StepBounds(
            row_low=row_low,
            row_high=np.full_like(row_low, np.inf),
            col_low=None,
            col_high=col_high,
        )


def step_constraints(dynamics: GTEPDynamics) -> GTEPStep:
    """The safety layer's rows of GTEP (see the module docstring)."""
    return GTEPStep(dynamics)

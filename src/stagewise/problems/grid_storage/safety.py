"""Grid-storage step constraints for the safety layer (A.7.4-A.7.5).

Columns: outputs ``p_g`` ``[G]``, charge ``c_n`` and discharge ``pd_n`` ``[N]``, shed
``ls_n`` ``[N]`` and, with several buses, the angles ``theta`` of buses 2..N. For the
battery energy ``E_n`` and the demand ``D_n`` of the hour being decided:

- ``soc`` (``[N]``): ``E_min - gamma E <= eta c - pd / eta <= E_max - gamma E``;
- ``shed``: ``ls_n <= D_n`` (a column bound; 0 always satisfies it);
- ``angle`` and ``flow_ratio`` (one row per energised line ``l = (i, j)``):
  ``max(theta^low_l, -f^max_l / |B_l|) <= theta_i - theta_j <= min(theta^up_l,
  f^max_l / |B_l|)``;
- ``slack`` and ``balance`` (``[N]``): the shortfall ``D - ls - sum_g p + c - pd +
  sum_l inc_ln B_l (theta_i - theta_j)`` lies in ``[0, s^max]`` (no over-generation,
  no shortfall beyond what the slack generator covers).

With ``uncertainty="forecast"`` ``D`` is the forecast mean of the hour (what the
decision maker knows), so a realised demand away from it can still cost.
"""

from __future__ import annotations

import numpy as np

from stagewise.core.env import State
from stagewise.core.safety import ColumnBlock, RowBlock, StepBounds, StepConstraints
from stagewise.problems.grid_storage.env import GridStorageDynamics


class GridStorageStep(StepConstraints):
    """The projection rows of one grid-storage hour."""

    def __init__(self, dynamics: GridStorageDynamics):
        self.dynamics = dyn = dynamics
        g = dyn.data
        self.columns = tuple(ColumnBlock.of_field(f) for f in dyn.codec.fields)
        eye = np.eye(g.n_bus)
        rows = [RowBlock("soc", g.n_bus, {"charge": g.eta * eye, "discharge": -eye / g.eta})]
        balance = {"p": -g.gen_at_bus.T, "charge": eye, "discharge": -eye, "shed": -eye}
        gain = g.susceptance * g.energised
        self.energised = np.flatnonzero(gain != 0)
        if g.n_bus > 1:
            free = g.incidence[:, 1:]  # angle differences per unit of theta_2..N
            balance["theta"] = g.incidence.T @ (gain[:, None] * free)
            lines = self.energised
            rows.append(RowBlock("angle", lines.size, {"theta": free[lines]}))
            reach = g.f_max[lines] / np.abs(gain[lines])
            self.diff_low = np.maximum(g.angle_low[lines], -reach)
            self.diff_high = np.minimum(g.angle_up[lines], reach)
        rows.append(RowBlock("balance", g.n_bus, balance))
        self.rows = tuple(rows)
        self.shed_column = sum(b.size for b in self.columns[:3])

    def bounds(self, state: State) -> StepBounds:
        dyn, g = self.dynamics, self.dynamics.data
        n = state["t"].shape[0]
        demand = self.demand(state)
        stored = g.gamma * state["E"]
        low = [g.e_min - stored]
        high = [g.e_max - stored]
        if g.n_bus > 1:
            low.append(np.broadcast_to(self.diff_low, (n, self.diff_low.size)))
            high.append(np.broadcast_to(self.diff_high, (n, self.diff_high.size)))
        low.append(-demand)
        high.append(dyn.config.smax - demand)
        col_high = np.tile(np.concatenate([b.flat(b.high) for b in self.columns]), (n, 1))
        shed = slice(self.shed_column, self.shed_column + g.n_bus)
        col_high[:, shed] = np.minimum(col_high[:, shed], np.maximum(demand, 0.0))
        return StepBounds(
            row_low=np.concatenate(low, axis=1),
            row_high=np.concatenate(high, axis=1),
            col_high=col_high,
        )

    def demand(self, state: State) -> np.ndarray:
        """``[n, N]`` demand of the hour being decided (the forecast mean when uncertain)."""
        dyn = self.dynamics
        hour = np.minimum(state["t"], dyn.horizon - 1)
        if dyn.errors is None:
            return dyn.data.demand[hour]
        return dyn.load_forecast(state)[np.arange(hour.shape[0]), hour]


def step_constraints(dynamics: GridStorageDynamics) -> GridStorageStep:
    """The safety layer's rows of grid storage (see the module docstring)."""
    return GridStorageStep(dynamics)

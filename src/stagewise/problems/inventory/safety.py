"""Inventory-management step constraints for the safety layer (A.6.5-A.6.6).

Columns: the orders ``x_l`` of the routes (``[L]``, ``[0, cap_l]``). For each stock
node ``n`` the step ships ``c_n = sum_{l out of n} x_l / y_n`` (``y_n`` its production
yield) out of the room it has after sales and arrivals,

    ``room_n = I_n + sum_{l into n} pipeline_l,0 - [n = retailer] min(I_n, D^pend + B)``,

and one two-sided row per node keeps both costs at zero:

- ``shipment``: ``c_n <= f room_n`` (``f`` = ``ship_fraction``; more is cut pro rata);
- ``on_hand``: ``c_n >= room_n - Cap_n`` (the stock left must fit, else it is lost).

A node whose room exceeds its capacity and that cannot ship the excess out (the
retailer, or ``f room_n < room_n - Cap_n``) has no feasible order. Orders placed now
decide whether that happens next period, so a second row per node looks one period
ahead (``on_hand``): the next room

    ``room'_n = room_n - c_n + sum_{l into n} (pipeline_l,1 + [LT_l = 1] x_l) - S'_n
    <= Cap_n``,

with ``S'`` the next sales at the retailer counted only as far as they are certain now
(the backlog it will owe, up to the stock it will hold). This is stricter than needed
(a node could also ship an excess out next period) but recursively feasible: when every
room is within its capacity, ordering nothing keeps it so (with lead times of one
period, the published instance's), so from the initial state the layer never meets an
infeasible step. The looser ``room'_n <= Cap_n / (1 - f)`` is not: the excess a node
must ship out can exceed what its customer may receive. Where a state has no feasible
order (longer lead times) the layer returns the least-violating orders.
"""

from __future__ import annotations

import numpy as np

from stagewise.core.env import State
from stagewise.core.safety import ColumnBlock, RowBlock, StepBounds, StepConstraints
from stagewise.problems.inventory.env import InvMgmtDynamics


class InvMgmtStep(StepConstraints):
    """The projection rows of one inventory period."""

    def __init__(self, dynamics: InvMgmtDynamics):
        self.dynamics = d = dynamics
        self.columns = (ColumnBlock.of_field(d.codec.fields[0]),)  # the orders
        shipped = d.out_of.T / d.node_yield[:, None]  # [N, L]: c_n per unit of each order
        arriving = (d.into * (d.lead == 1)[:, None]).T  # [N, L]: orders in next period's room
        # one row per node: the shipment limit above, the capacity below; then next period
        self.rows = (
            RowBlock("shipment", len(d.nodes), {"order": shipped}),
            RowBlock("on_hand", len(d.nodes), {"order": arriving - shipped}),
        )
        self.retailer_ships = bool(d.out_of[:, d.retailer].any())

    def bounds(self, state: State) -> StepBounds:
        d = self.dynamics
        stock = state["on_hand"]
        available = stock + state["pipeline"][:, :, 0] @ d.into
        sales = np.minimum(stock[:, d.retailer], state["pending"] + state["backlog"])
        room = available.copy()
        room[:, d.retailer] -= sales
        ahead = d.capacity - room
        if d.max_lead > 1:  # orders already in transit that arrive next period
            ahead -= state["pipeline"][:, :, 1] @ d.into
        # next period's sales, as far as certain now: the backlog owed, up to the stock held
        owed = state["backlog"] + state["pending"] - sales
        held = np.minimum(room[:, d.retailer], d.capacity[d.retailer])
        ahead[:, d.retailer] += np.minimum(owed, 0.0 if self.retailer_ships else held)
        f = d.config.ship_fraction
        return StepBounds(
            row_low=np.concatenate([room - d.capacity, np.full_like(room, -np.inf)], axis=1),
            row_high=np.concatenate([f * room, ahead], axis=1),
        )


def step_constraints(dynamics: InvMgmtDynamics) -> InvMgmtStep:
    """The safety layer's rows of inventory management (see the module docstring)."""
    return InvMgmtStep(dynamics)

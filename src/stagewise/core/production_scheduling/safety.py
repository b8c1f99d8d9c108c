"""Production-network step constraints for the safety layer (RTN A.1.5-A.1.6, STN A.2.5-A.2.6).

One builder for both networks (see :mod:`stagewise.core.production_scheduling.network`):
a small MILP with, per pair ``j``, the batch request ``r_j`` (the decision, in the codec's
range), the batch ``b_j`` it starts (``[0, V^max_j]``, 0 for idle) and a binary ``z_j``
(the pair starts a batch). For the stock ``X``, free equipment ``E``, what is
``pending`` ``[D - 1, M]`` and the demand ``d_u`` of period ``t + u``:

- the decoding: ``r_j = b_j`` for a started pair and ``r_j`` in the idle range
  ``[L_j, H_j]`` for an idle one (default decoding: ``[r^low_j, V^min_j)``; published:
  the middle of the range), as ``L_j (1 - z_j) <= r_j - b_j <= H_j (1 - z_j)`` (open for
  the pairs that never run); the distance is then in the codec's normalized units;
- ``sanitization``: ``V^min_j z_j <= b_j <= V^max_j z_j`` (a batch in range or idle) and,
  for every material a pair consumes that is not bought back (not a reactant),
  ``sum_j nu^-_{jm} b_j <= X_m - X^min_m``: nothing is cut or dropped for lack of
  material;
- ``equipment``: ``sum_j uses_{jk} z_j <= floor(E_k)``: no batch asks for a busy unit;
- ``inventory_bounds``: the stock ``E_u`` at the end of period ``t + u`` stays within
  ``X^max``. What a period ends with is ``max(S - d, min(S, X^min)) + arr`` (``S`` the
  stock after the starts and orders, ``arr`` the arrivals; the demand only for products),
  so ``E_u <= max(E_{u-1} - d_u, X^min) + arr_u`` and, unrolled, one row per pair
  ``(u, s)`` with ``0 <= u < D`` and ``-1 <= s <= u``:

  ``X - nu^- b + sum_{v <= u} (arr_v - d_v) <= X^max`` (``s = -1``),
  ``X^min + sum_{s <= v <= u} arr_v - sum_{s < v <= u} d_v <= X^max`` (``s >= 0``),

  with ``arr_v = pending_v + deliver_v b`` the arrivals of period ``t + v`` from the
  batches started now or before. The rows for ``u >= 1`` look ahead as far as the
  longest delay, counting no later starts and no later consumption: stricter than
  needed for a material a later batch consumes, but idling keeps every row of the next
  period satisfied, so from the initial state no step is infeasible (with the demand
  known; with ``uncertainty="forecast"`` ``d`` is the forecast mean, and a realised
  demand below it can still overflow). Rows of periods past the horizon are open.

The distance counts ``r`` in the codec's normalized units and each start ``z_j``
switched against the proposal's at ``RUN_WEIGHT``. The decoding rows are the convex hull
of each pair's disjunction, but a material or equipment limit can still leave ``z``
fractional in the LP relaxation (a batch below ``V^min``): those steps go through branch
and bound.

A started batch the projection leaves in the published decoding's idle dead zone moves
just below it (the zone is ``1e-3`` of the range wide).
"""

from __future__ import annotations

import numpy as np

from stagewise.core.bounded import DEFAULT_TOL
from stagewise.core.env import State
from stagewise.core.production_scheduling.network import DEAD_ZONE, NetworkDynamics
from stagewise.core.safety import ColumnBlock, RowBlock, StepBounds, StepConstraints
from stagewise.core.spaces import Decision

RUN_WEIGHT = 0.5
"""Distance per start ``z_j`` switched against the proposal's (a quarter of a binary
decision flipped in normalized units): a cost on ``z`` keeps the LP relaxation whole
where the proposal is feasible (without it any ``z`` between ``b / V^max`` and 1 is
optimal there, and the copy goes to branch and bound)."""


class NetworkStep(StepConstraints):
    """The projection rows of one period of a production network."""

    def __init__(self, dynamics: NetworkDynamics):
        self.dynamics = dyn = dynamics
        nw = dyn.network
        n_pairs, n_m = len(nw.pairs), len(nw.materials)
        self.active = nw.active.astype(bool)
        self.columns = (
            ColumnBlock.of_field(dyn.codec.fields[0]),  # the request r
            ColumnBlock("amount", (n_pairs,), 0.0, nw.v_max * self.active),  # b
            # z, against the proposal's starts at RUN_WEIGHT per start switched
            ColumnBlock("runs", (n_pairs,), 0.0, self.active, 1.0 / RUN_WEIGHT, integer=True),
        )
        # An idle pair's request lies in [idle_low, idle_high] (its batch is 0); a started
        # pair's request is its batch.
        low, _ = nw.request_bounds()
        if nw.decoding == "published":
            self.idle_low = self.idle_high = nw.idle_request()
        else:
            self.idle_low, self.idle_high = low, nw.v_min - 2.0 * DEFAULT_TOL
        eye = np.eye(n_pairs)
        self.limiting = ((nw.consume > 0).any(axis=0) & ~nw.reactant).nonzero()[0]
        self.delays = nw.max_delay
        self.pairs_us = [(u, s) for u in range(self.delays) for s in range(-1, u + 1)]
        rows = [
            RowBlock(
                "sanitization",
                n_pairs,
                {"batch": eye, "amount": -eye, "runs": np.diag(self.idle_low)},
            ),
            RowBlock(
                "sanitization",
                n_pairs,
                {"batch": eye, "amount": -eye, "runs": np.diag(self.idle_high)},
            ),
            RowBlock("sanitization", n_pairs, {"amount": eye, "runs": -np.diag(nw.v_min)}),
            RowBlock("sanitization", n_pairs, {"amount": eye, "runs": -np.diag(nw.v_max)}),
            RowBlock(
                "sanitization", self.limiting.size, {"amount": nw.consume[:, self.limiting].T}
            ),
            RowBlock("equipment", len(nw.equipment), {"runs": nw.uses.T}),
        ]
        for u, s in self.pairs_us:
            arrivals = nw.deliver[:, max(s, 0) : u + 1, :].sum(axis=1).T  # [M, J]
            coefficients = arrivals - nw.consume.T if s < 0 else arrivals
            rows.append(RowBlock("inventory_bounds", n_m, {"amount": coefficients}))
        self.rows = tuple(rows)

    def demand_ahead(self, state: State) -> np.ndarray:
        """``[n, D, M]``: the demand of periods ``t .. t + D - 1`` per material (0 for the
        materials that are not products and past the horizon; the forecast mean when
        uncertain)."""
        dyn, nw = self.dynamics, self.dynamics.network
        t = state["t"]
        n = t.shape[0]
        demand = nw.demand[None] if dyn.errors is None else dyn.demand_forecast(state)
        periods = t[:, None] + np.arange(self.delays)  # [n, D]
        inside = periods < nw.horizon
        rows = np.arange(n)[:, None] if demand.shape[0] > 1 else np.zeros((n, 1), dtype=int)
        by_product = demand[rows, np.minimum(periods, nw.horizon - 1)] * inside[:, :, None]
        out = np.zeros((n, self.delays, len(nw.materials)))
        out[:, :, nw.products] = by_product
        return out

    def bounds(self, state: State) -> StepBounds:
        nw = self.dynamics.network
        t, stock = state["t"], state["X"]
        n, n_pairs = t.shape[0], len(nw.pairs)
        pending = np.zeros((n, self.delays, len(nw.materials)))
        pending[:, : self.delays - 1] = state["pending"]
        demand = self.demand_ahead(state)
        inf = np.full((n, n_pairs), np.inf)
        zeros = np.zeros((n, n_pairs))
        # r - b + L z >= L and r - b + H z <= H; open for the pairs that never run
        coupled_low = np.where(self.active, self.idle_low, -np.inf) + zeros
        coupled_high = np.where(self.active, self.idle_high, np.inf) + zeros
        low = [coupled_low, -inf, zeros, -inf, np.full((n, self.limiting.size), -np.inf)]
        high = [inf, coupled_high, inf, zeros, stock[:, self.limiting] - nw.x_min[self.limiting]]
        low.append(np.full((n, len(nw.equipment)), -np.inf))
        high.append(np.floor(state["E"] + DEFAULT_TOL))
        open_rows = np.full_like(stock, -np.inf)
        for u, s in self.pairs_us:
            past = (t + u >= nw.horizon)[:, None]
            arrived = pending[:, max(s, 0) : u + 1].sum(axis=1)
            sold = demand[:, s + 1 : u + 1].sum(axis=1)
            base = stock if s < 0 else nw.x_min
            low.append(open_rows)
            high.append(np.where(past, np.inf, nw.x_max - base - arrived + sold))
        return StepBounds(np.concatenate(low, axis=1), np.concatenate(high, axis=1))

    def target(self, proposal: Decision) -> dict[str, np.ndarray]:
        request = np.asarray(proposal["batch"], np.float64)
        return {"batch": request, "runs": self.dynamics.started(request).astype(np.float64)}

    def decision(self, values: dict[str, np.ndarray], proposal: Decision) -> Decision:
        nw = self.dynamics.network
        request = values["batch"]
        if nw.decoding == "published":  # a started batch in the idle dead zone moves below it
            middle = 0.5 * (nw.v_min + nw.v_max)
            width = DEAD_ZONE * 0.5 * (nw.v_max - nw.v_min)
            runs = values["runs"] > 0.5
            dead = runs & (np.abs(request - middle) <= width)
            request = np.where(dead, middle - 2.0 * width, request)
        return {**proposal, "batch": request}


def step_constraints(dynamics: NetworkDynamics) -> NetworkStep:
    """The safety layer's rows of a production network (see the module docstring)."""
    return NetworkStep(dynamics)

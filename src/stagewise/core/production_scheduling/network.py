"""Batch-plant production networks: tasks that turn materials into materials on held equipment.

Resource-task and state-task network scheduling (SafeOR-Gym RTN, STN) share one
physical system, described here once as a :class:`Network` of arrays:

- materials ``m`` (reactants, intermediates, products) with stock ``X_m`` in
  ``[X_m^min, X_m^max]``; reactants below ``X^min`` are bought at an order price,
  products meet an exogenous demand ``d_{p,t}`` at a price;
- equipment ``k`` with ``E_k`` free units;
- *pairs* ``j`` (a task on a unit; in an RTN a task and its equipment): a batch
  ``b_j`` in ``{0} U [V_j^min, V_j^max]`` consumes ``nu^-_{jm} b_j`` at its start,
  delivers ``nu^+_{jm} b_j`` after its delay ``delta_{jm} >= 1`` periods, and
  holds one unit of each of its equipment for ``hold_j`` periods.

:class:`NetworkDynamics` is the batched transition; :class:`NetworkEnv` its
Gymnasium environment. The decision is one batch request per pair; how a
normalized action maps to it is the ``decoding``:

- ``"default"``: ``a < 0`` idles, ``a in [0, 1]`` maps onto ``[V^min, V^max]`` (the
  codec's range is ``[V^min - (V^max - V^min), V^max]``; a request below ``V^min``
  is idle);
- ``"published"``: SafeOR-Gym's ``V^min + (a + 1)/2 (V^max - V^min)``, idle only in
  the dead zone ``|a| <= 1e-3`` (the middle of the batch range).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar, Literal

import numpy as np
from gymnasium import spaces

from stagewise.core.bounded import DEFAULT_TOL
from stagewise.core.env import ConstrainedEnv, Dynamics, State, Transition, as_operand
from stagewise.core.forecast import WindowTable, window_batched
from stagewise.core.spaces import ActionCodec, Decision, DecisionField
from stagewise.core.uncertainty import ErrorModel

Decoding = Literal["default", "published"]
# Half-width of the published idle dead zone, on the normalized action.
DEAD_ZONE = 1e-3
ZERO, ONE = as_operand(0.0), as_operand(1.0)
COST_FAMILIES = ("inventory_bounds", "equipment", "sanitization")
REWARD_TERMS = ("revenue", "unmet_demand", "utilities", "orders")


@dataclass(frozen=True)
class Network:
    """A production network as arrays (materials ``M``, equipment ``K``, pairs ``J``,
    products ``P``, periods ``T``, longest delay ``D``).

    Attributes:
        materials: names ``[M]``; ``reactant`` ``[M]`` marks the purchasable ones.
        x0, x_min, x_max: initial stock and bounds ``[M]``.
        order_price: price per unit bought ``[M]`` (0 except reactants).
        products: indices ``[P]`` into ``materials``; ``price`` ``[P]``; ``demand`` ``[T, P]``.
        equipment: names ``[K]``; ``e0`` initial free units ``[K]``; ``e_max`` ``[K]``.
        pairs: names ``[J]``; ``active`` ``[J]`` (inactive pairs never run: the published
            STN task x unit matrix); ``v_min``, ``v_max`` ``[J]``.
        consume: ``nu^-`` ``[J, M]``, per unit of batch, taken at the start.
        deliver: ``[J, D, M]``: amount per unit of batch available ``d + 1`` periods later.
        uses: ``[J, K]`` 0/1: equipment held by the pair.
        release: ``[J, D, K]`` 0/1: equipment back ``d + 1`` periods after the start.
        utility_cost: ``[T, J]`` utility cost per unit of batch in each period.
        unmet_factor: unmet demand costs ``unmet_factor * price`` per unit.
        sanitization_weight: ``lambda_sanit``, the weight of the sanitization cost.
        sanitization: ``"count"`` (batches cut or dropped) or ``"magnitude"`` (the batch
            amount they lost, ``sum_j |b_j^final - b_j^requested|``).
        decoding: ``"default"`` or ``"published"`` (module docstring).
    """

    materials: tuple[str, ...]
    reactant: np.ndarray
    x0: np.ndarray
    x_min: np.ndarray
    x_max: np.ndarray
    order_price: np.ndarray
    products: np.ndarray
    price: np.ndarray
    demand: np.ndarray
    equipment: tuple[str, ...]
    e0: np.ndarray
    e_max: np.ndarray
    pairs: tuple[str, ...]
    active: np.ndarray
    v_min: np.ndarray
    v_max: np.ndarray
    consume: np.ndarray
    deliver: np.ndarray
    uses: np.ndarray
    release: np.ndarray
    utility_cost: np.ndarray
    unmet_factor: float
    sanitization_weight: float
    sanitization: Literal["count", "magnitude"]
    decoding: Decoding

    @property
    def horizon(self) -> int:
        return int(self.demand.shape[0])

    @property
    def max_delay(self) -> int:
        return int(self.deliver.shape[1])

    def request_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Range ``[J]`` of the batch request the codec maps ``[-1, 1]`` onto."""
        if self.decoding == "published":
            return self.v_min.copy(), self.v_max.copy()
        return self.v_min - (self.v_max - self.v_min), self.v_max.copy()

    def idle_request(self) -> np.ndarray:
        """The request ``[J]`` that idles each pair: ``a = -1`` (default) or ``a = 0``
        (published dead zone, the middle of the batch range)."""
        low, high = self.request_bounds()
        return 0.5 * (low + high) if self.decoding == "published" else low

    def as_request(self, batch: np.ndarray) -> np.ndarray:
        """Batch sizes ``[n, J]`` (0 for idle) as requests: idle pairs get the idle request."""
        batch = np.asarray(batch, dtype=np.float64)
        idle = batch < self.v_min - DEFAULT_TOL
        return np.where(idle, self.idle_request(), batch)


class NetworkDynamics(Dynamics):
    """Batched transition of a production network (SafeOR-Gym A.1.5 / A.2.5, corrected physics).

    State (physical): periods done ``t``; stock ``X`` ``[M]``; free equipment
    ``E`` ``[K]``; ``pending`` ``[D - 1, M]`` and ``returning`` ``[D - 1, K]``, what
    arrives at the end of periods ``t, t + 1, ...``. A step in period ``t``:

    1. *Sanitize* pair by pair in order: a requested batch whose equipment is
       busy (``E_k < 1``) is dropped (cost ``equipment``, a count); one that would
       take an intermediate or product below ``X^min`` is cut to
       ``b_j = min_m (X_m - X_m^min) / nu^-_{jm}``, or dropped if that is below
       ``V^min`` (cost ``sanitization``: a count, or with ``sanitization="magnitude"``
       the batch amount removed, times ``lambda_sanit``).
    2. *Start*: ``X -= nu^- b``; one unit of each used equipment is taken.
    3. *Order*: a reactant below ``X^min`` is bought back up to it (``Pi^order``).
    4. *Sell*: ``s_p = min(X_p - X_p^min, d_{p,t})``, removed from stock; revenue
       ``price s``, unmet ``unmet_factor price (d - s)``.
    5. *Deliver*: outputs and equipment due at the end of ``t`` arrive; stock
       above ``X^max`` is discarded (cost ``inventory_bounds``, a count).
    """

    cost_families = COST_FAMILIES
    reward_term_names = REWARD_TERMS

    def __init__(self, network: Network, errors: ErrorModel | None = None):
        self.network = nw = network
        self.horizon = nw.horizon
        # uncertainty="forecast": each episode's demand drawn around the network's.
        self.errors = errors
        low, high = nw.request_bounds()
        self.codec = ActionCodec([DecisionField("batch", (len(nw.pairs),), low, high)])
        self.order = [int(j) for j in np.flatnonzero(nw.active)]
        self.magnitude = nw.sanitization == "magnitude"
        self._pair_constants()
        self._build_observation()

    def _pair_constants(self) -> None:
        nw = self.network
        limiting = (nw.consume > 0) & ~nw.reactant[None, :]
        self.k = SimpleNamespace(
            x_min=as_operand(nw.x_min),
            x_max=as_operand(nw.x_max),
            tol=as_operand(DEFAULT_TOL),
            below_one=as_operand(1.0 - DEFAULT_TOL),
            reactant_floor=as_operand(np.where(nw.reactant, nw.x_min, -np.inf)),
            order_price=as_operand(nw.order_price),
            price=as_operand(nw.price),
            unmet_price=as_operand(nw.unmet_factor * nw.price),
            weight=as_operand(nw.sanitization_weight),
            one_period=np.ones((), np.int64),
            horizon=np.asarray(self.horizon, np.int64),
            # Where a request starts a batch (see started), as row operands.
            active=nw.active[None, :],
            threshold=as_operand(nw.v_min - DEFAULT_TOL),
            middle=as_operand(0.5 * (nw.v_min + nw.v_max)),
            half_width=as_operand(DEAD_ZONE * 0.5 * (nw.v_max - nw.v_min)),
        )
        # Per active pair, in order: the materials that limit its batch and their nu^-,
        # its equipment, V^min and nu^- (columns as slices where contiguous: cheaper).
        self.steps = [
            SimpleNamespace(
                j=j,
                limited=_columns(limiting[j]),
                need=as_operand(nw.consume[j, limiting[j]]),
                held=_columns(nw.uses[j] > 0),
                v_min=as_operand(nw.v_min[j]),
                v_min_tol=as_operand(nw.v_min[j] - DEFAULT_TOL),
                consume=as_operand(nw.consume[j]),
            )
            for j in self.order
        ]
        self.products = _columns(np.isin(np.arange(len(nw.materials)), nw.products))
        d, m, k = nw.max_delay, len(nw.materials), len(nw.equipment)
        self.deliver_flat = nw.deliver.reshape(len(nw.pairs), d * m)
        self.release_flat = nw.release.reshape(len(nw.pairs), d * k)

    def _build_observation(self) -> None:
        nw = self.network
        delivered = nw.deliver.sum(axis=(0, 1)) > 0
        self.pending_materials = (
            _columns(delivered) if delivered.any() else np.flatnonzero(delivered)
        )
        d = nw.max_delay - 1
        # The most that can ever be pending for a material: every pair at V^max.
        most = np.einsum("j,jdm->m", nw.v_max * nw.active, nw.deliver)[delivered]
        self.k.pending_scale = as_operand(np.tile(np.where(most > 0, most, 1.0), d))
        self.k.stock_span = as_operand(nw.x_max - nw.x_min)
        self.k.e_scale = as_operand(np.maximum(nw.e_max, 1.0))
        self.k.return_scale = as_operand(np.tile(np.maximum(nw.e_max, 1.0), d))
        self.demand_scale = max(float(nw.demand.max(initial=0.0)), 1e-9)
        if self.errors is not None:  # room for draws up to 3 stationary standard deviations
            self.demand_scale *= float(np.exp(3.0 * np.sqrt(self.errors.variance(10**6))))
        self.demand_table = WindowTable(
            nw.demand, self.horizon, pad="zero", transform=self._observed_demand
        )
        sizes = [len(nw.materials), len(nw.equipment), d * int(delivered.sum())]
        sizes += [d * len(nw.equipment), self.horizon * len(nw.products) + 1]
        ends = np.cumsum(sizes)
        self.obs_parts = [slice(int(e - s), int(e)) for s, e in zip(sizes, ends, strict=True)]
        self.observation_space = spaces.Box(0.0, 1.0, shape=(int(ends[-1]),), dtype=np.float32)

    def _observed_demand(self, windows: np.ndarray) -> np.ndarray:
        """Windows ``[rows, T, P]`` of every start period as scaled entries followed by ``t/T``
        (float32 in [0, 1], the tail of the observation)."""
        rows = len(windows)
        flat = windows.reshape(rows, -1) / self.demand_scale
        tail = np.concatenate([flat, (np.arange(rows) / self.horizon)[:, None]], axis=1)
        return np.minimum(1.0, np.maximum(0.0, tail)).astype(np.float32)

    # ------------------------------------------------------------------ state
    def initial_state(self, rng: np.random.Generator, n: int) -> State:
        nw = self.network
        d = nw.max_delay - 1
        state = {
            "t": np.zeros(n, dtype=np.int64),
            "X": np.tile(nw.x0, (n, 1)),
            "E": np.tile(nw.e0, (n, 1)),
            "pending": np.zeros((n, d, len(nw.materials))),
            "returning": np.zeros((n, d, len(nw.equipment))),
        }
        if self.errors is not None:
            shape = (len(nw.products),)
            state["log_error"] = self.errors.draw(rng, n, self.horizon, shape)
            state["demand"] = self.errors.realise(nw.demand, state["log_error"])
        return state

    def scenario(self, state: State) -> dict[str, np.ndarray]:
        """The realised demand ``{"demand": [n, T, P]}`` of each copy's episode (oracle use)."""
        return {"demand": state["demand"]}

    def demand_forecast(self, state: State) -> np.ndarray:
        """``uncertainty="forecast"``: ``[n, T, P]`` demand known after ``t`` periods:
        realised before, the forecast mean from the period being decided on."""
        assert self.errors is not None
        return self.errors.forecast(self.network.demand, state["log_error"], state["t"])

    def physical_state(self, state: State) -> State:
        if self.errors is None:
            return state
        public = {k: v for k, v in state.items() if k not in ("demand", "log_error")}
        return {**public, "demand_forecast": self.demand_forecast(state)}

    def started(self, request: np.ndarray) -> np.ndarray:
        """Which requests ``[n, J]`` start a batch (before any repair): default decoding,
        ``b >= V^min``; published, outside the dead zone around the middle of the range."""
        k = self.k
        if self.network.decoding == "published":
            return k.active & (np.abs(request - k.middle) > k.half_width)
        return k.active & (request >= k.threshold)

    def sanitize(
        self, stock: np.ndarray, free: np.ndarray, request: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Feasible batches ``[n, J]`` for ``request`` given ``stock`` and ``free`` equipment.

        Returns the batches, the count of requests dropped for busy equipment and the
        count of requests cut or dropped for lack of material, or with
        ``sanitization="magnitude"`` the batch amount they lost (each ``[n]``).
        """
        k = self.k
        wanted = self.started(request)
        batch = np.zeros_like(request)
        room = stock - k.x_min  # what the pairs still in line may consume
        free = free.copy()
        busy = np.zeros(request.shape[0])
        short = np.zeros(request.shape[0])
        for p in self.steps:
            on = wanted[:, p.j]
            if p.held is not None:
                available = np.minimum.reduce(free[:, p.held], axis=1) >= k.below_one
                busy += on & ~available
                on = on & available
            ask = np.maximum(request[:, p.j], p.v_min)
            if p.limited is not None:
                ask_cut = np.minimum(ask, np.minimum.reduce(room[:, p.limited] / p.need, axis=1))
            else:
                ask_cut = ask
            runs = on & (ask_cut >= p.v_min_tol)
            got = ask_cut * runs
            batch[:, p.j] = got
            lost = (ask - got) * on
            short += lost * (lost > k.tol) if self.magnitude else lost > k.tol
            room -= got[:, None] * p.consume
            if p.held is not None:
                free[:, p.held] -= runs[:, None]
        return batch, busy, short

    def transition(self, state: State, decision: Decision, rng: np.random.Generator) -> Transition:
        k, nw = self.k, self.network
        period = state["t"]
        batch, busy, short = self.sanitize(state["X"], state["E"], decision["batch"])
        runs = (batch > ZERO).astype(np.float64)
        stock = state["X"] - batch @ nw.consume
        free = state["E"] - runs @ nw.uses
        bought = np.maximum(k.reactant_floor - stock, ZERO)
        stock = stock + bought
        products = self.products
        if "demand" in state:
            demand = state["demand"][np.arange(period.shape[0]), period]
        else:
            demand = nw.demand[period]
        sold = np.minimum(np.maximum(stock[:, products] - k.x_min[:, products], ZERO), demand)
        stock[:, products] -= sold
        n, d = batch.shape[0], nw.max_delay
        arriving = batch @ self.deliver_flat
        arriving = arriving.reshape(n, d, -1)
        arriving[:, :-1] += state["pending"]
        back = (runs @ self.release_flat).reshape(n, d, -1)
        back[:, :-1] += state["returning"]
        stock = stock + arriving[:, 0]
        overflow = np.add.reduce(stock > k.x_max + k.tol, axis=1).astype(np.float64)
        stock = np.minimum(stock, k.x_max)
        terms = {
            "revenue": np.add.reduce(sold * k.price, axis=1),
            "unmet_demand": -np.add.reduce((demand - sold) * k.unmet_price, axis=1),
            "utilities": -np.add.reduce(batch * nw.utility_cost[period], axis=1),
            "orders": -np.add.reduce(bought * k.order_price, axis=1),
        }
        next_state = {
            "t": period + k.one_period,
            "X": stock,
            "E": free + back[:, 0],
            "pending": arriving[:, 1:],
            "returning": back[:, 1:],
        }
        if "demand" in state:
            next_state["demand"], next_state["log_error"] = state["demand"], state["log_error"]
        return Transition(
            state=next_state,
            reward=terms["revenue"] + terms["unmet_demand"] + terms["utilities"] + terms["orders"],
            costs={
                "inventory_bounds": overflow,
                "equipment": busy,
                "sanitization": short * k.weight,
            },
            reward_terms=terms,
            terminated=next_state["t"] >= k.horizon,
        )

    def observe(self, state: State) -> np.ndarray:
        k, n = self.k, state["t"].shape[0]
        stock, free, pending, returning, demand = self.obs_parts
        obs = np.empty((n, demand.stop), dtype=np.float32)
        # Written into one float32 array (no concatenation); the tail is clipped already.
        np.divide(state["X"] - k.x_min, k.stock_span, out=obs[:, stock])
        np.divide(state["E"], k.e_scale, out=obs[:, free])
        np.divide(
            state["pending"][:, :, self.pending_materials].reshape(n, -1),
            k.pending_scale,
            out=obs[:, pending],
        )
        np.divide(state["returning"].reshape(n, -1), k.return_scale, out=obs[:, returning])
        head = obs[:, : demand.start]
        np.minimum(head, ONE, out=head)
        np.maximum(head, ZERO, out=head)
        if self.errors is None:
            obs[:, demand] = self.demand_table(state["t"])
        else:
            ahead = window_batched(self.demand_forecast(state), state["t"], self.horizon)
            tail = np.concatenate(
                [ahead.reshape(n, -1) / self.demand_scale, (state["t"] / self.horizon)[:, None]],
                axis=1,
            )
            obs[:, demand] = np.minimum(1.0, np.maximum(0.0, tail))
        return obs


def _columns(mask: np.ndarray) -> slice | np.ndarray | None:
    """Columns where ``mask`` holds: a slice when contiguous (basic indexing is cheaper than
    fancy indexing on the step path), an index array otherwise, ``None`` when empty."""
    index = np.flatnonzero(mask)
    if index.size == 0:
        return None
    if index[-1] - index[0] + 1 == index.size:
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


class NetworkEnv(ConstrainedEnv):
    """Base of the production-network environments: encodes idle batches per the decoding."""

    problem_id: ClassVar[str]

    @classmethod
    def network_of(cls, config: Any) -> Network:
        """The :class:`Network` a validated config describes."""
        return config.network()

    @classmethod
    def build_dynamics(cls, config: Any) -> NetworkDynamics:
        errors = config.error_model() if getattr(config, "stochastic", False) else None
        return NetworkDynamics(cls.network_of(config), errors)

    def encode(self, decision: dict[str, Any]) -> Any:
        """The action whose decoding runs ``decision["batch"]`` (0 or below ``V^min``: idle)."""
        nw = self.dynamics.network
        batch = np.asarray(decision["batch"], dtype=np.float64)
        return super().encode({"batch": nw.as_request(batch[None, :])[0]})

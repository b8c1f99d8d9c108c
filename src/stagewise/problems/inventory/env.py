"""Multi-echelon inventory management (SafeOR-Gym InvMgmtEnv, A.6), batched."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from stagewise.core.env import ConstrainedEnv, Dynamics, State, Transition, as_operand
from stagewise.core.spaces import ActionCodec, Decision, DecisionField
from stagewise.problems.inventory.config import InvMgmtConfig

# Stock shortfalls and overflows up to this many units are float32/solver noise: the
# shipment is still cut to the stock, but nothing is charged.
STOCK_TOL = 1e-4
ZERO, ONE = as_operand(0.0), as_operand(1.0)


class InvMgmtDynamics(Dynamics):
    """Batched transition of A.6.5 with the costs of A.6.6 and the reward of A.6.7.

    State (physical): periods done ``t``; on-hand stock ``on_hand`` ``[N]`` of the stock
    nodes; ``pipeline`` ``[L, LTmax]`` (slot ``s`` arrives ``s`` periods after the next
    one); ``backlog`` ``B`` (demand owed to the market); ``pending`` (the last period's
    demand, served in the next period); ``sales`` (units sold in the last period) and
    ``demand`` ``[T]`` (the episode's demand sequence).
    """

    cost_families = ("shipment", "on_hand")
    reward_term_names = ("revenue", "procurement", "operating", "holding", "backlog")

    def __init__(self, config: InvMgmtConfig):
        c = self.config = config
        self.horizon = c.T
        self.routes, self.nodes = c.routes, c.stock_nodes
        n_routes, n_nodes = len(self.routes), len(self.nodes)
        index = {node: i for i, node in enumerate(self.nodes)}
        # into[l, n] = 1 where route l delivers to node n; out_of[l, n] = 1 where it leaves n.
        self.into = np.zeros((n_routes, n_nodes))
        self.out_of = np.zeros((n_routes, n_nodes))
        for r, (i, j) in enumerate(self.routes):
            self.into[r, index[j]] = 1.0
            if i in index:
                self.out_of[r, index[i]] = 1.0
        self.node_yield = np.array([c.production_yield.get(n, 1.0) for n in self.nodes])
        self.lead = np.array([c.lead_times[f"({i},{j})"] for i, j in self.routes])
        self.max_lead = int(self.lead.max())
        self.route_cap = np.array(
            [c.route_value("reordering_route_capacity", r) for r in self.routes]
        )
        # Internal transfers are revenue of the sender and cost of the receiver: they cancel,
        # so only purchases from the raw suppliers are paid (A.6.7 Pi^rev - Pi^proc).
        self.raw_price = np.array(
            [c.route_value("unit_price", r) if r[0] in c.suppliers else 0.0 for r in self.routes]
        )
        self.operating = np.array(
            [c.operating_cost.get(i, 0.0) / c.production_yield.get(i, 1.0) for i, _ in self.routes]
        )
        self.holding = np.array([c.inventory_holding_cost[n] for n in self.nodes])
        self.transit_holding = np.array(
            [c.route_value("material_holding_cost", r) for r in self.routes]
        )
        self.capacity = np.array([c.inv_capacity[n] for n in self.nodes])
        self.initial = np.array([c.initial_inv[n] for n in self.nodes])
        self.retailer = index[c.sale_route[0]]
        self.price = c.route_value("unit_price", c.sale_route)
        self.backlog_penalty = c.route_value("unfulfilled_utility_penalty", c.sale_route)
        fixed = c.fixed_demand()
        self.fixed = None if fixed is None else np.array(fixed)
        # uncertainty="forecast": the episode's demand drawn around the fixed sequence.
        self.errors = c.error_model() if c.stochastic else None
        mean = c.demand_parameters.mean
        # What the decision maker knows of future demand: the sequence itself when it is
        # fixed, the mean when it is drawn.
        self.forecast = self.fixed if self.fixed is not None else np.full(c.T, mean)
        # place[l, s] = 1 at the slot LT_l - 1 where a new order on route l enters the pipeline.
        self.place = np.zeros((n_routes, self.max_lead))
        self.place[np.arange(n_routes), self.lead - 1] = 1.0
        self.slots = np.arange(self.max_lead)[None, :] < self.lead[:, None]  # slots in use
        self.codec = ActionCodec(
            [DecisionField("order", (n_routes,), 0.0, self.route_cap)], modes=("box",)
        )
        self.window = c.window
        self.demand_scale = max(float(self.forecast.max(initial=0.0)), mean, 1e-9)
        if self.errors is not None:  # room for draws up to 3 stationary standard deviations
            self.demand_scale *= float(np.exp(3.0 * np.sqrt(self.errors.variance(10**6))))
        size = n_nodes + int(self.slots.sum()) + 2 + self.window + 1
        self.observation_space = spaces.Box(0.0, 1.0, shape=(size,), dtype=np.float32)
        self.forecast_rows = self.forecast[None, :]
        self.rows = np.zeros(1, dtype=np.int64)
        # Forecast padded with zeros beyond T, so the window of any t is one slice.
        self.padded_forecast = np.concatenate([self.forecast, np.zeros(self.window + 1)])
        self.k = SimpleNamespace(
            into=self.into,
            out_of=self.out_of,
            out_of_t=np.ascontiguousarray(self.out_of.T),
            tiny=as_operand(1e-300),
            ones_nodes=np.ones(n_nodes),
            route_costs=np.stack([self.raw_price, self.operating], axis=1),
            node_yield=as_operand(self.node_yield),
            capacity=as_operand(self.capacity),
            place=as_operand(self.place),
            raw_price=self.raw_price,
            operating=self.operating,
            holding=self.holding,
            transit_holding=self.transit_holding,
            price=as_operand(self.price),
            backlog_penalty=as_operand(self.backlog_penalty),
            penalty=as_operand(c.on_hand_penalty),
            ship_fraction=as_operand(c.ship_fraction),
            tol=as_operand(STOCK_TOL),
            retailer_mask=as_operand(np.eye(n_nodes)[self.retailer]),
            horizon=np.asarray(self.horizon, np.int64),
            one_period=np.ones((), np.int64),
            obs_scale=1.0
            / np.concatenate(
                [
                    self.capacity,
                    np.broadcast_to(self.route_cap[:, None], self.slots.shape)[self.slots],
                    [self.demand_scale, self.demand_scale * c.T, self.demand_scale],
                    np.full(self.window - 1, self.demand_scale),
                    [1.0],
                ]
            ),
        )
        # Observation layout: stock | pipeline slots | sales, backlog, pending | forecast, t / T.
        self.slot_index = np.flatnonzero(self.slots.ravel())
        self.obs_sizes = (n_nodes, n_nodes + int(self.slots.sum()))
        ahead = np.arange(c.T + 1)[:, None] + np.arange(self.window - 1)[None, :]
        self.forecast_windows = self.padded_forecast[ahead]
        # Rows t = 0..T of the observation's tail: the forecast window and t / T (unscaled:
        # the forecast is divided by obs_scale with the rest).
        self.observed_tail = np.concatenate(
            [self.forecast_windows, (np.arange(c.T + 1) / c.T)[:, None]], axis=1
        )

    # ----------------------------------------------------------------- episode
    def draw_demand(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Demand sequences ``[n, T]``: the fixed one, or Normal(mean, std) truncated at 0."""
        if self.fixed is not None:
            assert self.errors is None, "uncertainty='forecast' draws in initial_state"
            return np.broadcast_to(self.fixed, (n, self.horizon)).copy()
        p = self.config.demand_parameters
        return np.maximum(rng.normal(p.mean, p.std, size=(n, self.horizon)), 0.0)

    def initial_state(self, rng: np.random.Generator, n: int) -> State:
        if self.errors is not None:
            log_error = self.errors.draw(rng, n, self.horizon)
            demand = self.errors.realise(self.fixed, log_error)
        else:
            log_error, demand = None, self.draw_demand(rng, n)
        state = {
            "t": np.zeros(n, dtype=np.int64),
            "on_hand": np.broadcast_to(self.initial, (n, len(self.nodes))).copy(),
            "pipeline": np.zeros((n, len(self.routes), self.max_lead)),
            "backlog": np.zeros(n),
            "pending": np.zeros(n),
            "sales": np.zeros(n),
            "demand": demand,
        }
        if log_error is not None:
            state["log_error"] = log_error
        return state

    def scenario(self, state: State) -> dict[str, np.ndarray]:
        """The realised demand ``[n, T]`` of each copy's episode (oracle use only)."""
        return {"demand": state["demand"]}

    def demand_forecast(self, state: State) -> np.ndarray:
        """``[n, T]``: the demand observed before period ``t`` (the pending demand included),
        the forecast mean from ``t`` on (the fixed sequence, or the mean when drawn)."""
        if self.errors is None:
            n = state["t"].shape[0]
            return (
                self.forecast_rows if n == 1 else np.broadcast_to(self.forecast, (n, self.horizon))
            )
        return self.errors.forecast(self.fixed, state["log_error"], state["t"])

    def transition(self, state: State, decision: Decision, rng: np.random.Generator) -> Transition:
        k = self.k
        stock, pipe, backlog = state["on_hand"], state["pipeline"], state["backlog"]
        order = decision["order"]
        arrivals = pipe[:, :, 0]
        available = stock + arrivals @ k.into
        # The retailer serves last period's demand and the backlog from its opening stock.
        sales = np.minimum(stock[:, self.retailer], state["pending"] + backlog)
        room = available - sales[:, None] * k.retailer_mask
        # Shipments leave the sender now, at most the share ship_fraction of its stock (so
        # never below 0). An excess is cut pro rata over the node's outgoing routes.
        consumed = (order @ k.out_of) / k.node_yield
        limit = k.ship_fraction * room
        short = consumed - limit
        cut = np.minimum(limit / np.maximum(consumed, k.tiny), ONE)  # 1 where within the limit
        order = order * (ONE - (ONE - cut) @ k.out_of_t)
        left = room - consumed * cut
        # Stock above the node's capacity does not fit and is lost (upper bound inv_capacity).
        over = left - k.capacity
        stock_next = np.minimum(left, k.capacity)
        if self.max_lead == 1:  # every order arrives next period: the pipeline is the orders
            pipe_next = order[:, :, None]
            in_transit = order
        else:
            pipe_next = np.concatenate([pipe[:, :, 1:], np.zeros_like(pipe[:, :, :1])], axis=2)
            pipe_next = pipe_next + order[:, :, None] * k.place
            in_transit = np.add.reduce(pipe_next, axis=2)
        pending = state["pending"]
        backlog_next = backlog + pending - sales
        t = state["t"]
        paid = order @ k.route_costs  # [n, 2]: raw purchases, operating
        terms = {
            "revenue": k.price * sales,
            "procurement": -paid[:, 0],
            "operating": -paid[:, 1],
            "holding": -(stock_next @ k.holding + in_transit @ k.transit_holding),
            "backlog": -k.backlog_penalty * backlog_next,
        }
        demand = state["demand"]
        rows = self.rows if t.shape[0] == 1 else np.arange(t.shape[0])
        next_state = {
            "t": t + k.one_period,
            "on_hand": stock_next,
            "pipeline": pipe_next,
            "backlog": backlog_next,
            "pending": demand[rows, t],
            "sales": sales,
            "demand": demand,
        }
        if "log_error" in state:
            next_state["log_error"] = state["log_error"]
        reward = (
            terms["revenue"]
            + terms["procurement"]
            + terms["operating"]
            + terms["holding"]
            + terms["backlog"]
        )
        return Transition(
            state=next_state,
            reward=reward,
            costs={
                # Products with a ones vector: cheaper than reductions along a short last axis.
                "shipment": k.penalty * ((short * (short > k.tol)) @ k.ones_nodes),
                "on_hand": k.penalty * ((over * (over > k.tol)) @ k.ones_nodes),
            },
            reward_terms=terms,
            terminated=next_state["t"] >= k.horizon,
        )

    # ------------------------------------------------------------- observation
    def demand_window(self, state: State) -> np.ndarray:
        """``[n, k]``: the pending demand, then the forecast of the next ``k - 1`` periods."""
        ahead = (
            self.forecast_windows[state["t"]] if self.errors is None else self.forecast_ahead(state)
        )
        return np.concatenate([state["pending"][:, None], ahead], axis=1)

    def observe(self, state: State) -> np.ndarray:
        n = state["t"].shape[0]
        obs = np.empty((n, self.observation_space.shape[0]))
        sizes = self.obs_sizes
        obs[:, : sizes[0]] = state["on_hand"]
        obs[:, sizes[0] : sizes[1]] = state["pipeline"].reshape(n, -1)[:, self.slot_index]
        obs[:, sizes[1]] = state["sales"]
        obs[:, sizes[1] + 1] = state["backlog"]
        obs[:, sizes[1] + 2] = state["pending"]
        if self.errors is None:
            obs[:, sizes[1] + 3 :] = self.observed_tail[state["t"]]
        else:
            obs[:, sizes[1] + 3 : -1] = self.forecast_ahead(state)
            obs[:, -1] = state["t"] / self.horizon
        obs *= self.k.obs_scale
        return np.minimum(ONE, np.maximum(ZERO, obs)).astype(np.float32)

    def forecast_ahead(self, state: State) -> np.ndarray:
        """``[n, k - 1]``: the forecast of periods ``t .. t + k - 2`` (0 beyond ``T``)."""
        padded = np.concatenate(
            [self.demand_forecast(state), np.zeros((state["t"].shape[0], self.window))], axis=1
        )
        ahead = state["t"][:, None] + np.arange(self.window - 1)[None, :]
        return np.take_along_axis(padded, ahead, axis=1)

    def physical_state(self, state: State) -> State:
        public = {k: v for k, v in state.items() if k not in ("demand", "log_error")}
        return {**public, "demand_forecast": self.demand_forecast(state)}


class InvMgmtEnv(ConstrainedEnv):
    """Multi-echelon supply chain: retailer, distributors, producers (SafeOR-Gym InvMgmtEnv, A.6).

    **Decision** each period (A.6.4): the reorder quantity ``order`` ``[L]`` on every route
    ``(i, j)`` (units, ``0..Cap_l``; ``box`` mode, mapped affinely from [-1, 1]).

    **Dynamics** (A.6.5), in order: the orders placed ``LT_l`` periods ago arrive;
    the retailer sells ``S = min(I_retailer, D_{t-1} + B)`` from its opening stock
    (the demand of a period is served in the next one, as in the published model);
    each node ships its orders out of its stock (a producer consumes ``Q / eta``
    raw units), at most ``ship_fraction`` (0.5) of it, an excess cut pro rata; stock above the
    node's capacity is lost; orders enter the pipeline; ``B' = B + D_{t-1} - S``.

    **Costs** (A.6.6, per step, ``phi`` = 10 per unit): ``shipment`` (units a node was asked
    to ship beyond ``ship_fraction`` of its stock, which keeps stock >= 0), ``on_hand``
    (units above a node's capacity) and ``action_range``.

    **Reward** (A.6.7): ``15 S`` minus raw purchases, operating cost ``C^oper/eta``
    per unit shipped by a producer, holding of on-hand and in-transit stock and
    ``20 B'``. Internal transfer prices cancel.

    **Observation** (float32 in [0, 1]): on-hand / capacity, pipeline slots / route
    capacity, sales and backlog (scaled by the demand), the demand window
    (the pending demand, then the forecast of the next ``k - 1`` periods: the
    sequence itself when fixed, the mean when drawn) and ``t / T``.

    **Episode**: ``T`` (30) periods; demand per ``config.demand``.

    **Stochastic variant** (``uncertainty="forecast"``): the demand of each episode is the
    fixed sequence times AR(1) log-space errors (``error_sigma``, ``error_phi``, see
    :mod:`stagewise.core.uncertainty`); the observed window holds the forecast mean,
    refreshed each period as demand is observed.
    """

    problem_id: ClassVar[str] = "InvMgmt"
    slug: ClassVar[str] = "inventory"
    summary: ClassVar[str] = "Multi-echelon inventory management (SafeOR-Gym A.6)"
    config_model = InvMgmtConfig

    @classmethod
    def build_dynamics(cls, config: Any) -> InvMgmtDynamics:
        return InvMgmtDynamics(config)

    def episode_demand(self) -> np.ndarray:
        """The demand sequence ``[T]`` of the current episode (drawn at reset)."""
        if self._state is None:
            raise RuntimeError("InvMgmt: call reset() before episode_demand()")
        return self._state["demand"][0].copy()

"""Production scheduling of a liquid air separation unit (SafeOR-Gym ASUEnv, A.9), batched."""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from scipy.optimize import linprog

from stagewise.core.env import ConstrainedEnv, Dynamics, State, Transition, as_operand
from stagewise.core.spaces import ActionCodec, Decision, DecisionField
from stagewise.problems.asu.config import HOURS_PER_DAY, ASUConfig

# Inventory within this many product units of a limit is float32/solver noise, not a
# violation: float32 actions resolve about 6e-8 of a weight, i.e. 1e-4 units of the largest
# point's 1333 per hour, and a day of 24 such hours stays well below it.
STOCK_TOL = 1e-2
ZERO = as_operand(0.0)


def hull_vertices(points: np.ndarray) -> np.ndarray:
    """Indices of the points ``[N, J]`` that are extreme points of their convex hull.

    A point is extreme when it is not a convex combination of the other points (one
    feasibility LP each); of repeated points only the first is kept.
    """
    return np.array(_hull_vertices(tuple(map(tuple, np.asarray(points, dtype=float)))), dtype=int)


@lru_cache(maxsize=32)
def _hull_vertices(points: tuple[tuple[float, ...], ...]) -> tuple[int, ...]:
    arr = np.array(points)
    keep = []
    for i, p in enumerate(arr):
        if any(np.array_equal(p, arr[k]) for k in range(i)):
            continue
        others = np.delete(arr, i, axis=0)
        others = others[~np.all(others == p, axis=1)]
        if len(others) == 0:
            keep.append(i)
            continue
        # Feasible iff p = sum_y mu_y others_y with mu >= 0, sum mu = 1.
        a_eq = np.vstack([others.T, np.ones(len(others))])
        res = linprog(np.zeros(len(others)), A_eq=a_eq, b_eq=np.append(p, 1.0), method="highs")
        if res.status != 0:
            keep.append(i)
    return tuple(keep)


class ASUDynamics(Dynamics):
    """Batched transition of A.9.5 with the costs of A.9.6 and the reward of A.9.7.

    State (physical): hour ``t`` of the episode (0-based, the hour being decided) and
    inventory ``iv`` ``[J]`` at its start.
    """

    cost_families = ("inventory_overflow", "demand_shortfall")
    reward_term_names = ("fixed", "variable")

    def __init__(self, config: ASUConfig):
        c = self.config = config
        self.horizon = c.hours
        self.products = list(c.products)
        points = c.points()
        self.vertex_index = hull_vertices(points)
        self.vertices = points[self.vertex_index]  # v_jx as [k, J]
        self.capacity = c.capacity()
        self.initial_iv = c.initial_inventory()
        self.price = c.price_series()  # [24 (D + S)]
        self.daily_demand = c.demand_series()  # [D + S, J]
        self.demand = np.zeros((len(self.price), len(self.products)))  # [24 (D + S), J]
        self.demand[HOURS_PER_DAY - 1 :: HOURS_PER_DAY] = self.daily_demand
        self.window = HOURS_PER_DAY * (c.lookahead_days + 1)
        # uncertainty="forecast": each episode's hourly prices and daily demands drawn
        # around the data (independent AR(1) paths: hourly for prices, daily per product).
        self.errors = c.error_model() if c.stochastic else None
        self.codec = ActionCodec(
            [DecisionField("weights", (len(self.vertices),), 0.0, 1.0)], modes=("box",)
        )
        self._build_observation()
        hourly = self.price[: self.horizon, None]
        n_points = len(self.vertices)
        self.k = SimpleNamespace(
            # [k, J + 2]: the points v_x, their output sum_j v_jx and 1 (to sum the weights).
            mix=np.concatenate(
                [self.vertices, self.vertices.sum(1, keepdims=True), np.ones((n_points, 1))], 1
            ),
            n_products=len(self.products),
            capacity=as_operand(self.capacity),
            # Per hour: the bill per unit of sum_j PQ_j and of y (with the reward's sign),
            # then the demand due, [T, 2 + J].
            hourly=np.concatenate(
                [
                    -hourly * c.dynamic_cost[0],
                    -hourly * c.fixed_cost[0],
                    self.demand[: self.horizon],
                ],
                axis=1,
            ),
            rho_iv=as_operand(c.inventory_penalty),
            rho_d=as_operand(c.demand_penalty),
            tol=as_operand(STOCK_TOL),
            tiny=as_operand(np.finfo(np.float64).tiny),
            horizon=np.asarray(self.horizon, np.int64),
            one_hour=np.ones((), np.int64),
        )

    # ------------------------------------------------------------ forecast
    def forecast(
        self, t: int, price: np.ndarray | None = None, demand: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """What is known at hour ``t``: prices ``[L]`` and demands ``[L, J]`` of hours
        ``t .. t + L - 1`` through the end of day ``d + S`` (``d`` today), and ``L``; read
        from ``price`` ``[24 (D + S)]`` and hourly ``demand`` (default: the data's; with
        ``uncertainty="forecast"``, the state's ``price_forecast`` and ``demand_forecast``)."""
        price = self.price if price is None else np.asarray(price)
        demand = self.demand if demand is None else np.asarray(demand)
        end = HOURS_PER_DAY * (t // HOURS_PER_DAY + self.config.lookahead_days + 1)
        end = min(end, len(price))
        return price[t:end].copy(), demand[t:end].copy(), max(end - t, 0)

    def _observed_forecast(
        self,
        t: int,
        price_series: np.ndarray | None = None,
        demand_series: np.ndarray | None = None,
    ) -> np.ndarray:
        """Scaled forecast entries ``[W + J W]`` at hour ``t`` (A.9.5 forecast update).

        The day-start window of ``W = 24 (S + 1)`` hours is shifted left by the hours
        gone; the vacated tail holds the mean of the known prices and zero demand.
        """
        price, demand, known = self.forecast(t, price_series, demand_series)
        obs_price = np.full(self.window, price.mean() if known else 0.0)
        obs_demand = np.zeros((self.window, len(self.products)))
        obs_price[:known], obs_demand[:known] = price, demand
        scaled_demand = (obs_demand / self.demand_scale).T.ravel()  # product-major
        return np.concatenate([obs_price / self.price_scale, scaled_demand])

    def _build_observation(self) -> None:
        self.price_scale = max(float(self.price.max(initial=0.0)), 1e-12)
        self.demand_scale = np.maximum(self.daily_demand.max(axis=0), 1e-12)
        if self.errors is not None:  # room for draws up to 3 stationary standard deviations
            room = float(np.exp(3.0 * np.sqrt(self.errors.variance(10**6))))
            self.price_scale, self.demand_scale = room * self.price_scale, room * self.demand_scale
        forecast_size = self.window * (1 + len(self.products))
        size = forecast_size + len(self.products)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(size,), dtype=np.float32)
        # Every hour's observation with the stock entries left 0, computed once in float32:
        # a step gathers its rows and writes the stock. The terminal row (t = T, nothing
        # left to decide) forecasts nothing.
        table = np.zeros((self.horizon + 1, size))
        for t in range(self.horizon):
            table[t, :forecast_size] = self._observed_forecast(t)
        self.obs_table = np.minimum(1.0, np.maximum(0.0, table)).astype(np.float32)
        self.stock_columns = slice(forecast_size, size)
        self.iv_scale = as_operand(self.capacity)

    # --------------------------------------------------------------- state
    def initial_state(self, rng: np.random.Generator, n: int) -> State:
        state = {
            "t": np.zeros(n, dtype=np.int64),
            "iv": np.broadcast_to(self.initial_iv, (n, len(self.products))).copy(),
        }
        if self.errors is not None:
            state["price_error"] = self.errors.draw(rng, n, len(self.price))
            state["demand_error"] = self.errors.draw(
                rng, n, len(self.daily_demand), (len(self.products),)
            )
            state["price"] = self.errors.realise(self.price, state["price_error"])
            state["daily_demand"] = self.errors.realise(self.daily_demand, state["demand_error"])
        return state

    def _hourly(self, daily: np.ndarray) -> np.ndarray:
        """Daily demands ``[n, days, J]`` as due hours ``[n, 24 days, J]`` (each day's last)."""
        hourly = np.zeros((daily.shape[0], len(self.price), daily.shape[2]))
        hourly[:, HOURS_PER_DAY - 1 :: HOURS_PER_DAY] = daily
        return hourly

    def scenario(self, state: State) -> dict[str, np.ndarray]:
        """The realised ``price`` ``[n, L]`` and hourly ``demand`` ``[n, L, J]`` (oracle use)."""
        return {"price": state["price"], "demand": self._hourly(state["daily_demand"])}

    def series_forecast(self, state: State) -> tuple[np.ndarray, np.ndarray]:
        """``uncertainty="forecast"``: prices ``[n, L]`` (realised before hour ``t``) and hourly
        demands ``[n, L, J]`` (realised for the days done) known at hour ``t``, forecast
        means from there on."""
        assert self.errors is not None
        price = self.errors.forecast(self.price, state["price_error"], state["t"])
        days_done = state["t"] // HOURS_PER_DAY
        daily = self.errors.forecast(self.daily_demand, state["demand_error"], days_done)
        return price, self._hourly(daily)

    def physical_state(self, state: State) -> State:
        if self.errors is None:
            return state
        price, demand = self.series_forecast(state)
        return {
            "t": state["t"],
            "iv": state["iv"],
            "price_forecast": price,
            "demand_forecast": demand,
        }

    def production(self, weights: np.ndarray) -> np.ndarray:
        """A.9.4-5: weights ``[n, k]`` in [0, 1] normalized to sum 1 (all zero: "Off").

        Returns ``[n, J + 2]``: ``PQ_j = sum_x lambda_x v_jx`` of the normalized weights,
        ``sum_j PQ_j``, and ``y`` (1 if the unit works, 0 if it is off).
        """
        # One product gives w @ v, sum_j (w @ v)_j and sum w; dividing by sum w normalizes
        # a working unit's weights (and makes y = 1), an idle one has all three 0.
        mixed = weights @ self.k.mix
        return mixed / np.maximum(mixed[:, -1:], self.k.tiny)

    def transition(self, state: State, decision: Decision, rng: np.random.Generator) -> Transition:
        k = self.k
        t, n_products = state["t"], k.n_products
        out = self.production(decision["weights"])
        if "price" in state:  # the episode's drawn prices and demands
            rows = np.arange(t.shape[0])
            price = state["price"][rows, t][:, None]
            due_now = np.where(
                (t % HOURS_PER_DAY == HOURS_PER_DAY - 1)[:, None],
                state["daily_demand"][rows, t // HOURS_PER_DAY],
                0.0,
            )
            hour = np.concatenate(
                [-price * self.config.dynamic_cost[0], -price * self.config.fixed_cost[0], due_now],
                axis=1,
            )
        else:
            hour = k.hourly[t]
        bill = out[:, n_products:] * hour[:, :2]
        terms = {"fixed": bill[:, 1], "variable": bill[:, 0]}
        stock = state["iv"] + out[:, :n_products]
        # Demand is due at the last hour of each day (zero at the other hours): the unit
        # ships DQ = min(IV + PQ, D), keeps max(IV + PQ - D, 0) and is charged D - DQ.
        due = hour[:, 2:]
        missing = due - stock
        short = np.where(missing > k.tol, missing, ZERO)
        kept = np.maximum(stock - due, ZERO)
        # A.9.5 state sanitization: what exceeds the storage is lost, and charged.
        above = kept - k.capacity
        lost = np.where(above > k.tol, above, ZERO)
        costs = {
            "inventory_overflow": np.add.reduce(lost, axis=1) * k.rho_iv,
            "demand_shortfall": np.add.reduce(short, axis=1) * k.rho_d,
        }
        next_t = t + k.one_hour
        next_state = {"t": next_t, "iv": np.minimum(kept, k.capacity)}
        if "price" in state:
            for key in ("price", "daily_demand", "price_error", "demand_error"):
                next_state[key] = state[key]
        return Transition(
            state=next_state,
            reward=np.add.reduce(bill, axis=1),
            costs=costs,
            reward_terms=terms,
            terminated=next_t >= k.horizon,
        )

    def observe(self, state: State) -> np.ndarray:
        if self.errors is None:
            obs = self.obs_table[state["t"]]  # a fresh [n, size] array
        else:  # the forecast of each copy, recomputed as the realisation unfolds
            price, demand = self.series_forecast(state)
            obs = np.zeros((state["t"].shape[0], self.observation_space.shape[0]), np.float32)
            columns = self.stock_columns.start
            for i, t in enumerate(state["t"]):
                if t < self.horizon:
                    row = self._observed_forecast(int(t), price[i], demand[i])
                    obs[i, :columns] = np.minimum(1.0, np.maximum(0.0, row))
        # 0 <= IV <= IV^ub in every state a transition makes, so IV / IV^ub is in [0, 1].
        obs[:, self.stock_columns] = state["iv"] / self.iv_scale
        return obs


class ASUEnv(ConstrainedEnv):
    """Hourly production of a liquid air separation unit for daily demands (SafeOR-Gym A.9).

    **Decision** for the hour: weights ``weights`` ``[k]`` in [0, 1] on the ``k``
    extreme points ``v_x`` of the convex hull of the historical operating points
    (box mode: mapped affinely from [-1, 1]). Weights summing to a positive amount
    are normalized to 1 and the unit produces ``PQ_j = sum_x lambda_x v_jx``; all
    weights 0 is "Off" (no production, no cost).

    **Dynamics** (A.9.5): ``IV += PQ``; at the last hour of each day the day's
    demand is shipped, ``DQ = min(IV + PQ, D)``; inventory above ``IV^ub`` is lost.

    **Costs** (A.9.6, per step): ``inventory_overflow`` (``rho_IV`` x units above
    ``IV^ub``), ``demand_shortfall`` (``rho_D`` x units of the day's demand not
    shipped, at the day's last hour), and ``action_range``.

    **Reward** (A.9.7): minus the electricity bill of the hour, ``fixed``
    (``-e_t C_fixed`` while producing) and ``variable`` (``-e_t C_unit sum_j PQ_j``).

    **Observation** (float32 in [0, 1], 483 entries for the case study): prices of the
    ``24 (S + 1)`` hour window (divided by the peak price), the demand window per
    product (product-major, non-zero at each day's last hour, divided by the product's
    peak demand) and ``IV / IV^ub``.

    **Episode**: ``24 D`` hours from ``IV_i``.

    **Stochastic variant** (``uncertainty="forecast"``): each episode's hourly prices and
    daily demands are the data times AR(1) log-space errors (``error_sigma``,
    ``error_phi``; :mod:`stagewise.core.uncertainty`; hourly steps for prices, daily steps
    for demands). A price is known once its hour has passed, a demand once its day has; the
    observed windows and ``info["state"]["price_forecast"]``/``["demand_forecast"]`` (hourly,
    whole data) hold the forecast mean.
    """

    problem_id: ClassVar[str] = "ASU"
    slug: ClassVar[str] = "asu"
    summary: ClassVar[str] = (
        "Hourly production scheduling of a liquid air separation unit (SafeOR-Gym A.9)"
    )
    config_model = ASUConfig

    @classmethod
    def build_dynamics(cls, config: Any) -> ASUDynamics:
        return ASUDynamics(config)

"""Configuration of the multi-echelon inventory problem (SafeOR-Gym InvMgmtEnv, A.6).

The published ``supply_chain_config.json`` loads as it is (``config=path``): its
``env_init_cfgs`` wrapper is read through, route keys ``"(i,j)"`` and node keys
``"n"`` are parsed. The package ships a copy under ``data/`` that is the
default; fields a dict or file leaves out come from it.

Nodes are numbered markets, retailers, distributors, producers, raw suppliers
(case study: 0 | 1 | 2, 3 | 4, 5, 6 | 7, 8). Retailers, distributors and
producers hold stock; raw suppliers are unlimited. A route ``(i, j)`` ships
from ``i`` to ``j``; the reorder routes are the keys of ``lead_times``.

Market demand (``demand``): ``"published"`` is the 30-day sequence the
published code draws at every reset (Normal(30, 2), NumPy ``RandomState(42)``),
shipped as data; ``"stochastic"`` draws a fresh Normal(mean, std) sequence,
truncated at 0, from the environment's generator each episode; a list of
numbers is a fixed sequence of its own.

Stochastic variant (``uncertainty="forecast"``): the demand of each episode is the
fixed sequence (``"published"`` or a list) times AR(1) log-space errors
(:mod:`stagewise.core.uncertainty`, ``error_sigma``, ``error_phi``); the observation's
window and ``info["state"]["demand_forecast"]`` hold the forecast mean.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stagewise.core.config import unwrap_published
from stagewise.core.uncertainty import UncertaintyFields

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_FILE = DATA_DIR / "supply_chain_config.json"
DEMAND_FILE = DATA_DIR / "published_demand.json"
# Keys of the published file that only size that code's arrays (we count from the data).
PUBLISHED_ONLY = ("num_markets", "num_retailers", "num_distributors", "num_producers")

Route = tuple[int, int]
Amount = Annotated[float, Field(ge=0, le=1e9)]
Count = Annotated[int, Field(ge=0, le=1000)]


class DemandParameters(BaseModel):
    """Normal demand of the market: mean and standard deviation per period."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    mean: float = Field(30.0, ge=0, le=1e9, description="mean demand per period")
    std: float = Field(2.0, ge=0, le=1e9, description="standard deviation of demand")
    p: float | None = Field(None, description="published but unused (kept for loading)")
    seed: int | None = Field(None, description="published seed (42) of the 'published' sequence")


def parse_route(key: Any) -> Route:
    """``"(2,1)"``, ``"2,1"``, ``[2, 1]`` or ``(2, 1)`` to ``(2, 1)``."""
    if isinstance(key, list | tuple) and len(key) == 2:
        return int(key[0]), int(key[1])
    text = str(key).strip().strip("()")
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(p.lstrip("-").isdigit() for p in parts):
        raise ValueError(f"route {key!r} is not '(origin,destination)'")
    return int(parts[0]), int(parts[1])


def route_key(route: Route) -> str:
    """The config key ``"(i,j)"`` of a route."""
    return f"({route[0]},{route[1]})"


@cache
def _shipped() -> dict[str, Any]:
    return unwrap_published(json.loads(DEFAULT_FILE.read_text(encoding="utf-8")), PUBLISHED_ONLY)


@cache
def published_demand() -> tuple[float, ...]:
    """The published 30-day demand sequence (units per period)."""
    return tuple(json.loads(DEMAND_FILE.read_text(encoding="utf-8"))["demand"])


class InvMgmtConfig(UncertaintyFields):
    """Parameters of A.6 (defaults: the published 1-retailer, 2-distributor, 3-producer chain)."""

    T: int = Field(30, ge=1, le=10_000, description="number of periods")
    num_raw_distributors: Count = Field(2, description="number of raw-material suppliers")
    initial_inv: dict[int, Amount] = Field(description="initial on-hand stock I_n0 per node")
    inventory_holding_cost: dict[int, Amount] = Field(description="h_n per unit on hand per period")
    unit_price: dict[str, Amount] = Field(
        description="price per unit on each route; (retailer, market) is the selling price"
    )
    material_holding_cost: dict[str, Amount] = Field(
        description="g_l per unit in transit per period on each reorder route"
    )
    lead_times: dict[str, Annotated[int, Field(ge=1, le=100)]] = Field(
        description="lead time LT_l (periods) of each reorder route"
    )
    operating_cost: dict[int, Amount] = Field(description="C^oper_p per unit produced")
    production_yield: dict[int, Annotated[float, Field(gt=0, le=1e3)]] = Field(
        description="eta_p: units shipped per unit of raw stock consumed"
    )
    unfulfilled_utility_penalty: dict[str, Amount] = Field(
        description="backlog penalty per unit per period of each (retailer, market) pair"
    )
    demand_parameters: DemandParameters = Field(description="Normal demand mean and std")
    inv_capacity: dict[int, Amount] = Field(description="on-hand capacity per node")
    reordering_route_capacity: dict[str, Amount] = Field(
        description="largest reorder quantity per route and period"
    )
    j_in: dict[int, list[int]] = Field(description="suppliers of each node (published, checked)")
    j_out: dict[int, list[int]] = Field(description="customers of each node (published, checked)")
    demand: Literal["published", "stochastic"] | list[Amount] = Field(
        "published", description="'published' sequence, 'stochastic' Normal draws, or a list"
    )
    forecast_window: int = Field(
        0, ge=0, le=1000, description="k demand values observed (0: ceil(T / 10), as published)"
    )
    ship_fraction: float = Field(
        0.5,
        gt=0,
        le=1,
        description=(
            "largest share of its available stock a node ships in a period (0.5: the published "
            "model's 'ship no more than you keep'; 1: down to an empty store)"
        ),
    )
    on_hand_penalty: float = Field(
        10.0, ge=0, le=1e9, description="phi: cost per unit shipped beyond the limit or above cap"
    )

    @model_validator(mode="before")
    @classmethod
    def _read_published_layout(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {**_shipped(), **unwrap_published(data, PUBLISHED_ONLY)}

    @field_validator(
        "unit_price",
        "material_holding_cost",
        "lead_times",
        "unfulfilled_utility_penalty",
        "reordering_route_capacity",
        mode="before",
    )
    @classmethod
    def _normalize_routes(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {route_key(parse_route(k)): v for k, v in value.items()}

    @model_validator(mode="after")
    def _consistent(self) -> InvMgmtConfig:
        routes = self.routes
        keys = [route_key(r) for r in routes]
        if not routes:
            raise ValueError("lead_times is empty: at least one reorder route is needed")
        for name in ("material_holding_cost", "reordering_route_capacity"):
            if set(getattr(self, name)) != set(keys):
                raise ValueError(f"{name} must name the routes of lead_times")
        sales = [k for k in self.unit_price if k not in set(keys)]
        if len(sales) != 1 or set(self.unfulfilled_utility_penalty) != set(sales):
            raise ValueError(
                "unit_price must hold the reorder routes and exactly one (retailer, market) "
                "route, and unfulfilled_utility_penalty that route (one retailer, one market)"
            )
        missing = [k for k in keys if k not in self.unit_price]
        if missing:
            raise ValueError(f"unit_price lacks reorder routes {missing}")
        stock = self.stock_nodes
        for name in ("initial_inv", "inventory_holding_cost", "inv_capacity"):
            if set(getattr(self, name)) != set(stock):
                raise ValueError(f"{name} must name the stock nodes {stock}")
        producers = sorted({i for i, _ in routes} & set(self.operating_cost))
        if set(self.operating_cost) != set(self.production_yield):
            raise ValueError("operating_cost and production_yield must name the same producers")
        if not set(producers) <= set(stock):
            raise ValueError(f"operating_cost names nodes {producers} that hold no stock")
        for r in routes:
            if r[1] not in stock:
                raise ValueError(f"route {r} delivers to node {r[1]}, which holds no stock")
        for node, cap in self.inv_capacity.items():
            if self.initial_inv[node] > cap:
                raise ValueError(f"initial_inv[{node}] exceeds inv_capacity[{node}]")
        for node, senders in self.j_in.items():
            if node in stock and sorted(senders) != sorted(i for i, j in routes if j == node):
                raise ValueError(f"j_in[{node}] disagrees with the routes of lead_times")
        if self.stochastic and self.demand == "stochastic":
            raise ValueError(
                "uncertainty='forecast' draws around a fixed demand: "
                "use demand='published' or a list"
            )
        if isinstance(self.demand, list) and len(self.demand) < self.T:
            raise ValueError(f"demand lists {len(self.demand)} periods, fewer than T = {self.T}")
        if self.demand == "published" and len(published_demand()) < self.T:
            raise ValueError(
                f"demand='published' has {len(published_demand())} periods, fewer than T = {self.T}"
            )
        return self

    # ----------------------------------------------------------- derived
    @property
    def routes(self) -> list[Route]:
        """Reorder routes in config order (the action order)."""
        return [parse_route(k) for k in self.lead_times]

    @property
    def sale_route(self) -> Route:
        """The (retailer, market) route."""
        return parse_route(next(k for k in self.unit_price if k not in self.lead_times))

    def route_value(self, name: str, route: Route) -> float:
        """The value of the route-keyed field ``name`` for ``route``."""
        return float(getattr(self, name)[route_key(route)])

    @property
    def stock_nodes(self) -> list[int]:
        """Nodes that hold stock (retailer, distributors, producers), ascending."""
        return sorted(self.initial_inv)

    @property
    def suppliers(self) -> set[int]:
        """Raw suppliers: route origins that hold no stock (unlimited)."""
        return {i for i, _ in self.routes if i not in set(self.stock_nodes)}

    @property
    def window(self) -> int:
        """The demand window k (published: ceil(T / 10))."""
        return self.forecast_window or math.ceil(self.T / 10)

    def fixed_demand(self) -> list[float] | None:
        """The deterministic demand sequence (``T`` values), or ``None`` when drawn per episode."""
        if self.demand == "stochastic":
            return None
        series = published_demand() if self.demand == "published" else self.demand
        return [float(x) for x in series[: self.T]]

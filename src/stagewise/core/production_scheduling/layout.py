"""The SafeOR-Gym production-network JSON layout (RTN and STN configs), validated.

Both published layouts share their sections: ``reactants``, ``intermediates``,
``products`` and ``equipments`` (each name -> ``X0``, ``Xmin``, ``Xmax``; reactants'
``cost`` is the order price stored negative, products' ``cost`` the selling
price), ``tasks`` (stoichiometry in ``raw_dist``/``int_react_dist`` consumed and
``int_prod_dist``/``prod_dist`` produced, ``equipments``, ``utilities`` as usage
per unit of batch), ``demand`` (product -> period ``"1".."T"`` -> amount stored
negative) and ``utility_costs`` (utility -> period -> price). The counts
``n_*``, the index maps ``raws``/``prods``/..., ``inventory_cost``, ``used``,
``produced`` and ``elec_cost`` are read and ignored, as the published code does.
A problem subclasses :class:`NetworkConfig` with its task model and its pairs.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from stagewise.core.production_scheduling.network import Network
from stagewise.core.uncertainty import UncertaintyFields

Amount = Annotated[float, Field(ge=0, le=1e9)]
Signed = Annotated[float, Field(ge=-1e9, le=1e9)]
_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Stock(BaseModel):
    """One material or equipment entry of the published layout."""

    model_config = _STRICT
    X0: Signed = Field(description="initial stock")
    Xmin: Signed = Field(description="lower bound")
    Xmax: Signed = Field(description="upper bound")
    cost: Signed = Field(0.0, description="reactants: order price (negative); products: price")
    inventory_cost: Signed | None = Field(None, description="ignored (as in the published code)")
    used: Signed | None = Field(None, description="ignored")
    produced: Signed | None = Field(None, description="ignored")

    @model_validator(mode="after")
    def _ordered(self) -> Stock:
        if not self.Xmin < self.Xmax:
            raise ValueError(f"Xmin = {self.Xmin} must be below Xmax = {self.Xmax}")
        if not self.Xmin <= self.X0 <= self.Xmax:
            raise ValueError(f"X0 = {self.X0} is outside [Xmin, Xmax]")
        return self


class TaskBase(BaseModel):
    """Stoichiometry, equipment and utilities of a task (fields shared by RTN and STN)."""

    model_config = _STRICT
    raw_dist: dict[str, Amount] = Field(default_factory=dict, description="reactants consumed")
    int_react_dist: dict[str, Amount] = Field(
        default_factory=dict, description="intermediates consumed"
    )
    int_prod_dist: dict[str, Amount] = Field(
        default_factory=dict, description="intermediates produced"
    )
    prod_dist: dict[str, Amount] = Field(default_factory=dict, description="products produced")
    equipments: dict[str, str] = Field(default_factory=dict, description="equipment used")
    utilities: dict[str, Amount] = Field(
        default_factory=dict, description="utility use per unit of batch"
    )
    n_raw: int | None = None
    raws: dict[str, str] | None = None
    n_prod: int | None = None
    prods: dict[str, str] | None = None
    n_int_react: int | None = None
    int_react: dict[str, str] | None = None
    n_int_prod: int | None = None
    int_prod: dict[str, str] | None = None
    n_equipment: int | None = None
    n_utility: int | None = None

    def consumed(self) -> dict[str, float]:
        return {**self.raw_dist, **self.int_react_dist}

    def produced(self) -> dict[str, float]:
        return {**self.int_prod_dist, **self.prod_dist}


def published_layout(data: Any, default_file: Path, easy_file: Path) -> Any:
    """``data`` over the shipped case study (``case="easy"``: the easy one)."""
    if not isinstance(data, dict):
        return data
    base = _read(easy_file if data.get("case") == "easy" else default_file)
    return {**base, **data}


@cache
def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


class NetworkConfig(UncertaintyFields):
    """The sections of the published layout and the options stagewise adds."""

    case: Literal["hard", "easy"] = Field(
        "hard", description="shipped case study under the given fields: hard (T=30) or easy (T=10)"
    )
    reactants: dict[str, Stock] = Field(description="purchasable materials")
    intermediates: dict[str, Stock] = Field(description="materials neither bought nor sold")
    products: dict[str, Stock] = Field(description="materials sold against demand")
    equipments: dict[str, Stock] = Field(description="equipment units (X0 free, Xmax units)")
    demand: dict[str, dict[str, Annotated[float, Field(ge=-1e9, le=0)]]] = Field(
        description="per product, period '1'..'T': demand stored negative"
    )
    tasks: dict[str, TaskBase] = Field(description="tasks (each problem narrows the type)")
    utility_costs: dict[str, dict[str, Amount]] = Field(
        description="per utility, period '1'..'T': price per unit"
    )
    elec_cost: dict[str, Signed] | None = Field(None, description="ignored (as published)")
    decoding: Literal["default", "published"] = Field(
        "default",
        description="default: a < 0 idles, [0, 1] -> [Vmin, Vmax]; published: dead zone |a|<=1e-3",
    )
    sanitization: Literal["count", "magnitude"] = Field(
        "count",
        description="C^sanit: batches cut or dropped (count) or the batch amount removed",
    )
    sanitization_weight: float = Field(
        1.0, ge=0, le=1e6, description="lambda_sanit: weight of the sanitization cost"
    )
    unmet_factor: float = Field(
        1.5, ge=0, le=1e6, description="unmet demand costs this times the price per unit"
    )

    # ------------------------------------------------------------ validation
    @model_validator(mode="after")
    def _consistent_sections(self) -> NetworkConfig:
        if not self.products:
            raise ValueError("products is empty: at least one product is needed")
        names = [*self.reactants, *self.intermediates, *self.products]
        if len(set(names)) != len(names):
            raise ValueError("reactants, intermediates and products must have distinct names")
        for name in self.equipments:
            stock = self.equipments[name]
            if stock.Xmin != 0 or not float(stock.X0).is_integer() or not stock.Xmax.is_integer():
                raise ValueError(f"equipments[{name!r}] must have Xmin 0 and whole X0, Xmax")
        if set(self.demand) != set(self.products):
            names = f"{sorted(self.demand)} vs {sorted(self.products)}"
            raise ValueError(f"demand must name exactly the products: {names}")
        horizon = self.horizon
        if horizon < 1:
            raise ValueError("demand has no periods: at least period '1' is needed")
        for p, series in self.demand.items():
            if sorted(series, key=_period) != [str(t) for t in range(1, horizon + 1)]:
                raise ValueError(f"demand[{p!r}] periods must be '1'..'{horizon}'")
        for p in self.products:
            if self.products[p].cost < 0:
                raise ValueError(f"products[{p!r}].cost (the price) must be >= 0")
        if not self.tasks:
            raise ValueError("tasks is empty: at least one task is needed")
        for name, task in self.tasks.items():
            self._check_task(name, task, horizon)
        return self

    def _check_task(self, name: str, task: TaskBase, horizon: int) -> None:
        where = f"tasks[{name!r}]"
        for m in task.raw_dist:
            if m not in self.reactants:
                raise ValueError(f"{where}.raw_dist: {m!r} is not among reactants")
        for m in task.int_react_dist:
            if m not in self.intermediates:
                raise ValueError(f"{where}.int_react_dist: {m!r} is not among intermediates")
        for m in task.int_prod_dist:
            if m not in self.intermediates:
                raise ValueError(f"{where}.int_prod_dist: {m!r} is not among intermediates")
        for m in task.prod_dist:
            if m not in self.products:
                raise ValueError(f"{where}.prod_dist: {m!r} is not among products")
        for e in task.equipments.values():
            if e not in self.equipments:
                raise ValueError(f"{where}.equipments: {e!r} is not among equipments")
        for u in task.utilities:
            series = self.utility_costs.get(u)
            if series is None or any(str(t) not in series for t in range(1, horizon + 1)):
                raise ValueError(f"{where}: utility_costs[{u!r}] lacks periods '1'..'{horizon}'")

    # -------------------------------------------------------------- network
    @property
    def horizon(self) -> int:
        return len(next(iter(self.demand.values())))

    @property
    def material_names(self) -> list[str]:
        return [*self.reactants, *self.intermediates, *self.products]

    def build_network(
        self,
        pairs: list[tuple[str, TaskBase, list[str], float, float, dict[str, int], int]],
    ) -> Network:
        """The arrays of the network with ``pairs``: (name, task, equipment held, V^min,
        V^max, delay per produced material, equipment hold); ``V^max = 0`` is inactive."""
        mats = self.material_names
        stocks = {**self.reactants, **self.intermediates, **self.products}
        equip = list(self.equipments)
        horizon = self.horizon
        delay = max([1, *(d for *_, delays, hold in pairs for d in [*delays.values(), hold])])
        m_index = {m: i for i, m in enumerate(mats)}
        consume = np.zeros((len(pairs), len(mats)))
        deliver = np.zeros((len(pairs), delay, len(mats)))
        uses = np.zeros((len(pairs), len(equip)))
        release = np.zeros((len(pairs), delay, len(equip)))
        utility = np.zeros((horizon, len(pairs)))
        for j, (_, task, held, _, _, delays, hold) in enumerate(pairs):
            for m, nu in task.consumed().items():
                consume[j, m_index[m]] += nu
            for m, nu in task.produced().items():
                deliver[j, delays[m] - 1, m_index[m]] += nu
            for e in held:
                uses[j, equip.index(e)] = 1.0
                release[j, hold - 1, equip.index(e)] = 1.0
            for u, use in task.utilities.items():
                utility[:, j] += use * np.array(
                    [self.utility_costs[u][str(t)] for t in range(1, horizon + 1)]
                )
        v_min = np.array([p[3] for p in pairs], dtype=np.float64)
        v_max = np.array([p[4] for p in pairs], dtype=np.float64)
        products = [m_index[p] for p in self.products]
        return Network(
            materials=tuple(mats),
            reactant=np.array([m in self.reactants for m in mats]),
            x0=np.array([stocks[m].X0 for m in mats]),
            x_min=np.array([stocks[m].Xmin for m in mats]),
            x_max=np.array([stocks[m].Xmax for m in mats]),
            order_price=np.array(
                [abs(self.reactants[m].cost) if m in self.reactants else 0.0 for m in mats]
            ),
            products=np.array(products, dtype=np.int64),
            price=np.array([self.products[p].cost for p in self.products]),
            demand=np.array(
                [[-self.demand[p][str(t)] for p in self.products] for t in range(1, horizon + 1)]
            ).reshape(horizon, len(products)),
            equipment=tuple(equip),
            e0=np.array([self.equipments[e].X0 for e in equip]),
            e_max=np.array([self.equipments[e].Xmax for e in equip]),
            pairs=tuple(p[0] for p in pairs),
            active=v_max > 0,
            v_min=v_min,
            v_max=v_max,
            consume=consume,
            deliver=deliver,
            uses=uses,
            release=release,
            utility_cost=utility,
            unmet_factor=self.unmet_factor,
            sanitization_weight=self.sanitization_weight,
            sanitization=self.sanitization,
            decoding=self.decoding,
        )


def _period(key: str) -> int:
    return int(key) if key.isdigit() else -1

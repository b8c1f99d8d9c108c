"""Configuration of the liquid air separation unit (SafeOR-Gym ASUEnv, Appendix A.9).

The published ``asuenv_config.json`` loads as it is (``config=path``): hourly
electricity prices ``price[day][hour]`` (days and hours numbered from 1), daily
demands ``demand[day][product]``, storage limits ``IV_u``, initial inventories
``IV_i``, the fixed and unit production costs (one-element lists) and the
historical operating points ``liq_prod_data[product][point]``. The package
ships that file under ``data/`` as the default; fields a dict or file leaves
out come from it. The values the file does not carry (episode length, look-ahead,
penalty weights) take the published code's defaults.

The companion ``asuopt_config.json`` of the published optimization model ships
beside it; it repeats the same points and costs (checked by the tests) and adds
nothing the environment's problem uses.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator

from stagewise.core.uncertainty import UncertaintyFields

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_FILE = DATA_DIR / "asuenv_config.json"
OPT_FILE = DATA_DIR / "asuopt_config.json"
HOURS_PER_DAY = 24

Amount = Annotated[float, Field(ge=0, le=1e12)]
Positive = Annotated[float, Field(gt=0, le=1e12)]
Weight = Annotated[float, Field(ge=0, le=1e9)]


@cache
def _shipped() -> dict[str, Any]:
    return json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))


class ASUConfig(UncertaintyFields):
    """Parameters of A.9 (defaults: the published week from day 1, 4-day look-ahead).

    Products ``j`` are named by ``products``; hull points ``x`` by the keys of
    ``liq_prod_data[j]``. Quantities per hour in the data's units; prices per
    unit of electricity.
    """

    price: dict[str, dict[str, Amount]] = Field(
        description="electricity price E[day][hour], days and hours numbered from 1"
    )
    demand: dict[str, dict[str, Amount]] = Field(
        description="demand D[day][product], due at the end of the day"
    )
    products: list[str] = Field(min_length=1, description="liquid products J")
    IV_u: dict[str, Positive] = Field(description="storage capacity IV^ub_j")
    IV_i: dict[str, Amount] = Field(description="initial inventory IV_j,0")
    fixed_cost: list[Weight] = Field(
        min_length=1, max_length=1, description="C_fixed: electricity drawn while producing"
    )
    dynamic_cost: list[Weight] = Field(
        min_length=1, max_length=1, description="C_unit: electricity per unit produced"
    )
    liq_prod_data: dict[str, dict[str, Amount]] = Field(
        description="historical hourly production HPQ[product][point]"
    )
    days: int = Field(7, ge=1, le=366, description="D: days in an episode")
    start_day: int = Field(1, ge=1, le=366, description="first day of the data in the episode")
    lookahead_days: int = Field(4, ge=0, le=30, description="S: days forecast beyond today")
    inventory_penalty: Weight = Field(1.0, description="rho_IV: cost per unit above IV^ub")
    demand_penalty: Weight = Field(20.0, description="rho_D: cost per unit of unmet demand")

    @model_validator(mode="before")
    @classmethod
    def _fill_from_shipped(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {**_shipped(), **data}

    @model_validator(mode="after")
    def _consistent(self) -> ASUConfig:
        products = self.products
        if len(set(products)) != len(products):
            raise ValueError(f"products {products} repeat a name")
        for name in ("IV_u", "IV_i", "liq_prod_data"):
            if set(getattr(self, name)) != set(products):
                raise ValueError(f"{name} must name exactly the products {products}")
        for j in products:
            if self.IV_i[j] > self.IV_u[j]:
                raise ValueError(f"IV_i[{j!r}] = {self.IV_i[j]} exceeds IV_u = {self.IV_u[j]}")
        points = [list(self.liq_prod_data[j]) for j in products]
        if not points[0] or any(p != points[0] for p in points):
            raise ValueError("liq_prod_data must give the same points for every product")
        if not any(self.liq_prod_data[j][x] > 0 for j in products for x in points[0]):
            raise ValueError("liq_prod_data: every historical point produces nothing")
        last = self.start_day + self.days - 1 + self.lookahead_days
        for name in ("price", "demand"):
            given = getattr(self, name)
            missing = [d for d in range(self.start_day, last + 1) if str(d) not in given]
            if missing:
                raise ValueError(
                    f"{name} lacks days {missing[:5]}: start_day + days - 1 + lookahead_days = "
                    f"{last} days of data are needed"
                )
        for day in range(self.start_day, last + 1):
            hours = self.price[str(day)]
            if set(hours) != {str(h) for h in range(1, HOURS_PER_DAY + 1)}:
                raise ValueError(f"price[{day!r}] must give hours '1'..'24'")
            if set(self.demand[str(day)]) != set(products):
                raise ValueError(f"demand[{day!r}] must name exactly the products {products}")
        return self

    # ------------------------------------------------------------- arrays
    @property
    def hours(self) -> int:
        """T: hours in an episode."""
        return HOURS_PER_DAY * self.days

    @property
    def data_days(self) -> int:
        """Days of data an episode reads: its own and the look-ahead of its last day."""
        return self.days + self.lookahead_days

    def price_series(self) -> np.ndarray:
        """Hourly prices ``[24 (D + S)]`` from the first hour of ``start_day``."""
        days = range(self.start_day, self.start_day + self.data_days)
        return np.array(
            [self.price[str(d)][str(h)] for d in days for h in range(1, HOURS_PER_DAY + 1)]
        )

    def demand_series(self) -> np.ndarray:
        """Daily demands ``[D + S, J]`` from ``start_day``."""
        days = range(self.start_day, self.start_day + self.data_days)
        return np.array([[self.demand[str(d)][j] for j in self.products] for d in days])

    def points(self) -> np.ndarray:
        """Historical operating points ``[N, J]`` (one row per point)."""
        names = list(self.liq_prod_data[self.products[0]])
        return np.array([[self.liq_prod_data[j][x] for j in self.products] for x in names])

    def capacity(self) -> np.ndarray:
        """``IV^ub`` ``[J]``."""
        return np.array([self.IV_u[j] for j in self.products])

    def initial_inventory(self) -> np.ndarray:
        """``IV_0`` ``[J]``."""
        return np.array([self.IV_i[j] for j in self.products])

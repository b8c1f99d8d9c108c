"""Configuration of integrated scheduling and maintenance (SafeOR-Gym SchedMaintEnv, A.8).

The published ``gasu_config.json`` (keys ``demand``, ``electricity_prices``,
``compressors``) loads as it is (``config=path``) and is the shipped default;
fields a file or dict leaves out come from it. The constants the published
code hard-codes (30-day window, 31-day episode, SPEN scale 750, penalty
weights, purchase capacity and price) are fields here with those values as
defaults. ``variant="v1"`` draws each compressor's MTTF at every reset
(``GASU-v1``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from stagewise.core.uncertainty import UncertaintyFields

DATA_FILE = Path(__file__).parent / "data" / "gasu_config.json"

Amount = Annotated[float, Field(ge=0, le=1e9)]
Days = Annotated[int, Field(ge=0, le=10_000)]


class Compressor(BaseModel):
    """One compressor, with the published key names (``mntr`` is MNRD)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    comp_id: str = Field(description="name")
    capacity: float = Field(gt=0, le=1e9, description="Cap_c (t/day)")
    specific_energy: Amount = Field(description="SPEN_c (kWh/t)")
    mttf: int = Field(ge=1, le=10_000, description="MTTF_c: most consecutive run days")
    mttr: int = Field(ge=1, le=10_000, description="MTTR_c: maintenance duration (days)")
    mntr: Days = Field(description="MNRD_c: fewest days between maintenances")
    TLCM: Days = Field(description="initial days left to complete maintenance")
    TSLM: Days = Field(description="initial days since last maintenance")
    CDM: int = Field(ge=0, le=1, description="initial can-do-maintenance flag")


@cache
def _shipped() -> dict[str, Any]:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


class SchedMaintConfig(UncertaintyFields):
    """Parameters of A.8 (defaults: the published three-compressor case study).

    Costs are in the paper's units: dollars over ``spen_scale`` (750), which makes
    the published optimum about 1.2 thousand rather than 8.4e5.
    """

    demand: list[Amount] = Field(description="product demand per day (t/day), day 0 first")
    electricity_prices: list[Amount] = Field(description="electricity price per day ($/kWh)")
    compressors: list[Compressor] = Field(min_length=1, max_length=100)
    variant: Literal["v0", "v1"] = Field("v0", description="v1: random MTTF drawn at reset")
    mttf_spread: Days = Field(2, description="v1: MTTF = max(nominal - U{0..spread}, 1)")
    episode_days: int = Field(31, ge=1, le=10_000, description="T: days in an episode")
    window_days: int = Field(30, ge=1, le=10_000, description="S: forecast window (days)")
    spen_scale: float = Field(750.0, gt=0, le=1e9, description="SPEN divisor")
    purchase_capacity: Amount | None = Field(
        None, description="Q_ext (t/day); None: the largest compressor capacity"
    )
    purchase_price: Amount | None = Field(
        None,
        description="alpha_ext per t; None: 2 mean(SPEN/scale) mean(prices)",
    )
    rho_duration: Amount = Field(50.0, description="rho_MD: interrupting or repeating repairs")
    rho_failure: Amount = Field(100.0, description="rho_MF: running at or past MTTF")
    rho_early: Amount = Field(75.0, description="rho_EM per day of TSLM at an early start")
    rho_ramp: Amount = Field(0.1, description="rho_RP per t produced on a maintenance day")
    rho_demand: Amount = Field(0.5, description="rho_D per t of supply-demand gap")
    demand_dead_band: Amount = Field(10.0, description="gap (t) charged nothing")

    @model_validator(mode="before")
    @classmethod
    def _fill_from_shipped(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {**_shipped(), **data}

    @model_validator(mode="after")
    def _long_enough(self) -> SchedMaintConfig:
        needed = self.episode_days + self.window_days - 1
        for name in ("demand", "electricity_prices"):
            if len(getattr(self, name)) < needed:
                raise ValueError(
                    f"{name} has {len(getattr(self, name))} days; episode_days + window_days - 1 "
                    f"= {needed} are needed"
                )
        ids = [c.comp_id for c in self.compressors]
        if len(set(ids)) != len(ids):
            raise ValueError("compressors: comp_id repeated")
        return self

    @property
    def capacity(self) -> np.ndarray:
        return np.array([c.capacity for c in self.compressors], dtype=float)

    @property
    def q_ext(self) -> float:
        """Q_ext: purchase capacity (t/day)."""
        if self.purchase_capacity is not None:
            return self.purchase_capacity
        return float(self.capacity.max())

    @property
    def energy_cost(self) -> np.ndarray:
        """``SPEN_c / spen_scale`` (kWh/t over the scale) per compressor."""
        return np.array([c.specific_energy for c in self.compressors]) / self.spen_scale

    @property
    def alpha_ext(self) -> float:
        """alpha_ext: price of one purchased t (default 0.100830 for the case study)."""
        if self.purchase_price is not None:
            return self.purchase_price
        return float(2 * self.energy_cost.mean() * np.mean(self.electricity_prices))

"""Configuration of generation and transmission expansion planning (SafeOR-Gym GTEPEnv, A.4).

The published files (``gen_trans_config.json`` with lines between all region
pairs, ``gen_config.json`` without lines) load as they are (``config=path``):
their ``env_init_cfgs`` wrapper is read through and ``action_sample_file``
(a path into that project, only fixing an action order that stagewise takes
from the config) is ignored. The package ships both files under ``data/``;
``gen_trans_config.json`` is the default, and fields a dict or file leaves out come
from it.
``transmission=False`` drops the lines (the paper's "without transmission lines").
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stagewise.core.config import unwrap_published
from stagewise.core.uncertainty import UncertaintyFields

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_FILE = DATA_DIR / "gen_trans_config.json"
NO_LINES_FILE = DATA_DIR / "gen_config.json"
# Published keys no formula uses (a path to sampled actions of the published repository).
IGNORED = ("action_sample_file",)

Amount = Annotated[float, Field(ge=0, le=1e9)]
Count = Annotated[int, Field(ge=0, le=10_000)]


class InstallCost(BaseModel):
    """One-time installation costs: per generator unit of each type, per line."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    generators: dict[str, Amount] = Field(description="cost per unit of each generator type")
    transmission: dict[str, Amount] = Field(description="cost of each line 'ra_rb'")


@cache
def _shipped() -> dict[str, Any]:
    return unwrap_published(json.loads(DEFAULT_FILE.read_text(encoding="utf-8")), IGNORED)


class GTEPConfig(UncertaintyFields):
    """Parameters of A.4 (defaults: the published 5-region, 2-type, 10-line case study).

    Generator types ``i`` and regions ``r`` are named by the keys of ``gencap``
    and ``demand``; line ``"ra_rb"`` joins regions ``ra`` and ``rb`` (a positive
    flow moves power from ``ra`` to ``rb``). Power in MW, costs in the paper's units.
    """

    T: int = Field(10, ge=1, le=1000, description="number of planning periods")
    gencap: dict[str, Annotated[float, Field(gt=0, le=1e9)]] = Field(
        description="capacity of one unit of each generator type (MW)"
    )
    maxgen: dict[str, dict[str, Count]] = Field(
        description="maximum units M_ir of type i in region r (cumulative)"
    )
    tlcap: dict[str, Annotated[float, Field(gt=0, le=1e9)]] = Field(
        description="capacity of each candidate line 'ra_rb' (MW)"
    )
    installcost: InstallCost = Field(description="installation costs")
    demand: dict[str, dict[str, Amount]] = Field(
        description="demand per region and period '1'..'T' (MW)"
    )
    penalty_fixed: float = Field(
        10.0, ge=0, le=1e9, description="lambda_0: fixed cost of each violation"
    )
    penalty_quadratic: float = Field(
        10.0, ge=0, le=1e9, description="lambda_2: cost per squared unit of violation"
    )
    flow_epsilon: float = Field(
        1e-3, ge=0, le=1e3, description="flows with |P| <= epsilon count as 0 (MW)"
    )
    forecast_window: int = Field(2, ge=1, le=100, description="demand forecast window k")
    transmission: bool = Field(True, description="False: no lines (the 'without TL' variant)")

    @model_validator(mode="before")
    @classmethod
    def _read_published_layout(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {**_shipped(), **unwrap_published(data, IGNORED)}

    @model_validator(mode="after")
    def _consistent_names(self) -> GTEPConfig:
        types, regions = list(self.gencap), list(self.demand)
        if not types:
            raise ValueError("gencap is empty: at least one generator type is needed")
        if not regions:
            raise ValueError("demand is empty: at least one region is needed")
        if set(self.maxgen) != set(types):
            raise ValueError(f"maxgen types {sorted(self.maxgen)} differ from gencap {types}")
        for i, per_region in self.maxgen.items():
            if set(per_region) != set(regions):
                raise ValueError(f"maxgen[{i!r}] regions {sorted(per_region)} differ from demand's")
        if set(self.installcost.generators) != set(types):
            raise ValueError("installcost.generators must name the types of gencap")
        if set(self.installcost.transmission) != set(self.tlcap):
            raise ValueError("installcost.transmission must name the lines of tlcap")
        for line in self.tlcap:
            ends = line.split("_")
            if len(ends) != 2 or ends[0] == ends[1] or not set(ends) <= set(regions):
                raise ValueError(f"tlcap line {line!r} is not 'ra_rb' with two demand regions")
        for r, series in self.demand.items():
            missing = [str(t) for t in range(1, self.T + 1) if str(t) not in series]
            if missing:
                raise ValueError(f"demand[{r!r}] lacks periods {missing[:5]} of T = {self.T}")
        return self

    @property
    def types(self) -> list[str]:
        return list(self.gencap)

    @property
    def regions(self) -> list[str]:
        return list(self.demand)

    @property
    def lines(self) -> list[str]:
        """Candidate lines in use (none when ``transmission`` is False)."""
        return list(self.tlcap) if self.transmission else []

    def line_ends(self, line: str) -> tuple[int, int]:
        """Region indices (from, to) of ``line``."""
        a, b = line.split("_")
        return self.regions.index(a), self.regions.index(b)

"""Configuration of grid-integrated energy storage (SafeOR-Gym GridStorageEnv, A.7).

Fields carry the published key names, so ``battery_config.json`` (the Table-1
case study, the default), ``config_small.json`` and ``config_small2.json``
load as they are (``config=path``; the ``env_init_cfgs`` wrapper is read
through). Keys those files hold that no formula of A.7 uses (``WildfireRisk``,
all zero; ``MaxBatteriesAllowed``, ``TotalBatteries``, ``gslack_max``) are
ignored. A field a file or dict leaves out comes from the shipped
``battery_config.json``.

Lines and their per-line data are keyed ``"(i,j)"`` by bus numbers; per-bus
and per-generator data by the number as a string; demand by bus, then hour
``"1".."T"``. ``BusGeneratorLink`` maps a bus to the generator at that bus.
Battery energy, charge and discharge are in p.u. of one MWh (per hour), and
enter the bus balance in MW, as in the published code.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from stagewise.core.config import unwrap_published
from stagewise.core.uncertainty import UncertaintyFields

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_FILE = DATA_DIR / "battery_config.json"
# Keys of the published files that no formula of A.7 uses.
PUBLISHED_ONLY = ("WildfireRisk", "MaxBatteriesAllowed", "TotalBatteries", "gslack_max")
_PAIR = re.compile(r"^\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)$")

Amount = Annotated[float, Field(ge=0, le=1e9)]
Signed = Annotated[float, Field(ge=-1e9, le=1e9)]
Weight = Annotated[float, Field(ge=0, le=1e9)]


@cache
def _shipped() -> dict[str, Any]:
    return unwrap_published(json.loads(DEFAULT_FILE.read_text(encoding="utf-8")), PUBLISHED_ONLY)


def pair_key(key: str) -> tuple[int, int]:
    """``"(i,j)"`` as ``(i, j)``; ``ValueError`` for anything else."""
    match = _PAIR.match(key.strip())
    if match is None:
        raise ValueError(f"key {key!r} is not of the form '(i,j)'")
    return int(match.group(1)), int(match.group(2))


class GridStorageConfig(UncertaintyFields):
    """Parameters of A.7 (defaults: the published 3-bus case study ``battery_config.json``)."""

    time_periods: int = Field(ge=1, le=10_000, description="T: hours in an episode")
    Buses: list[int] = Field(min_length=1, max_length=1000, description="bus numbers N")
    Generators: list[int] = Field(min_length=1, max_length=1000, description="generator numbers G")
    TransmissionLines: list[tuple[int, int]] = Field(description="lines (i, j) between buses")
    DeEnergizedLines: list[tuple[int, int]] = Field(description="lines carrying no flow (D)")
    BusGeneratorLink: dict[str, int] = Field(description="generator at each bus")
    PowerDemandAtBus: dict[str, dict[str, Amount]] = Field(description="d_nt (MW)")
    LineSusceptance: dict[str, Signed] = Field(description="B_ij per line")
    LinePowerFlowLimit: dict[str, Annotated[float, Field(gt=0, le=1e9)]] = Field(
        description="f_max per line (MW)"
    )
    LineUpperVoltageAngle: dict[str, Signed] = Field(description="upper angle difference (rad)")
    LineLowerVoltageAngle: dict[str, Signed] = Field(description="lower angle difference (rad)")
    GeneratorUpperLimit: dict[str, Amount] = Field(description="p_max per generator (MW)")
    GeneratorLowerLimit: dict[str, Amount] = Field(description="p_min per generator (MW)")
    BatteryUpLimit: dict[str, Annotated[float, Field(gt=0, le=1e9)]] = Field(
        description="E_max per bus (p.u.)"
    )
    BatteryLowLimit: dict[str, Amount] = Field(description="E_min per bus (p.u.)")
    BatteryInitialCharge: dict[str, Amount] = Field(description="E_0 per bus (p.u.)")
    LowerBatteryChargeRate: dict[str, Amount] = Field(description="c_min per bus (p.u./h)")
    UpperBatteryChargeRate: dict[str, Amount] = Field(description="c_max per bus (p.u./h)")
    LowerBatteryDischargeRate: dict[str, Amount] = Field(description="pd_min per bus (p.u./h)")
    UpperBatteryDischargeRate: dict[str, Amount] = Field(description="pd_max per bus (p.u./h)")
    ChargeEfficiency: float = Field(gt=0, le=1, description="eta")
    CarryOverRate: float = Field(gt=0, le=1, description="gamma")
    PolynomialDegree: int = Field(ge=1, le=10, description="number of cost coefficients per g")
    GeneratorCost: dict[str, Signed] = Field(description="C_gj keyed '(g,j)', j < degree")
    Kls: Weight = Field(description="K_ls: cost per MW of load shed")
    Kslack: Weight = Field(description="K_slack: cost per MW of slack generation")
    ThetaMax: float = Field(gt=0, le=10, description="bus angle action bound (rad)")
    DemandForecastHorizon: int = Field(ge=1, le=10_000, description="k: demand window (hours)")
    smax: Amount = Field(description="slack generation limit per bus (MW)")
    dmax_global: Amount = Field(description="load-shedding action bound (MW)")
    PhiBalance: Weight = Field(description="cost per MW of over-generation")
    PhiThetaAction: Weight = Field(description="unused: action bounds are charged in action_range")
    PhiPower: Weight = Field(description="unused: action bounds are charged in action_range")
    PhiCharge: Weight = Field(description="unused: action bounds are charged in action_range")
    PhiDischarge: Weight = Field(description="unused: action bounds are charged in action_range")
    PhiSlack: Weight = Field(description="cost per MW of shortage beyond smax")
    PhiShed: Weight = Field(description="cost per MW of load shed beyond the bus demand")
    PhiSOC: Weight = Field(description="cost per p.u. of energy outside [E_min, E_max]")
    PhiTheta: Weight = Field(description="cost per rad of angle difference outside its bounds")
    PhiFlowRatio: Weight = Field(description="cost per unit of |f|/f_max above 1")
    cost_polynomial: Literal["published", "shifted"] = Field(
        "published",
        description=(
            "published: C_gj p^j (degree 1 is a constant cost); "
            "shifted: C_gj p^(j+1) (degree 1 is a linear cost)"
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _read_published_layout(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {**_shipped(), **unwrap_published(data, PUBLISHED_ONLY)}

    @model_validator(mode="after")
    def _consistent(self) -> GridStorageConfig:
        buses, gens = self.bus_keys, [str(g) for g in self.Generators]
        _unique(self.Buses, "Buses")
        _unique(self.Generators, "Generators")
        for name in (
            "BatteryUpLimit",
            "BatteryLowLimit",
            "BatteryInitialCharge",
            "LowerBatteryChargeRate",
            "UpperBatteryChargeRate",
            "LowerBatteryDischargeRate",
            "UpperBatteryDischargeRate",
            "PowerDemandAtBus",
        ):
            _same_keys(getattr(self, name), buses, name, "Buses")
        for name in ("GeneratorUpperLimit", "GeneratorLowerLimit"):
            _same_keys(getattr(self, name), gens, name, "Generators")
        if not set(self.BusGeneratorLink) <= set(buses):
            raise ValueError("BusGeneratorLink keys must be numbers of Buses")
        if sorted(self.BusGeneratorLink.values()) != sorted(self.Generators):
            raise ValueError("BusGeneratorLink must place every one of Generators at one bus")
        lines = [f"({i},{j})" for i, j in self.TransmissionLines]
        for i, j in self.TransmissionLines:
            if i == j or i not in self.Buses or j not in self.Buses:
                raise ValueError(f"TransmissionLines ({i},{j}) must join two different Buses")
        _unique(lines, "TransmissionLines")
        for line in self.DeEnergizedLines:
            if tuple(line) not in self.TransmissionLines:
                raise ValueError(f"DeEnergizedLines {line} is not one of TransmissionLines")
        for name in (
            "LineSusceptance",
            "LinePowerFlowLimit",
            "LineUpperVoltageAngle",
            "LineLowerVoltageAngle",
        ):
            found = {pair_key(k) for k in getattr(self, name)}
            if found != set(self.TransmissionLines):
                raise ValueError(f"{name} must give one value per TransmissionLines entry")
        for low, high, what in (
            ("GeneratorLowerLimit", "GeneratorUpperLimit", "generator output"),
            ("BatteryLowLimit", "BatteryUpLimit", "battery energy"),
            ("LowerBatteryChargeRate", "UpperBatteryChargeRate", "charge rate"),
            ("LowerBatteryDischargeRate", "UpperBatteryDischargeRate", "discharge rate"),
            ("LineLowerVoltageAngle", "LineUpperVoltageAngle", "angle difference"),
        ):
            lo, hi = getattr(self, low), getattr(self, high)
            bad = [k for k in lo if lo[k] > hi[k]]
            if bad:
                raise ValueError(f"{low} exceeds {high} ({what}) at {bad}")
        outside = [
            b
            for b in buses
            if not self.BatteryLowLimit[b] <= self.BatteryInitialCharge[b] <= self.BatteryUpLimit[b]
        ]
        if outside:
            raise ValueError(
                f"BatteryInitialCharge outside [BatteryLowLimit, UpLimit] at {outside}"
            )
        for bus, series in self.PowerDemandAtBus.items():
            missing = [str(t) for t in range(1, self.time_periods + 1) if str(t) not in series]
            if missing:
                raise ValueError(
                    f"PowerDemandAtBus[{bus!r}] lacks hours {missing[:5]} of time_periods"
                )
        for key in self.GeneratorCost:
            g, j = pair_key(key)
            if g not in self.Generators or not 0 <= j < self.PolynomialDegree:
                raise ValueError(
                    f"GeneratorCost {key!r}: needs a generator of Generators and "
                    f"0 <= j < PolynomialDegree"
                )
        if self.DemandForecastHorizon > self.time_periods:
            raise ValueError("DemandForecastHorizon exceeds time_periods")
        return self

    @property
    def bus_keys(self) -> list[str]:
        return [str(b) for b in self.Buses]

    def line_value(self, field: str) -> list[float]:
        """Per-line values of ``field`` in the order of ``TransmissionLines``."""
        by_pair = {pair_key(k): v for k, v in getattr(self, field).items()}
        return [by_pair[tuple(line)] for line in self.TransmissionLines]

    def cost_coefficients(self) -> list[list[float]]:
        """``C[g][j]`` for each generator and ``j < PolynomialDegree`` (0 where not given)."""
        table = [[0.0] * self.PolynomialDegree for _ in self.Generators]
        for key, value in self.GeneratorCost.items():
            g, j = pair_key(key)
            table[self.Generators.index(g)][j] = value
        return table


def _unique(values: list[Any], name: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{name} has repeated entries")


def _same_keys(table: dict[str, Any], keys: list[str], name: str, owner: str) -> None:
    if set(table) != set(keys):
        raise ValueError(f"{name} keys {sorted(table)} differ from {owner} {keys}")

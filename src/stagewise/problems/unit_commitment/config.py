"""Configuration of the unit-commitment problem (SafeOR-Gym UCEnv, Appendix A.3).

The published file ``unit_commitment_config.json`` holds a ``common`` section and
one section per variant (``UC-v0``: one bus; ``UC-v1``: four buses, five lines).
It loads as it is (``config=path``, choose the section with ``variant``); the
package ships a copy under ``data/`` that is the default. Given as a flat dict
or as keyword overrides, missing fields come from that copy's section of the
chosen variant.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from stagewise.core.config import ProblemConfig
from stagewise.core.uncertainty import UncertaintyFields

DATA_FILE = Path(__file__).parent / "data" / "unit_commitment_config.json"
SECTIONS = {"v0": "UC-v0", "v1": "UC-v1"}
# Keys of the published file that describe that code rather than the problem: the action
# scaling switch (we always decode normalized actions), cold-start data the published code
# never charges, and initial values derivable from u0_seq/p0.
PUBLISHED_ONLY = (
    "scale_action",
    "no_change_before_0",
    "cold_cost",
    "cold_hrs",
    "u0",
    "u0_prev",
    "p0_prev",
    "bus_gen",
)
COUNTS = {"num_gen": "P_max", "num_bus": "Pi_max", "num_line": "line_bus"}

NonNeg = Annotated[float, Field(ge=0, le=1e9)]
Hours = Annotated[int, Field(ge=1, le=168)]
Bit = Annotated[int, Field(ge=0, le=1)]


@cache
def _published() -> dict[str, Any]:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def flatten_published(data: dict[str, Any], variant: str) -> dict[str, Any]:
    """``common`` + the variant's section of a published file, as flat config fields."""
    section = SECTIONS.get(variant, "UC-v0")
    if section not in data:
        raise ValueError(f"variant {variant!r}: the file has no section {section!r}")
    flat = {**data.get("common", {}), **data[section]}
    for key in PUBLISHED_ONLY:
        flat.pop(key, None)
    if isinstance(flat.get("gen_bus"), dict):
        flat["gen_bus"] = [flat["gen_bus"][k] for k in sorted(flat["gen_bus"], key=int)]
    if isinstance(flat.get("line_bus"), dict):
        flat["line_bus"] = [flat["line_bus"][k] for k in sorted(flat["line_bus"], key=int)]
    if isinstance(flat.get("u0_seq"), dict):
        flat["u0_seq"] = [flat["u0_seq"][k] for k in sorted(flat["u0_seq"], key=int)]
    for count, field in COUNTS.items():
        if count in flat:
            number = flat.pop(count)
            if isinstance(flat.get(field), list) and number != len(flat[field]):
                raise ValueError(f"{count} = {number} but {field} has {len(flat[field])} entries")
    n_lines = len(flat.get("line_bus", []))
    # The one-bus section lists B, F_max, F_min for a line that does not exist.
    for key in ("B", "F_max", "F_min"):
        if isinstance(flat.get(key), list):
            flat[key] = flat[key][:n_lines]
    flat["variant"] = variant
    return flat


class UnitCommitmentConfig(UncertaintyFields):
    """Parameters of A.3 (defaults: the published case study of the chosen ``variant``).

    Indices: ``G`` generators, ``N`` buses (bus 0 is the angle reference),
    ``K`` lines. Power in MW, costs in $, angles in rad, time in hours.
    """

    variant: Literal["v0", "v1"] = Field(
        "v0", description="case study: v0 single bus (Table 1), v1 four buses (Table 2)"
    )
    T: int = Field(24, ge=1, le=168, description="horizon (hours)")
    model_type: Literal["deterministic", "normal"] = Field(
        "deterministic",
        description="deterministic_demand, or i.i.d. Normal(loc, scale) per hour and bus",
    )
    forecast_length: int = Field(8, ge=1, le=168, description="demand forecast window W (hours)")
    P_max: list[NonNeg] = Field(description="maximum output per generator (MW)")
    P_min: list[NonNeg] = Field(description="minimum output per committed generator (MW)")
    a: list[NonNeg] = Field(description="quadratic cost coefficient ($/MW^2 h)")
    b: list[NonNeg] = Field(description="linear cost coefficient ($/MWh)")
    c: list[NonNeg] = Field(description="constant cost per hour, charged on or off ($/h)")
    UT: list[Hours] = Field(description="minimum up time (h)")
    DT: list[Hours] = Field(description="minimum down time (h)")
    RU: list[NonNeg] = Field(description="ramp-up rate (MW/h)")
    RD: list[NonNeg] = Field(description="ramp-down rate (MW/h)")
    SU: list[NonNeg] = Field(description="start-up rate (MW/h)")
    SD: list[NonNeg] = Field(description="shut-down rate (MW/h)")
    hot_cost: list[NonNeg] = Field(description="start-up cost C^v ($ per start)")
    C_SD: list[NonNeg] = Field(description="shut-down cost C^w ($ per stop)")
    C_LS: NonNeg = Field(description="load-shedding cost C^LS ($/MWh)")
    C_RP: NonNeg = Field(description="reserve-shortfall cost C^R ($/MWh)")
    R: NonNeg = Field(description="system spinning-reserve requirement (MW)")
    penalty_factor_UT: NonNeg = Field(description="cost per minimum-up-time violation")
    penalty_factor_DT: NonNeg = Field(description="cost per minimum-down-time violation")
    penalty_factor_RampUp: NonNeg = Field(description="cost per MW of ramp-up violation")
    penalty_factor_RampDown: NonNeg = Field(description="cost per MW of ramp-down violation")
    penalty_factor_fmax: NonNeg = Field(description="cost per MW of flow above F_max")
    penalty_factor_fmin: NonNeg = Field(description="cost per MW of flow below F_min")
    u0_seq: list[list[Bit]] = Field(
        description="on/off history per generator, most recent first (older hours repeat the last)"
    )
    p0: list[NonNeg] = Field(description="output per generator in the hour before the first (MW)")
    gen_bus: list[int] = Field(description="bus of each generator")
    line_bus: list[tuple[int, int]] = Field(description="(from bus, to bus) of each line")
    B: list[Annotated[float, Field(gt=0, le=1e6)]] = Field(description="line susceptance (MW/rad)")
    F_max: list[Annotated[float, Field(ge=-1e6, le=1e6)]] = Field(
        description="line flow upper limit (MW)"
    )
    F_min: list[Annotated[float, Field(ge=-1e6, le=1e6)]] = Field(
        description="line flow lower limit (MW)"
    )
    Pi_max: list[Annotated[float, Field(ge=-3.2, le=3.2)]] = Field(
        description="voltage angle upper limit per bus (rad)"
    )
    Pi_min: list[Annotated[float, Field(ge=-3.2, le=3.2)]] = Field(
        description="voltage angle lower limit per bus (rad)"
    )
    pi0: list[Annotated[float, Field(ge=-3.2, le=3.2)]] = Field(
        description="voltage angle per bus before the first hour (rad)"
    )
    loc: list[NonNeg] = Field(description="mean demand per bus, model_type='normal' (MW)")
    scale: list[NonNeg] = Field(description="demand standard deviation per bus (MW)")
    deterministic_demand: list[list[NonNeg]] = Field(description="demand [hour][bus] (MW)")

    @model_validator(mode="before")
    @classmethod
    def _read_published_layout(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        variant = data.get("variant", "v0")
        variant = variant if variant in SECTIONS else "v0"
        if "common" in data:
            return flatten_published(data, variant)
        # Flat input: every missing field comes from the shipped case study of the variant.
        return {**flatten_published(_published(), variant), **data}

    @model_validator(mode="after")
    def _consistent_sizes(self) -> UnitCommitmentConfig:
        n_gen = len(self.P_max)
        if n_gen == 0:
            raise ValueError("P_max is empty: at least one generator is needed")
        per_gen = ("P_min", "a", "b", "c", "UT", "DT", "RU", "RD", "SU", "SD")
        per_gen += ("hot_cost", "C_SD", "u0_seq", "p0", "gen_bus")
        _same_length(self, per_gen, n_gen, "generators (len(P_max))")
        n_bus = len(self.Pi_max)
        if n_bus == 0:
            raise ValueError("Pi_max is empty: at least one bus is needed")
        _same_length(self, ("Pi_min", "pi0", "loc", "scale"), n_bus, "buses (len(Pi_max))")
        _same_length(self, ("B", "F_max", "F_min"), len(self.line_bus), "lines (len(line_bus))")
        for name, buses in (("gen_bus", self.gen_bus), ("line_bus", self.line_bus)):
            flat = [b for item in buses for b in (item if isinstance(item, tuple) else (item,))]
            if any(not 0 <= b < n_bus for b in flat):
                raise ValueError(f"{name} refers to a bus outside 0..{n_bus - 1}")
        if any(f == t for f, t in self.line_bus):
            raise ValueError("line_bus has a line from a bus to itself")
        for i in range(n_gen):
            if self.P_min[i] > self.P_max[i]:
                raise ValueError(f"P_min[{i}] = {self.P_min[i]} exceeds P_max[{i}]")
            if not self.u0_seq[i]:
                raise ValueError(f"u0_seq[{i}] is empty")
            on = self.u0_seq[i][0] == 1
            if on and not self.P_min[i] <= self.p0[i] <= self.P_max[i]:
                raise ValueError(f"p0[{i}] = {self.p0[i]} outside [P_min, P_max] of an on unit")
            if not on and self.p0[i] != 0:
                raise ValueError(f"p0[{i}] = {self.p0[i]} but unit {i} is off (u0_seq[{i}][0]=0)")
        for k in range(len(self.line_bus)):
            if self.F_min[k] > self.F_max[k]:
                raise ValueError(f"F_min[{k}] exceeds F_max[{k}]")
        for n in range(n_bus):
            if not self.Pi_min[n] <= self.pi0[n] <= self.Pi_max[n]:
                raise ValueError(f"pi0[{n}] outside [Pi_min, Pi_max] (or Pi_min > Pi_max)")
        if self.stochastic and self.model_type != "deterministic":
            raise ValueError("uncertainty='forecast' draws around model_type='deterministic'")
        if self.model_type == "deterministic" and len(self.deterministic_demand) < self.T:
            raise ValueError(
                f"deterministic_demand has {len(self.deterministic_demand)} hours, T = {self.T}"
            )
        if any(len(row) != n_bus for row in self.deterministic_demand):
            raise ValueError(f"each deterministic_demand row needs {n_bus} buses (len(Pi_max))")
        return self

    @property
    def n_gen(self) -> int:
        return len(self.P_max)

    @property
    def n_bus(self) -> int:
        return len(self.Pi_max)

    @property
    def n_line(self) -> int:
        return len(self.line_bus)


def _same_length(config: ProblemConfig, names: tuple[str, ...], n: int, what: str) -> None:
    for name in names:
        size = len(getattr(config, name))
        if size != n:
            raise ValueError(f"{name} has {size} entries; expected one per {what} = {n}")

"""Configuration of the copper-alloy blending problem (Yin et al., DAH-DDPG + CCP, Section 2).

Two models: :class:`CopperInstance` holds the data of one blending instance
(spec, materials, prices, inventories, cost parameters); :class:`CopperBlendingConfig`
names the instance and sets how the environment runs it (lower-level form,
feedback, reward scale, elastic penalty).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stagewise.core.config import ProblemConfig

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
MATERIAL_LEVELS = ("pure", "L", "M", "H")
# Monitored fractions of one material may exceed 1 only by rounding.
ROW_SUM_TOLERANCE = 1e-6


class CopperInstance(BaseModel):
    """One blending instance: Section 2.2 and Table 1 of the paper.

    Indices: ``N`` elements (``j``), ``M`` materials (``i``). Weights are in
    tonnes, prices and costs in currency units (cu), mass fractions in [0, 1].
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1, description="instance name")
    elements: list[str] = Field(min_length=1, description="element symbols (N)")
    lower: list[Fraction] = Field(description="L: lower spec bound per element (mass fraction)")
    upper: list[Fraction] = Field(description="U: upper spec bound per element (mass fraction)")
    materials: list[str] = Field(min_length=1, description="material names (M)")
    level: list[Literal["pure", "L", "M", "H"]] = Field(
        description="uncertainty level per material (pure = zero variance; L/M/H: Table 2)"
    )
    mean: list[list[Fraction]] = Field(description="Theta: mean mass fraction, M x N")
    std: list[list[NonNegative]] = Field(
        description="standard deviation of the mass fraction, M x N (sqrt of Sigma's entries)"
    )
    price: list[Positive] = Field(description="C: unit price per material (cu/t)")
    inventory: list[NonNegative] = Field(description="I: available inventory per material (t)")
    W: Positive = Field(description="target batch weight (t)")
    T: int = Field(ge=1, le=20, description="maximum number of stages")
    C_e: NonNegative = Field(description="processing cost per tonne fed (cu/t), Eq. 9")
    C_e_star: NonNegative = Field(description="holding cost per tonne of melt per stage, Eq. 9")
    C_f: NonNegative = Field(description="fixed cost per stage (cu), Eq. 10")
    C_v: NonNegative = Field(description="penalty per unit mass-fraction deviation (cu), Eq. 11")
    alpha_star: float = Field(
        gt=0.5, lt=1.0, description="alpha*: target confidence of the final stage, Eq. 14"
    )

    @field_validator("elements", "materials")
    @classmethod
    def _unique(cls, names: list[str]) -> list[str]:
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"names must be unique; repeated: {duplicates}")
        if any(not n.strip() for n in names):
            raise ValueError("names must not be empty")
        return names

    @model_validator(mode="after")
    def _consistent(self) -> CopperInstance:
        n, m = len(self.elements), len(self.materials)
        for field, length in (("lower", n), ("upper", n), ("level", m), ("price", m)):
            if len(getattr(self, field)) != length:
                raise ValueError(
                    f"{field} has {len(getattr(self, field))} entries, expected {length}"
                )
        if len(self.inventory) != m:
            raise ValueError(f"inventory has {len(self.inventory)} entries, expected {m}")
        for field in ("mean", "std"):
            rows = getattr(self, field)
            if len(rows) != m or any(len(r) != n for r in rows):
                shape = (len(rows), *{len(r) for r in rows})
                raise ValueError(f"{field} must be {m} x {n} (materials x elements), got {shape}")
        bad = [
            e for e, lo, hi in zip(self.elements, self.lower, self.upper, strict=True) if lo > hi
        ]
        if bad:
            raise ValueError(f"lower > upper for element(s) {bad}")
        sums = np.asarray(self.mean).sum(axis=1)
        over = [self.materials[i] for i in np.flatnonzero(sums > 1.0 + ROW_SUM_TOLERANCE)]
        if over:
            raise ValueError(f"mean mass fractions of material(s) {over} sum above 1")
        pure_noisy = [
            name
            for name, lvl, row in zip(self.materials, self.level, self.std, strict=True)
            if lvl == "pure" and any(s > 0 for s in row)
        ]
        if pure_noisy:
            raise ValueError(f"pure material(s) {pure_noisy} must have zero std")
        if sum(self.inventory) < self.W:
            raise ValueError(
                f"total inventory {sum(self.inventory):g} t is below the batch weight "
                f"W={self.W:g} t"
            )
        return self

    def __str__(self) -> str:
        return (
            f"{self.name}: {len(self.elements)} elements ({', '.join(self.elements)}), "
            f"{len(self.materials)} materials, W={self.W:g} t, T={self.T}, "
            f"alpha*={self.alpha_star:g}"
        )

    # ------------------------------------------------------------------ arrays
    def arrays(self) -> dict[str, np.ndarray]:
        """The instance data as float arrays: ``mean``/``std`` [M, N], vectors otherwise."""
        return {
            "lower": np.asarray(self.lower, dtype=np.float64),
            "upper": np.asarray(self.upper, dtype=np.float64),
            "mean": np.asarray(self.mean, dtype=np.float64),
            "std": np.asarray(self.std, dtype=np.float64),
            "price": np.asarray(self.price, dtype=np.float64),
            "inventory": np.asarray(self.inventory, dtype=np.float64),
        }


class CopperBlendingConfig(ProblemConfig):
    """How the environment runs a blending instance.

    ``instance`` takes a registered name (``"H62"``; generated
    ``"<N>E<M>M-<mix>-<k>"`` such as ``"20E100M-LH-0"``, mix in LM/LH/MH/LMH),
    a YAML path, or the instance itself as a mapping.
    """

    instance: CopperInstance = Field(
        "H62",  # type: ignore[assignment]
        description=(
            "instance: name ('H62', or generated '<N>E<M>M-<LM|LH|MH|LMH>-<k>', e.g. "
            "'20E100M-LH-0'), a YAML path, or an inline mapping"
        ),
    )
    chance_form: Literal["linear", "socp"] = Field(
        "linear",
        description=(
            "lower-level chance constraints: 'linear' (Eq. 31, HiGHS, fast) or "
            "'socp' (exact Eqs. 26-27, SCIP, slow; alpha_n >= 0.5)"
        ),
    )
    feedback: Literal["closed", "open"] = Field(
        "closed",
        description=(
            "'closed': the stage LP uses the inspected melt (Eq. 31); 'open': it ignores "
            "it (Eqs. 34-35, the Section 4.5 ablation)"
        ),
    )
    control: Literal["ccp", "feed"] = Field(
        "ccp",
        description=(
            "'ccp': the action (stop, alpha~, w~) goes through the chance-constrained lower "
            "level (the paper's MDP); 'feed': the action is (stop, feed x_n in t per "
            "material) and the lower level is bypassed (the sp reference policy)"
        ),
    )
    reward_scale: float = Field(
        1e-3, gt=0.0, le=1.0, description="reward = -reward_scale x stage cost (cu)"
    )
    slack_penalty: float = Field(
        1e6,
        gt=0.0,
        le=1e9,
        description="elastic LP: cost per tonne of element mass outside the chance constraint",
    )
    alpha_floor: float = Field(
        0.01,
        gt=0.0,
        lt=0.5,
        description="smallest stage confidence alpha_n passed to Phi^-1 (alpha_0 = 0 is -inf)",
    )

    @field_validator("instance", mode="before")
    @classmethod
    def _resolve_instance(cls, value: Any) -> Any:
        if isinstance(value, str):
            from stagewise.problems.copper_blending.instances import load_instance

            return load_instance(value)
        return value

"""Configuration of the capacity-expansion problem (Giahi, MacKenzie, Bijari; Eqs. 8 and 10)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from stagewise.core.config import ProblemConfig


class CapacityExpansionConfig(ProblemConfig):
    """Parameters of Eq. 8 (``uncertainty="price"``) and Eq. 10 (``"price_demand"``).

    Defaults are the paper's numbers; ``i`` (never given in the paper) is 0.05,
    the value its reported profits imply.
    """

    T: int = Field(3, ge=1, le=200, description="number of stages (planning horizon)")
    K: int = Field(2, ge=1, le=50, description="maximum number of capacity units over the horizon")
    uncertainty: Literal["price", "price_demand"] = Field(
        "price_demand", description="Eq. 8 (price only) or Eq. 10 (price and demand)"
    )
    u: float = Field(
        2920.0, gt=0, description="units of output sold per unit of capacity, per stage"
    )
    c_om: float = Field(300.0, ge=0, description="operating cost per installed unit per stage")
    c_inv: float = Field(20.0, ge=0, description="investment cost per unit added")
    i: float = Field(
        0.05, gt=-1, le=10, description="interest rate; stage t is discounted by (1+i)^-(t-1)"
    )
    p1: float = Field(0.1, gt=0, description="price at stage 1")
    mu1: float = Field(0.05, ge=-5, le=5, description="mean of the log-price increment")
    sigma1: float = Field(0.1, ge=0, le=5, description="std. dev. of the log-price increment")
    d1: float = Field(1.0, gt=0, description="demand at stage 1 (units of capacity)")
    mu2: float = Field(0.2, ge=-5, le=5, description="mean of the log-demand increment")
    sigma2: float = Field(0.1, ge=0, le=5, description="std. dev. of the log-demand increment")
    c_p: float = Field(1.0, gt=0, description="output per unit of capacity that can meet demand")

    @model_validator(mode="after")
    def _log_paths_stay_representable(self) -> CapacityExpansionConfig:
        # exp() of a log-price beyond ~700 overflows float64; 10-sigma paths must stay far below.
        for name, mu, sigma in (
            ("price", self.mu1, self.sigma1),
            ("demand", self.mu2, self.sigma2),
        ):
            spread = abs(mu) * self.T + 10.0 * sigma * self.T**0.5
            if spread > 300.0:
                raise ValueError(
                    f"{name} drift |mu|*T + 10*sigma*sqrt(T) = {spread:.0f} exceeds 300: "
                    "the simulated values would overflow; shorten T or reduce mu/sigma"
                )
        return self

    @model_validator(mode="after")
    def _price_only_has_no_demand(self) -> CapacityExpansionConfig:
        # Eq. 8 has no demand state: reject demand parameters that would be ignored silently.
        if self.uncertainty == "price":
            changed = [
                name
                for name, default in (("d1", 1.0), ("mu2", 0.2), ("sigma2", 0.1), ("c_p", 1.0))
                if getattr(self, name) != default
            ]
            if changed:
                raise ValueError(
                    f"uncertainty='price' (Eq. 8) has no demand; remove {', '.join(changed)}"
                )
        return self

"""Configuration of the multiperiod blending problem (SafeOR-Gym BlendingEnv, A.5).

Two shipped instances (``instance``): ``"table1"`` (2 sources, 4 blenders, 2
products, 2 properties, 6 periods: the published code's class defaults, written
out in the layout of the published ``large_config.json``) and ``"large"`` (the
published ``large_config.json``: 8 sources, 16 blenders, 8 products). The
published files load as they are (``config=path``): the ``env_init_cfgs``
wrapper is read through, ``connections_file`` is read (a published path is
looked up by file name among the shipped copies first), ``action_sample_file``
and ``v`` (verbosity) are ignored. The three published strategy files
(``Blending_{prop,disable,no}_config.json``) hold only
``illegal_act_handling``; every field they leave out comes from the instance.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stagewise.core.config import unwrap_published
from stagewise.core.uncertainty import UncertaintyFields

DATA_DIR = Path(__file__).parent / "data"
INSTANCE_FILES = {"table1": "table1_config.json", "large": "large_config.json"}
IGNORED = ("v", "action_sample_file")

Amount = Annotated[float, Field(ge=0, le=1e9)]
Series = dict[str, Amount]  # period "0".."T-1" -> value
ByProperty = dict[str, Annotated[float, Field(ge=0, le=1e6)]]


class Connections(BaseModel):
    """Arcs: source -> blenders, blender -> blenders, blender -> products."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source_blend: dict[str, list[str]] = Field(description="blenders each source feeds")
    blend_blend: dict[str, list[str]] = Field(
        default_factory=dict, description="blender -> blender arcs (must be empty: see docs)"
    )
    blend_demand: dict[str, list[str]] = Field(description="products each blender feeds")


@cache
def _shipped(instance: str) -> dict[str, Any]:
    name = INSTANCE_FILES.get(instance, INSTANCE_FILES["table1"])
    return unwrap_published(json.loads((DATA_DIR / name).read_text(encoding="utf-8")), IGNORED)


def read_connections(path: str) -> dict[str, Any]:
    """The connections file ``path``: a shipped copy of that name, else the path itself."""
    shipped = DATA_DIR / Path(path).name
    target = shipped if shipped.is_file() else Path(path)
    if not target.is_file():
        raise ValueError(f"connections_file {path!r} not found")
    return json.loads(target.read_text(encoding="utf-8"))


class BlendingConfig(UncertaintyFields):
    """Parameters of A.5 (defaults: the Table-1 case study, strategy ``prop``).

    Sources ``s``, blenders ``j``, products ``p`` and properties ``q`` are named by
    the keys of ``s_inv_ub``, ``b_inv_ub``, ``d_inv_ub`` and ``sigma``; their order
    there is the order of the observation and of the action.
    """

    instance: Literal["table1", "large"] = Field(
        "table1", description="shipped instance the other fields default to"
    )
    T: int = Field(6, ge=1, le=1000, description="number of periods")
    alpha: float = Field(0.0, ge=0, le=1e9, description="alpha: cost per arc used in a period")
    beta: float = Field(0.0, ge=0, le=1e9, description="beta: cost per unit of flow")
    M: float = Field(10.0, ge=0, le=1e9, description="lambda_0,M: in-out rule penalty")
    Q: float = Field(10.0, ge=0, le=1e9, description="lambda_0,Q: property penalty")
    B: float = Field(10.0, ge=0, le=1e9, description="lambda_B: inventory bound multiplier")
    L0_pen: float = Field(1.0, ge=0, le=1e9, description="lambda_0,B: inventory bound constant")
    eps: float = Field(1e-3, gt=0, le=1.0, description="epsilon: tolerance of every test")
    illegal_act_handling: Literal["prop", "disable", "none"] = Field(
        "prop", description="repair of infeasible actions: scale (prop), zero (disable), none"
    )
    tau0: dict[str, Series] = Field(description="availability tau0_st of each source")
    delta0: dict[str, Series] = Field(description="demand limit delta0_pt of each product")
    sigma: dict[str, ByProperty] = Field(description="property sigma_sq of each source")
    sigma_ub: dict[str, ByProperty] = Field(description="upper spec of each product property")
    sigma_lb: dict[str, ByProperty] = Field(description="lower spec of each product property")
    s_inv_lb: dict[str, Amount] = Field(description="source tank lower bounds")
    s_inv_ub: dict[str, Amount] = Field(description="source tank upper bounds")
    b_inv_lb: dict[str, Amount] = Field(description="blender lower bounds")
    b_inv_ub: dict[str, Amount] = Field(description="blender upper bounds")
    d_inv_lb: dict[str, Amount] = Field(description="product tank lower bounds")
    d_inv_ub: dict[str, Amount] = Field(description="product tank upper bounds")
    betaT_d: dict[str, Amount] = Field(description="sale price of each product")
    betaT_s: dict[str, Amount] = Field(description="purchase price of each source")
    window_len: int = Field(2, ge=1, le=1000, description="forecast window k")
    connections: Connections = Field(description="the arcs (or connections_file in a file)")
    max_flow: float | None = Field(
        None, gt=0, le=1e9, description="F^max of every arc (None: total availability)"
    )

    @model_validator(mode="before")
    @classmethod
    def _read_published_layout(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        given = unwrap_published(data, IGNORED)
        flat = {**_shipped(str(given.get("instance", "table1"))), **given}
        path = flat.pop("connections_file", None)
        if "connections" not in given and path is not None:
            flat["connections"] = read_connections(str(path))
        return flat

    @model_validator(mode="after")
    def _consistent(self) -> BlendingConfig:
        sources, blenders, products = self.sources, self.blenders, self.products
        props = self.properties
        for name, keys in (
            ("s_inv_lb", sources),
            ("tau0", sources),
            ("sigma", sources),
            ("betaT_s", sources),
            ("b_inv_lb", blenders),
            ("d_inv_lb", products),
            ("delta0", products),
            ("sigma_ub", products),
            ("sigma_lb", products),
            ("betaT_d", products),
        ):
            if set(getattr(self, name)) != set(keys):
                raise ValueError(f"{name} must name exactly {keys}")
        for name in ("sigma", "sigma_ub", "sigma_lb"):
            for key, values in getattr(self, name).items():
                if set(values) != set(props):
                    raise ValueError(f"{name}[{key!r}] must name the properties {props}")
        for name in ("tau0", "delta0"):
            for key, series in getattr(self, name).items():
                missing = [str(t) for t in range(self.T) if str(t) not in series]
                if missing:
                    raise ValueError(f"{name}[{key!r}] lacks periods {missing[:5]} of T={self.T}")
        for lb, ub, keys in (
            ("s_inv_lb", "s_inv_ub", sources),
            ("b_inv_lb", "b_inv_ub", blenders),
            ("d_inv_lb", "d_inv_ub", products),
        ):
            for key in keys:
                if getattr(self, lb)[key] > getattr(self, ub)[key]:
                    raise ValueError(f"{lb}[{key!r}] exceeds {ub}[{key!r}]")
        for p in products:
            for q in props:
                if self.sigma_lb[p][q] > self.sigma_ub[p][q]:
                    raise ValueError(f"sigma_lb[{p!r}][{q!r}] exceeds sigma_ub[{p!r}][{q!r}]")
        c = self.connections
        if any(c.blend_blend.values()):
            raise ValueError("connections.blend_blend: blender-to-blender arcs are not supported")
        if not set(c.source_blend) <= set(sources) or not set(c.blend_demand) <= set(blenders):
            raise ValueError("connections name a source or blender that has no bounds")
        for targets, known, what in (
            ([j for js in c.source_blend.values() for j in js], blenders, "blender"),
            ([p for ps in c.blend_demand.values() for p in ps], products, "product"),
        ):
            unknown = sorted(set(targets) - set(known))
            if unknown:
                raise ValueError(f"connections name unknown {what}s {unknown}")
        return self

    # ----------------------------------------------------------- derived
    @property
    def sources(self) -> list[str]:
        return list(self.s_inv_ub)

    @property
    def blenders(self) -> list[str]:
        return list(self.b_inv_ub)

    @property
    def products(self) -> list[str]:
        return list(self.d_inv_ub)

    @property
    def properties(self) -> list[str]:
        return list(next(iter(self.sigma.values())))

    @property
    def source_arcs(self) -> list[tuple[str, str]]:
        """Arcs (s, j) in the published action order (source-major)."""
        c = self.connections.source_blend
        return [(s, j) for s in self.sources for j in c.get(s, [])]

    @property
    def product_arcs(self) -> list[tuple[str, str]]:
        """Arcs (j, p) in the published action order (blender-major)."""
        c = self.connections.blend_demand
        return [(j, p) for j in self.blenders for p in c.get(j, [])]

    @property
    def flow_limit(self) -> float:
        """F^max: ``max_flow``, or the total availability sum_st tau0_st as published."""
        if self.max_flow is not None:
            return self.max_flow
        return float(sum(self.tau0[s][str(t)] for s in self.sources for t in range(self.T)))

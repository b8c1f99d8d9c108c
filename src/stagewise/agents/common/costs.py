"""Constraint costs as agents see them: one limit per family, or one scalar limit.

A stagewise environment reports ``info["costs"]`` (one magnitude per constraint
family) and ``info["cost"]`` (their sum). An agent either constrains the scalar
cost with one limit (``cost_limits=None``) or each named family with its own
limit (``cost_limits={"family": limit, ...}``); families not named are not
constrained. Environments without a cost signal (CartPole, Pendulum) cost 0 in
scalar mode.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

SCALAR = "cost"


@dataclass(frozen=True)
class CostSpec:
    """Which cost signals an agent reads and the limit on each (per-episode sums)."""

    names: tuple[str, ...]
    limits: np.ndarray
    per_family: bool

    @classmethod
    def from_config(cls, cost_limit: float, cost_limits: Mapping[str, float] | None) -> CostSpec:
        """Scalar mode from ``cost_limit``, or per-family mode from ``cost_limits``."""
        if cost_limits is None:
            _check_limit(SCALAR, cost_limit)
            return cls((SCALAR,), np.array([float(cost_limit)]), per_family=False)
        if not isinstance(cost_limits, Mapping) or not cost_limits:
            raise ValueError(
                f"cost_limits must be a non-empty mapping family -> limit, got {cost_limits!r}"
            )
        for name, limit in cost_limits.items():
            _check_limit(name, limit)
        names = tuple(cost_limits)
        return cls(names, np.array([float(cost_limits[n]) for n in names]), per_family=True)

    @property
    def k(self) -> int:
        """Number of constrained signals."""
        return len(self.names)

    def from_info(self, info: Mapping[str, Any]) -> np.ndarray:
        """Costs ``[k]`` of one step from a single environment's ``info``."""
        if not self.per_family:
            return np.array([float(info.get(SCALAR, 0.0))])
        families = info.get("costs")
        if families is None:
            raise ValueError(
                f"cost_limits names families {list(self.names)} but the environment's info has "
                "no 'costs' dict; use cost_limit (scalar) for this environment"
            )
        return np.array([float(families[n]) for n in self._checked(families)])

    def from_vector_info(self, infos: Mapping[str, Any], n: int) -> np.ndarray:
        """Costs ``[n, k]`` of one vector step.

        Reads the step's own entries and, for sub-environments that were reset in
        the same step (Gymnasium's same-step autoreset), ``infos["final_info"]``.
        """
        out = np.zeros((n, self.k))
        seen = np.zeros(n, dtype=bool)
        for source in (infos, infos.get("final_info")):
            if not source:
                continue
            if self.per_family:
                families = source.get("costs")
                if families is None:
                    continue
                for j, name in enumerate(self._checked(families)):
                    mask = families.get(f"_{name}", np.ones(n, dtype=bool))
                    out[mask, j] = np.asarray(families[name], dtype=np.float64)[mask]
                    seen |= mask
            elif SCALAR in source:
                mask = source.get(f"_{SCALAR}", np.ones(n, dtype=bool))
                out[mask, 0] = np.asarray(source[SCALAR], dtype=np.float64)[mask]
        if self.per_family and not seen.any():
            raise ValueError(
                f"cost_limits names families {list(self.names)} but the environment's info has "
                "no 'costs' dict; use cost_limit (scalar) for this environment"
            )
        return out

    def _checked(self, families: Mapping[str, Any]) -> tuple[str, ...]:
        missing = [n for n in self.names if n not in families]
        if missing:
            available = sorted(k for k in families if not k.startswith("_"))
            raise ValueError(f"cost families {missing} not in info['costs'] (has {available})")
        return self.names

    def annealed(self, start: float | None, progress: float) -> np.ndarray:
        """The limits a fraction ``progress`` (0..1) into the annealing from ``start``.

        Each limit moves linearly from ``max(start, limit)`` to its final value, so
        training begins with a loose constraint that tightens as the policy learns;
        ``start=None`` (no annealing) gives the final limits throughout.
        """
        if start is None:
            return self.limits.copy()
        begin = np.maximum(float(start), self.limits)
        share = min(max(float(progress), 0.0), 1.0)
        return begin + share * (self.limits - begin)

    def describe(self) -> dict[str, float]:
        """``{name: limit}``, for logs."""
        return {n: float(d) for n, d in zip(self.names, self.limits, strict=True)}


def _check_limit(name: str, limit: Any) -> None:
    if not isinstance(limit, int | float) or not math.isfinite(limit) or limit < 0:
        raise ValueError(f"cost limit for {name!r} must be a finite number >= 0, got {limit!r}")

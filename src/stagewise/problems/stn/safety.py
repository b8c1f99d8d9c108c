"""STN step constraints for the safety layer: the production-network rows of
:mod:`stagewise.core.production_scheduling.safety` (sanitization, equipment and the
inventory bounds with a look-ahead over the longest delay)."""

from __future__ import annotations

from stagewise.core.production_scheduling.network import NetworkDynamics
from stagewise.core.production_scheduling.safety import NetworkStep


def step_constraints(dynamics: NetworkDynamics) -> NetworkStep:
    """The safety layer's rows of STN (see :mod:`stagewise.core.production_scheduling.safety`)."""
    return NetworkStep(dynamics)

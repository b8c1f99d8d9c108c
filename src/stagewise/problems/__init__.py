"""Every problem package; importing this module registers them all."""

from stagewise.problems import (  # noqa: F401
    blending,
    capacity_expansion,
    copper_blending,
    gtep,
    inventory,
    unit_commitment,
)

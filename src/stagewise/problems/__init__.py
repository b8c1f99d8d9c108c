"""Every problem package; importing this module registers them all."""

from stagewise.problems import (  # noqa: F401
    capacity_expansion,
    copper_blending,
    grid_storage,
    gtep,
    sched_maint,
    unit_commitment,
)

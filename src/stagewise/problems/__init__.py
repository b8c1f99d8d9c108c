"""Every problem package; importing this module registers them all."""

from stagewise.problems import (  # noqa: F401
    asu,
    blending,
    capacity_expansion,
    copper_blending,
    grid_storage,
    gtep,
    inventory,
    rtn,
    sched_maint,
    stn,
    unit_commitment,
)

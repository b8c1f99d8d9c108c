"""Every problem package; importing this module registers them all."""

from stagewise.problems import (  # noqa: F401
    asu,
    capacity_expansion,
    copper_blending,
    gtep,
    rtn,
    stn,
    unit_commitment,
)

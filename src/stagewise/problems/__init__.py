"""Every problem package; importing this module registers them all."""

from stagewise.problems import (
    capacity_expansion,  # noqa: F401
    gtep,  # noqa: F401
    unit_commitment,  # noqa: F401
)

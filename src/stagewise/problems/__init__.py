"""Every problem package; importing this module registers them all."""

from stagewise.problems import capacity_expansion, copper_blending  # noqa: F401

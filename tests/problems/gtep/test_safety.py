"""GTEP through the safety layer: generator bounds and demand balance held."""

from __future__ import annotations

import numpy as np
import pytest

from stagewise.core.safety_env import make_safe_env
from tests.problems.safety_checks import projection_is_idempotent, random_run, vector_cost

ENV = "stagewise/GTEP-v0"


def test_random_actions_cost_nothing_but_the_projection() -> None:
    totals = random_run(ENV, steps=40)
    assert totals["plain_cost"] > 0  # the same actions without the layer break constraints
    assert totals["cost"] == 0.0 and totals["violation"] == pytest.approx(0.0, abs=1e-6)
    assert totals["projection"] > 0


def test_the_vector_env_costs_nothing_but_the_projection() -> None:
    assert vector_cost(ENV, num_envs=8, steps=20) == 0.0


def test_projected_decisions_are_fixed_points() -> None:
    assert projection_is_idempotent(ENV, steps=20)


def test_nothing_built_is_raised_to_cover_demand_and_a_full_build_passes() -> None:
    env = make_safe_env(ENV)
    env.reset(seed=0)
    dyn = env.base.dynamics
    state = env.base.batch_state
    flows = np.zeros((1, len(dyn.lines)))
    full = {"add": dyn.max_units[None].copy(), "flow": flows}
    assert env.layer.project(state, full).distance == pytest.approx([0.0], abs=1e-12)
    nothing = env.layer.project(state, {"add": np.zeros_like(full["add"]), "flow": flows})
    supply = (nothing.decision["add"][0] * dyn.unit_capacity[:, None]).sum(axis=0)
    supply = supply + nothing.decision["flow"][0] @ dyn.incidence
    assert np.all(supply >= dyn.demand[0] - 1e-6) and nothing.distance[0] > 0

"""RTN through the safety layer: no busy equipment, missing material or overflow."""

from __future__ import annotations

import numpy as np
import pytest

from stagewise.core.production_scheduling.safety import RUN_WEIGHT
from stagewise.core.safety_env import make_safe_env
from tests.problems.safety_checks import projection_is_idempotent, random_run, vector_cost

ENV = "stagewise/RTN-v0"


@pytest.mark.parametrize("config", [{}, {"decoding": "published"}])
def test_random_actions_cost_nothing_but_the_projection(config: dict[str, str]) -> None:
    totals = random_run(ENV, steps=60, **config)
    assert totals["plain_cost"] > 0  # the same actions without the layer break constraints
    assert totals["cost"] == 0.0 and totals["violation"] == pytest.approx(0.0, abs=1e-6)
    assert totals["projection"] > 0


def test_the_vector_env_costs_nothing_but_the_projection() -> None:
    assert vector_cost(ENV, num_envs=8, steps=32) == 0.0


def test_projected_decisions_are_fixed_points() -> None:
    assert projection_is_idempotent(ENV, steps=30)


def test_a_batch_without_its_material_idles_by_hand() -> None:
    # Period 0: no intermediate in stock, so the second pair (it consumes intermediate_1)
    # cannot start: its request 40 moves just below V^min (the nearest idle request),
    # at distance (40 - V^min) / (V^max - V^min) (the request's half-span) plus
    # RUN_WEIGHT for the start switched off; the first pair's batch 54 (raw materials in
    # stock, its unit free) and the third's idle request stay.
    env = make_safe_env(ENV)
    env.reset(seed=0)
    nw = env.base.dynamics.network
    proposal = {"batch": np.array([[54.0, 40.0, 20.0]])}
    result = env.layer.project(env.base.batch_state, proposal)
    idle_edge = nw.v_min[1] - 2e-5
    assert result.decision["batch"][0] == pytest.approx([54.0, idle_edge, 20.0])
    span = nw.v_max[1] - nw.v_min[1]
    assert result.distance == pytest.approx([(40.0 - idle_edge) / span + RUN_WEIGHT])

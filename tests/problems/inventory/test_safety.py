"""Inventory management through the safety layer: shipment limits and capacities held."""

from __future__ import annotations

import numpy as np
import pytest

from stagewise.core.safety_env import make_safe_env
from tests.problems.safety_checks import projection_is_idempotent, random_run, vector_cost

ENV = "stagewise/InvMgmt-v0"


def test_random_actions_cost_nothing_but_the_projection() -> None:
    totals = random_run(ENV, steps=90)
    assert totals["plain_cost"] > 0  # the same actions without the layer break constraints
    assert totals["cost"] == 0.0 and totals["violation"] == pytest.approx(0.0, abs=1e-6)
    assert totals["projection"] > 0


def test_the_vector_env_costs_nothing_but_the_projection() -> None:
    assert vector_cost(ENV, num_envs=8, steps=60) == 0.0


def test_projected_decisions_are_fixed_points() -> None:
    assert projection_is_idempotent(ENV, steps=30)


def test_a_shipment_beyond_the_stock_share_is_cut_to_it_by_hand() -> None:
    # Period 0: node 2 holds 120 units, ship_fraction 0.5, so route (2, 1) ships at most 60;
    # ordering 100 moves to 60 at distance 40 / 50 (the route's half-span).
    env = make_safe_env(ENV)
    env.reset(seed=0)
    order = np.zeros((1, len(env.base.dynamics.routes)))
    order[0, 0] = 100.0
    result = env.layer.project(env.base.batch_state, {"order": order})
    expected = order.copy()
    expected[0, 0] = 60.0
    assert result.decision["order"] == pytest.approx(expected, abs=1e-7)
    assert result.distance == pytest.approx([0.8])

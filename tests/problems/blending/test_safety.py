"""Blending through the safety layer: tank bounds, the in-out rule and product specs held."""

from __future__ import annotations

import numpy as np
import pytest

from stagewise.core.safety_env import make_safe_env
from tests.problems.safety_checks import projection_is_idempotent, random_run, vector_cost

ENV = "stagewise/Blending-v0"


def test_random_actions_cost_nothing_but_the_projection() -> None:
    totals = random_run(ENV, steps=60)
    assert totals["plain_cost"] > 0  # the same actions without the layer break constraints
    assert totals["cost"] == 0.0 and totals["violation"] == pytest.approx(0.0, abs=1e-6)
    assert totals["projection"] > 0


def test_the_vector_env_costs_nothing_but_the_projection() -> None:
    assert vector_cost(ENV, num_envs=8, steps=12) == 0.0


def test_projected_decisions_are_fixed_points() -> None:
    assert projection_is_idempotent(ENV, steps=24)


def test_a_blender_receiving_and_shipping_stops_shipping_by_hand() -> None:
    # Period 0, every tank empty: blender j1 receives 10 from s1 (bought in full) and is
    # asked to ship 5 to p1. It holds nothing to ship, so the shipment goes (in-out rule
    # and its floor): distance 5 / 60 (flow_jp's half-span); the purchase and inflow stay.
    env = make_safe_env(ENV)
    env.reset(seed=0)
    proposal = {
        "flow_sj": np.array([[10.0, 0, 0, 0, 0, 0, 0, 0]]),
        "flow_jp": np.array([[5.0, 0, 0, 0, 0, 0, 0, 0]]),
        "buy": np.array([[1.0, 0.0]]),
        "sell": np.array([[0.0, 0.0]]),
    }
    result = env.layer.project(env.base.batch_state, proposal)
    assert result.decision["flow_jp"] == pytest.approx(np.zeros((1, 8)), abs=1e-9)
    for name in ("flow_sj", "buy", "sell"):
        assert result.decision[name] == pytest.approx(proposal[name], abs=1e-9)
    assert result.distance == pytest.approx([5.0 / 60.0])


def test_a_blender_with_stock_ships_or_receives_never_both() -> None:
    # A blender holding 20 units at an in-spec property for p1, asked to receive 5 and
    # ship 8 at once: the MILP keeps the cheaper side (dropping the inflow, 5 units).
    env = make_safe_env(ENV)
    env.reset(seed=0)
    dyn = env.base.dynamics
    state = {k: v.copy() for k, v in env.base.batch_state.items()}
    state["I_j"][0, 0] = 20.0
    state["C"][0, 0] = 0.5 * (dyn.arc_lb[0] + dyn.arc_ub[0])  # arc 0 is j1 -> p1
    proposal = {
        "flow_sj": np.array([[5.0, 0, 0, 0, 0, 0, 0, 0]]),
        "flow_jp": np.array([[8.0, 0, 0, 0, 0, 0, 0, 0]]),
        "buy": np.array([[0.5, 0.0]]),
        "sell": np.array([[0.0, 0.0]]),
    }
    result = env.layer.project(state, proposal)
    assert result.decision["flow_sj"][0, 0] == pytest.approx(0.0, abs=1e-9)
    assert result.decision["flow_jp"][0, 0] == pytest.approx(8.0)
    assert result.violation == pytest.approx([0.0], abs=1e-9)

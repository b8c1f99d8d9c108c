"""ASU through the safety layer: no overflow, each day's demand kept reachable."""

from __future__ import annotations

import numpy as np
import pytest

from stagewise.core.safety_env import make_safe_env
from tests.problems.safety_checks import projection_is_idempotent, random_run, vector_cost

ENV = "stagewise/ASU-v0"


def test_random_actions_cost_nothing_but_the_projection() -> None:
    totals = random_run(ENV, steps=168)
    assert totals["plain_cost"] > 0  # the same actions without the layer break constraints
    assert totals["cost"] == 0.0 and totals["violation"] == pytest.approx(0.0, abs=1e-6)
    assert totals["projection"] > 0


def test_the_vector_env_costs_nothing_but_the_projection() -> None:
    assert vector_cost(ENV, num_envs=4, steps=50) == 0.0


def test_projected_decisions_are_fixed_points() -> None:
    assert projection_is_idempotent(ENV, steps=48)


def test_an_unnormalized_feasible_proposal_passes_through() -> None:
    env = make_safe_env(ENV)
    env.reset(seed=0)
    weights = np.array([[0.2, 0.0, 0.6, 0.2, 0.0]])
    result = env.layer.project(env.base.batch_state, {"weights": weights})
    assert result.distance == pytest.approx([0.0], abs=1e-9)
    assert result.decision["weights"] == pytest.approx(weights / weights.sum())


def test_off_at_the_last_hour_short_of_the_demand_produces_and_ships() -> None:
    # Hour 23 with the stock one hour's output short of the day's demand: "Off" would
    # miss the demand, so the unit runs and the demand is met.
    env = make_safe_env(ENV)
    env.reset(seed=0)
    dyn = env.base.dynamics
    state = {k: v.copy() for k, v in env.base.batch_state.items()}
    state["t"][0] = 23
    state["iv"][0] = dyn.demand[23] - dyn.vertices.min(axis=0)
    result = env.layer.project(state, {"weights": np.zeros((1, len(dyn.vertices)))})
    assert result.decision["weights"].sum() == pytest.approx(1.0)
    assert result.violation == pytest.approx([0.0], abs=1e-9)
    costs = dyn.transition(state, result.decision, np.random.default_rng(0)).costs
    assert costs["demand_shortfall"][0] == 0.0 and costs["inventory_overflow"][0] == 0.0
    off = dyn.transition(state, {"weights": np.zeros((1, len(dyn.vertices)))}, None).costs
    assert off["demand_shortfall"][0] > 0  # "Off" would have missed the demand

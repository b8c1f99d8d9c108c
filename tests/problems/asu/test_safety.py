"""ASU through the safety layer: no overflow, each day's demand kept reachable."""

from __future__ import annotations

import numpy as np
import pytest

from stagewise.core.safety_env import make_safe_env
from tests.problems.safety_checks import (
    constraint_cost,
    projection_is_idempotent,
    random_run,
    vector_cost,
)

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


@pytest.mark.parametrize("point", range(5))
def test_holding_one_operating_point_all_week_costs_nothing_but_the_projection(point: int) -> None:
    # Proposing one extreme point every hour fills the LIN tank long before the LOX
    # demand is met (points 0, 1 and 4 did so with the one-day look-ahead and no whole
    # hours): the layer plans today and tomorrow in whole working hours, so it switches
    # the unit off or to another point in time.
    env = make_safe_env(ENV)
    env.reset(seed=0)
    action = -np.ones(env.action_space.shape, dtype=np.float32)
    action[point] = 1.0
    cost = violation = 0.0
    for _ in range(168):
        *_, terminated, truncated, info = env.step(action)
        cost += constraint_cost(info["costs"])
        violation += info["safety"]["violation"]
        if terminated or truncated:
            break
    assert cost == 0.0 and violation == pytest.approx(0.0, abs=1e-6)


def test_an_idle_unit_gets_exact_zero_weights() -> None:
    # The environment normalizes any positive weights, so a solver's 1e-12 on an idle
    # unit would run it at that point: the decision of y = 0 is exactly zero.
    env = make_safe_env(ENV)
    step = env.layer.constraints
    tiny = np.array([[1e-12, 0.0, 0.0, 0.0, 0.0], [0.2, 0.8, 0.0, 0.0, 0.0]])
    values = {"weights": tiny, "on": np.array([0.0, 1.0])}
    weights = step.decision(values, {"weights": tiny})["weights"]
    assert np.array_equal(weights[0], np.zeros(5)) and weights[1] == pytest.approx(tiny[1])

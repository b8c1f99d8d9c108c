"""SchedMaint through the safety layer: maintenance rules, ramping and the demand band held."""

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

ENV = "stagewise/SchedMaint-v0"


@pytest.mark.parametrize("config", [{}, {"variant": "v1"}])
def test_random_actions_cost_nothing_but_the_projection(config: dict[str, str]) -> None:
    totals = random_run(ENV, steps=62, **config)
    assert totals["plain_cost"] > 0  # the same actions without the layer break constraints
    assert totals["cost"] == 0.0 and totals["violation"] == pytest.approx(0.0, abs=1e-6)
    assert totals["projection"] > 0


def test_hybrid_actions_cost_nothing_but_the_projection() -> None:
    env = make_safe_env(ENV, action_mode="hybrid")
    env.action_space.seed(0)
    env.reset(seed=0)
    for _ in range(31):
        *_, info = env.step(env.action_space.sample())
        assert constraint_cost(info["costs"]) == 0.0


def test_the_vector_env_costs_nothing_but_the_projection() -> None:
    assert vector_cost(ENV, num_envs=8, steps=31) == 0.0


def test_projected_decisions_are_fixed_points() -> None:
    assert projection_is_idempotent(ENV, steps=31)


def test_an_early_maintenance_is_refused_by_hand() -> None:
    # Day 0: compressor 3 has tslm = 0 and cdm = 0, so asking to maintain it costs; the
    # plan otherwise meets the demand (701.3 t) exactly. Only that request moves:
    # distance 1 / 0.5 (the binary's half-span).
    env = make_safe_env(ENV)
    env.reset(seed=0)
    demand = env.base.dynamics.demand[0]
    proposal = {
        "maintain": np.array([[0.0, 0.0, 1.0]]),
        "production": np.array([[400.0, 200.0, 0.0]]),
        "purchase": np.array([demand - 600.0]),
    }
    result = env.layer.project(env.base.batch_state, proposal)
    assert result.decision["maintain"].tolist() == [[0.0, 0.0, 0.0]]
    assert result.decision["production"] == pytest.approx(proposal["production"])
    assert result.decision["purchase"] == pytest.approx(proposal["purchase"])
    assert result.distance == pytest.approx([2.0])


def test_a_due_compressor_is_maintained_and_its_output_replaced() -> None:
    # Compressor 1 reaches its MTTF: it must be maintained (producing nothing), and the
    # supply still meets the demand band.
    env = make_safe_env(ENV)
    env.reset(seed=0)
    state = {k: v.copy() for k, v in env.base.batch_state.items()}
    state["tslm"][0, 0] = state["mttf"][0, 0]
    proposal = {
        "maintain": np.array([[0.0, 0.0, 0.0]]),
        "production": np.array([[400.0, 200.0, 0.0]]),
        "purchase": np.array([env.base.dynamics.demand[0] - 600.0]),
    }
    result = env.layer.project(state, proposal)
    assert result.decision["maintain"][0, 0] == 1.0
    assert result.decision["production"][0, 0] == pytest.approx(0.0, abs=1e-9)
    supply = result.decision["production"].sum() + result.decision["purchase"].sum()
    assert abs(supply - env.base.dynamics.demand[0]) <= env.base.dynamics.config.demand_dead_band
    assert result.violation == pytest.approx([0.0], abs=1e-9)


def test_a_day_short_of_supply_gives_on_the_demand_not_on_maintenance() -> None:
    # Compressors 1 and 2 in repair: compressor 3 (150 t) and the purchase limit (520 t)
    # fall 21.3 t short of the band around 701.3 t. The demand row gives (its lower
    # elastic weight): the repairs go on, producing nothing, and the rest runs flat out.
    env = make_safe_env(ENV)
    env.reset(seed=0)
    dyn = env.base.dynamics
    state = {k: v.copy() for k, v in env.base.batch_state.items()}
    state["tlcm"][0, :2] = 1.0
    proposal = {
        "maintain": np.array([[0.0, 0.0, 0.0]]),
        "production": np.array([[400.0, 200.0, 0.0]]),
        "purchase": np.array([100.0]),
    }
    result = env.layer.project(state, proposal)
    assert result.decision["maintain"].tolist() == [[1.0, 1.0, 0.0]]
    assert result.decision["production"][0] == pytest.approx([0.0, 0.0, 150.0])
    assert result.decision["purchase"] == pytest.approx([520.0])
    short = dyn.demand[0] - dyn.config.demand_dead_band - 670.0
    assert result.violation == pytest.approx([short])
    costs = dyn.transition(state, result.decision, None).costs
    assert costs["ramping_in_maintenance"][0] == 0.0
    assert costs["maintenance_duration"][0] == 0.0

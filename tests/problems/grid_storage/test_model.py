"""GridStorage LP: optima of the published data, replay through the env, planning from any state."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest

import stagewise
from stagewise.core.solve import Solution, replay
from stagewise.problems.grid_storage.env import GridStorageEnv
from stagewise.problems.grid_storage.model import optimal_policy, solve

DATA = Path(stagewise.__file__).parent / "problems/grid_storage/data"
# (config, overrides) -> our optimum. Published: -54173, not reproducible from any data.
CASES = {
    "published": ({}, -5520.0),  # 24 h x (100 + 80 + 50): degree 1 is a constant cost
    "shifted": ({"cost_polynomial": "shifted"}, -250674.5),  # C_g0 per MW
    "small": ({"config": str(DATA / "config_small.json")}, -2400.0),
    "small2": ({"config": str(DATA / "config_small2.json")}, -480.0),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def solved(request: pytest.FixtureRequest) -> tuple[dict, float, Solution]:
    kwargs, optimum = CASES[request.param]
    return kwargs, optimum, solve(**kwargs)


def test_optimum_of_each_case(solved: tuple[dict, float, Solution]) -> None:
    _, optimum, solution = solved
    assert solution.status == "optimal"
    assert solution.objective == pytest.approx(optimum, rel=1e-6)
    assert solution.bound == pytest.approx(optimum, rel=1e-6)
    assert solution.details["slack_MWh"] == pytest.approx(0.0, abs=1e-6)
    assert solution.details["shed_MWh"] == pytest.approx(0.0, abs=1e-6)
    assert solution.solve_time < 60.0


def test_replaying_the_plan_gives_the_objective_at_zero_cost(
    solved: tuple[dict, float, Solution],
) -> None:
    kwargs, _, solution = solved
    record = replay(GridStorageEnv(**kwargs), solution.plan, seed=0)
    assert record.length == 24
    assert abs(record.reward - solution.objective) <= 1e-6 * abs(solution.objective)
    assert record.cost == 0.0


def test_model_from_a_reached_state_has_the_remaining_optimal_value() -> None:
    env = GridStorageEnv(cost_polynomial="shifted")
    full = solve(env.config)
    _, info = env.reset(seed=0)
    earned = 0.0
    for decision in full.plan[:9]:
        _, reward, _, _, info = env.step(env.encode(decision))
        earned += reward
    rest = solve(env.config, state=info["state"])
    assert len(rest.plan) == 15
    assert earned + rest.objective == pytest.approx(full.objective, rel=1e-6)


def test_short_window_plans_only_its_hours() -> None:
    window = solve(state={"t": 20, "E": [0.5, 0.6, 0.4]}, horizon=3)
    assert len(window.plan) == 3
    assert window.objective == pytest.approx(-3 * 230.0)


def test_optimal_policy_replays_through_gym_make() -> None:
    env = gym.make("stagewise/GridStorage-v0", cost_polynomial="shifted")
    policy = optimal_policy(env)
    obs, info = env.reset(seed=0)
    policy.reset(env)
    total, done = 0.0, False
    while not done:
        obs, reward, done, _, info = env.step(policy.act(obs, info))
        total += reward
        assert info["cost"] == 0.0
    assert total == pytest.approx(-250674.5, rel=1e-6)


def test_linear_term_of_a_degree_two_polynomial_is_optimised_and_replayed() -> None:
    cost = {"(1,0)": 100.0, "(2,0)": 80.0, "(3,0)": 50.0, "(1,1)": 3.0, "(2,1)": 1.0}
    solution = solve(PolynomialDegree=2, GeneratorCost=cost)
    assert solution.details["solver"] == "appsi_highs"
    record = replay(GridStorageEnv(PolynomialDegree=2, GeneratorCost=cost), solution.plan)
    assert record.cost == 0.0
    assert abs(record.reward - solution.objective) <= 1e-6 * abs(solution.objective)
    assert solution.objective < -5520.0  # the constant 230 per hour plus a per-MW part

"""Golden optimum of the published InvMgmt case study, replay, re-planning and the mpc policy."""

from __future__ import annotations

import gymnasium as gym
import pytest

from stagewise.core.policy import run_episode
from stagewise.core.solve import Solution, replay
from stagewise.problems.inventory.model import (
    PerfectInformationPolicy,
    mpc_policy,
    optimal_policy,
    solve,
)

PUBLISHED_OPTIMUM = 11265.97
# ship_fraction=1: a node may ship down to an empty store (our measured optimum).
EMPTY_STORE_OPTIMUM = 11293.035


@pytest.fixture(scope="module")
def solved() -> Solution:
    return solve()


def test_optimum_matches_the_published_value(solved: Solution) -> None:
    assert solved.status == "optimal"
    assert solved.objective == pytest.approx(PUBLISHED_OPTIMUM, abs=0.01)
    assert solved.bound == pytest.approx(solved.objective, rel=1e-9)
    assert solved.solve_time < 60.0


@pytest.mark.parametrize("fraction", [0.5, 1.0])
def test_replaying_the_plan_gives_the_objective_at_zero_cost(fraction: float) -> None:
    solution = solve(ship_fraction=fraction)
    if fraction == 1.0:
        assert solution.objective == pytest.approx(EMPTY_STORE_OPTIMUM, abs=0.01)
    record = replay(gym.make("stagewise/InvMgmt-v0", ship_fraction=fraction), solution.plan, 0)
    assert record.length == 30
    assert abs(record.reward - solution.objective) <= 1e-6 * abs(solution.objective)
    assert record.cost == 0.0


def test_model_from_a_reached_state_has_the_remaining_value(solved: Solution) -> None:
    env = gym.make("stagewise/InvMgmt-v0")
    _, info = env.reset(seed=0)
    earned = 0.0
    for t in range(12):
        _, reward, _, _, info = env.step(env.unwrapped.encode(solved.plan[t]))
        earned += reward
    rest = solve(state=info["state"])
    assert rest.details["start"] == 12 and len(rest.plan) == 18
    assert rest.objective == pytest.approx(solved.objective - earned, abs=1e-3)


def test_mpc_on_the_published_sequence_attains_the_optimum(solved: Solution) -> None:
    env = gym.make("stagewise/InvMgmt-v0")
    record = run_episode(mpc_policy(env), env, seed=0)
    assert record.cost == 0.0
    assert record.reward == pytest.approx(solved.objective, abs=1e-2)


def test_stochastic_demand_perfect_information_and_mpc() -> None:
    env = gym.make("stagewise/InvMgmt-v0", demand="stochastic")
    policy = optimal_policy(env)
    assert isinstance(policy, PerfectInformationPolicy)
    oracle = run_episode(policy, env, seed=5)
    env.reset(seed=5)
    value = solve(env.unwrapped.config, demand_series=env.unwrapped.episode_demand()).objective
    assert oracle.cost == 0.0
    assert oracle.reward == pytest.approx(value, rel=1e-6)
    mpc = run_episode(mpc_policy(env, window=10), env, seed=5)
    assert mpc.cost == 0.0
    assert 0.9 * value < mpc.reward <= value + 1e-6


def test_stochastic_config_needs_a_demand_to_plan_on() -> None:
    with pytest.raises(ValueError, match="stochastic"):
        solve(demand="stochastic")
    assert solve(demand="stochastic", demand_series=[30.0] * 30).status == "optimal"

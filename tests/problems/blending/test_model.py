"""Golden optimum of the Table-1 blending case study, replay under every strategy, re-planning."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from stagewise.core.solve import Solution, replay
from stagewise.problems.blending.model import optimal_policy, solve

PUBLISHED_OPTIMUM = 1800.0


@pytest.fixture(scope="module")
def solved() -> Solution:
    return solve()


def test_optimum_matches_the_published_value(solved: Solution) -> None:
    assert solved.status == "optimal"
    assert solved.objective == pytest.approx(PUBLISHED_OPTIMUM, rel=1e-6)
    assert solved.bound == pytest.approx(PUBLISHED_OPTIMUM, rel=1e-6)
    assert solved.solve_time < 60.0


@pytest.mark.parametrize("strategy", ["prop", "disable", "none"])
def test_replaying_the_plan_gives_the_objective_at_zero_cost(
    solved: Solution, strategy: str
) -> None:
    env = gym.make("stagewise/Blending-v0", illegal_act_handling=strategy)
    record = replay(env, solved.plan, seed=0)
    assert record.length == 6
    assert abs(record.reward - solved.objective) <= 1e-6 * abs(solved.objective)
    assert record.cost == 0.0


def test_the_optimum_sells_every_demand_limit(solved: Solution) -> None:
    """All 120 units bought are sold: p1 60 x 20 + p2 60 x 10 = 1800."""
    sold = np.array([step["sell"] for step in solved.plan])
    np.testing.assert_allclose(sold[2:], 1.0, atol=1e-6)
    bought = np.array([step["buy"] for step in solved.plan])
    np.testing.assert_allclose(bought[:3], 1.0, atol=1e-6)


def test_model_from_a_reached_state_has_the_remaining_value(solved: Solution) -> None:
    env = gym.make("stagewise/Blending-v0")
    _, info = env.reset(seed=0)
    earned = 0.0
    for t in range(3):
        _, reward, _, _, info = env.step(env.unwrapped.encode(solved.plan[t]))
        earned += reward
    rest = solve(state=info["state"])
    assert rest.details["start"] == 3 and len(rest.plan) == 3
    assert rest.objective == pytest.approx(solved.objective - earned, abs=1e-3)


def test_optimal_policy_factory_replays_the_plan() -> None:
    env = gym.make("stagewise/Blending-v0", illegal_act_handling="disable")
    policy = optimal_policy(env)
    obs, info = env.reset(seed=0)
    policy.reset(env)
    total, done = 0.0, False
    while not done:
        obs, reward, done, _, info = env.step(policy.act(obs, info))
        total += reward
        assert info["cost"] == 0.0
    assert total == pytest.approx(PUBLISHED_OPTIMUM, rel=1e-6)


def test_single_source_restriction_is_feasible_and_below_the_pooling_optimum() -> None:
    """Without blending s1 with s2, p1 (q1 <= 0.16) only takes s1: 30 x 20 + 60 x 10 = 1200."""
    restricted = solve(single_source=True)
    assert restricted.objective == pytest.approx(1200.0, rel=1e-6)
    record = replay(gym.make("stagewise/Blending-v0"), restricted.plan, seed=0)
    assert record.reward == pytest.approx(1200.0, rel=1e-6) and record.cost == 0.0


@pytest.mark.slow
def test_large_instance_reaches_the_sell_everything_bound() -> None:
    """large_config.json: supply 573 >= demand 564, so selling every delta0 (12620) is an upper
    bound; the single-source plan attains it, at zero cost in the environment."""
    solution = solve(instance="large", single_source=True)
    assert solution.objective == pytest.approx(12620.0, rel=1e-6)
    env = gym.make("stagewise/Blending-v0", instance="large")
    record = replay(env, solution.plan, seed=0)
    assert abs(record.reward - 12620.0) <= 1e-6 * 12620.0
    assert record.cost == 0.0


def test_a_full_solve_stopped_early_falls_back_on_the_restriction() -> None:
    stopped = solve(time_limit=0.01)
    assert stopped.status == "time_limit" and stopped.objective >= 1200.0 - 1e-6
    record = replay(gym.make("stagewise/Blending-v0"), stopped.plan, seed=0)
    assert record.reward == pytest.approx(stopped.objective, rel=1e-6) and record.cost == 0.0

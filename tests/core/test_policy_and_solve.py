"""evaluate, replay, PlanPolicy, CMDPWrapper and the registry on the capacity problem."""

import gymnasium as gym
import numpy as np
import pytest

import stagewise
from stagewise.core import CMDPWrapper, PlanPolicy, RandomPolicy, evaluate, replay
from stagewise.core.registry import get_problem


def test_problems_lists_capacity_expansion_with_a_description() -> None:
    slugs = {p.slug: p for p in stagewise.problems()}
    assert "capacity-expansion" in slugs
    assert slugs["capacity-expansion"].summary
    assert get_problem("stagewise/CapacityExpansion-v0").slug == "capacity-expansion"
    with pytest.raises(KeyError, match="registered problems"):
        get_problem("nope")


def test_a_unique_first_word_of_a_slug_names_the_problem() -> None:
    assert get_problem("copper").slug == "copper-blending"
    assert get_problem("capacity").slug == "capacity-expansion"
    assert get_problem("grid").slug == "grid-storage"
    # an exact slug wins over the first word of another slug
    assert get_problem("blending").slug == "blending"


def test_aliases_name_their_problem() -> None:
    assert get_problem("invmgmt").slug == "inventory"


def test_replay_sums_the_plan_rewards_and_reports_zero_cost_for_a_feasible_plan() -> None:
    env = gym.make("stagewise/CapacityExpansion-v0", uncertainty="price", K=1, T=2, sigma1=0.0)
    record = replay(env, [{"units": 0}, {"units": 1}], seed=0)
    p2 = 0.1 * np.exp(0.05)
    assert record.reward == pytest.approx((2920 * p2 - 300 - 20) / 1.05)
    assert record.cost == 0.0 and record.length == 2


def test_evaluate_aggregates_and_uses_common_random_numbers() -> None:
    env = gym.make("stagewise/CapacityExpansion-v0", action_mode="discrete")
    plan = PlanPolicy([{"units": 0}, {"units": 1}, {"units": 1}])
    a = evaluate(plan, env, episodes=20, seed=3)
    b = evaluate(plan, env, episodes=20, seed=3)
    assert [e.reward for e in a.episodes] == [e.reward for e in b.episodes]
    summary = a.summary()
    rewards = np.array([e.reward for e in a.episodes])
    assert summary["reward_mean"] == pytest.approx(rewards.mean())
    assert summary["reward_std"] == pytest.approx(rewards.std())
    assert set(summary["costs"]) == {"capacity", "action_range"}


def test_plan_overruns_raise_a_clear_error() -> None:
    env = gym.make("stagewise/CapacityExpansion-v0")
    with pytest.raises(ValueError, match="plan has 1 stages"):
        replay(env, [{"units": 0}], seed=0)


def test_random_policy_is_reproducible() -> None:
    env = gym.make("stagewise/CapacityExpansion-v0")
    first = evaluate(RandomPolicy(seed=4), env, episodes=5, seed=0).summary()
    second = evaluate(RandomPolicy(seed=4), env, episodes=5, seed=0).summary()
    assert first == second


def test_cmdp_wrapper_returns_the_cost_as_third_element() -> None:
    env = CMDPWrapper(gym.make("stagewise/CapacityExpansion-v0", action_mode="discrete"))
    env.reset(seed=0)
    env.step(2)
    _obs, _reward, cost, terminated, truncated, info = env.step(2)
    assert cost == info["cost"] == 2.0
    assert not terminated and not truncated

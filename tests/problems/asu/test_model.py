"""Full-week ASU optimum, its replay, the model from any state, and the published opt file."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

from stagewise.core.pyomo_tools import run
from stagewise.core.solve import Solution, replay
from stagewise.problems.asu.config import OPT_FILE, ASUConfig
from stagewise.problems.asu.model import (
    build_model,
    optimal_policy,
    plan_window,
    solve,
    window_at,
)

# HiGHS, gap 1e-9; the published mode model (start-up hour before production) gives 6517.49.
FULL_WEEK = -6515.35934659


@pytest.fixture(scope="module")
def solved() -> Solution:
    return solve()


def test_full_week_optimum(solved: Solution) -> None:
    assert solved.status == "optimal"
    assert solved.objective == pytest.approx(FULL_WEEK, rel=1e-8)
    assert solved.bound == pytest.approx(FULL_WEEK, rel=1e-8)
    assert solved.solve_time < 60.0
    days = solved.details["days"]
    assert [d["day"] for d in days] == list(range(1, 8))
    assert sum(d["cost"] for d in days) == pytest.approx(-FULL_WEEK, rel=1e-8)


def test_replaying_the_plan_gives_the_objective_at_zero_cost(solved: Solution) -> None:
    record = replay(gym.make("stagewise/ASU-v0"), solved.plan, seed=0)
    assert record.length == 168
    assert abs(record.reward - solved.objective) <= 1e-6 * abs(solved.objective)
    assert record.cost == 0.0


def test_model_from_a_reached_state_has_the_remaining_optimal_value(solved: Solution) -> None:
    env = gym.make("stagewise/ASU-v0")
    env.reset(seed=0)
    k, gathered = 101, 0.0  # mid-morning of day 5
    for decision in solved.plan[:k]:
        _, reward, _, _, info = env.step(env.unwrapped.encode(decision))
        gathered += reward
    state = info["state"]
    assert state["t"] == k
    window = window_at(ASUConfig(), state["iv"], start=k)
    assert window.hours == 168 - k
    result, weights = plan_window(ASUConfig(), window)
    assert result.objective == pytest.approx(solved.objective - gathered, rel=1e-6)
    assert weights.shape == (168 - k, 5)


def test_window_outside_the_data_is_refused() -> None:
    with pytest.raises(ValueError, match="start hour"):
        window_at(ASUConfig(), start=168)
    with pytest.raises(ValueError, match="data"):
        window_at(ASUConfig(), start=160, hours=24 * 5)


def test_plan_is_normalized_weights_or_off(solved: Solution) -> None:
    w = np.array([d["weights"] for d in solved.plan])
    sums = w.sum(axis=1)
    assert np.all((np.abs(sums - 1) < 1e-9) | (sums == 0))
    assert solved.details["working_hours"] == int((sums > 0).sum())
    assert 0 < solved.details["working_hours"] < 168


def test_published_opt_file_describes_the_same_unit() -> None:
    """asuopt_config.json (the published optimization model) repeats the env's data."""
    opt = json.loads(OPT_FILE.read_text(encoding="utf-8"))
    cfg = ASUConfig()
    assert opt["liq_prod_data"] == cfg.liq_prod_data
    assert opt["delta"]["Liquid_Prod"] == cfg.fixed_cost[0]
    assert {opt["gamma"][f"Liquid_Prod_{j}"] for j in cfg.products} == {cfg.dynamic_cost[0]}
    assert opt["IV_i"] == cfg.IV_i and opt["IV_u"] == cfg.IV_u
    assert opt["total_hours"] == [cfg.hours]


def test_optimal_policy_factory_replays_the_plan() -> None:
    env = gym.make("stagewise/ASU-v0", days=2)
    policy = optimal_policy(env)
    obs, info = env.reset(seed=0)
    policy.reset(env)
    total, done = 0.0, False
    while not done:
        obs, reward, done, _, info = env.step(policy.act(obs, info))
        total += reward
        assert info["cost"] == 0.0
    assert total == pytest.approx(solve(days=2).objective, rel=1e-6)


@pytest.mark.parametrize("start", [0, 30])
def test_cover_cuts_leave_the_optimum_unchanged(start: int) -> None:
    """The working-hour cuts are valid inequalities: the optimum is the same without them."""
    cfg = ASUConfig(days=2)
    window = window_at(cfg, np.array([3000.0, 900.0, 120.0]), start=start)
    values = []
    for cuts in (True, False):
        model = build_model(cfg, window)
        if not cuts:
            model.cover.deactivate()
        values.append(run(model, model.cost, None, "highs", mip_gap=1e-9).objective)
    assert len(build_model(cfg, window).cover) > 0
    assert values[0] == pytest.approx(values[1], rel=1e-9)

"""SchedMaint MILP: full-horizon optimum, the published rolling horizon, planning from any state."""

from __future__ import annotations

import time

import gymnasium as gym
import pytest

from stagewise.core.policy import run_episode
from stagewise.core.solve import Solution, replay
from stagewise.problems.sched_maint.env import SchedMaintEnv
from stagewise.problems.sched_maint.model import (
    mpc_policy,
    mpc_reset_policy,
    optimal_policy,
    solve,
)

PUBLISHED_MPC = -1221.85  # the paper's "optimal": daily re-planning over 30 days
FULL_OPTIMUM = -1190.1035682  # 31-day MILP of the environment's problem (10 t free band)
EXACT_DEMAND_OPTIMUM = -1211.8960237  # the same with supply = demand, as published
PUBLISHED_SCHEDULE_OPTIMUM = -1221.8517887  # 31-day MILP with the published time-based rule


@pytest.fixture(scope="module")
def full() -> Solution:
    return solve()


def test_full_horizon_optimum(full: Solution) -> None:
    assert full.status == "optimal"
    assert full.objective == pytest.approx(FULL_OPTIMUM, rel=1e-7)
    assert full.bound == pytest.approx(FULL_OPTIMUM, rel=1e-6)
    assert full.solve_time < 60.0


def test_the_free_demand_band_is_part_of_the_optimum() -> None:
    """Published optimizer: supply = demand; the environment charges no gap up to 10 t, so a
    policy could beat that plan at zero cost. Our optimum is the environment's."""
    exact = solve(band=0.0)
    assert exact.objective == pytest.approx(EXACT_DEMAND_OPTIMUM, rel=1e-7)
    assert solve().objective > exact.objective + 20.0
    record = replay(SchedMaintEnv(), exact.plan, seed=0)
    assert record.cost == 0.0 and record.reward < FULL_OPTIMUM


def test_replaying_the_plan_gives_the_objective_at_zero_cost(full: Solution) -> None:
    record = replay(SchedMaintEnv(), full.plan, seed=0)
    assert record.length == 31
    assert abs(record.reward - full.objective) <= 1e-6 * abs(full.objective)
    assert record.cost == 0.0


def test_model_from_a_reached_state_has_the_remaining_optimal_value(full: Solution) -> None:
    env = SchedMaintEnv()
    _, info = env.reset(seed=0)
    earned = 0.0
    for decision in full.plan[:12]:
        _, reward, _, _, info = env.step(env.encode(decision))
        earned += reward
    rest = solve(state=info["state"])
    assert len(rest.plan) == 19
    assert earned + rest.objective == pytest.approx(full.objective, rel=1e-7)


def test_mpc_reproduces_the_published_optimum() -> None:
    env = SchedMaintEnv()
    policy = mpc_policy(env)
    start = time.perf_counter()
    record = run_episode(policy, env, seed=0)
    assert time.perf_counter() - start < 60.0
    assert record.reward == pytest.approx(PUBLISHED_MPC, abs=0.005)
    assert record.cost == 0.0
    assert len(policy.solutions) == 31
    assert all(len(s.plan) == 30 for s in policy.solutions)


def test_mpc_under_the_environments_rule_beats_the_published_procedure() -> None:
    env = SchedMaintEnv()
    record = run_episode(mpc_reset_policy(env), env, seed=0)
    assert record.cost == 0.0
    assert PUBLISHED_MPC < record.reward <= FULL_OPTIMUM + 1e-6


def test_published_schedule_full_horizon_plan_is_feasible_and_costlier() -> None:
    solution = solve(schedule="published", band=0.0)
    assert solution.objective == pytest.approx(PUBLISHED_SCHEDULE_OPTIMUM, rel=1e-7)
    assert solution.details["maintenance_days"] == [2, 1, 1]
    record = replay(SchedMaintEnv(), solution.plan, seed=0)
    assert record.cost == 0.0
    assert record.reward == pytest.approx(solution.objective, rel=1e-6)


def test_v1_plan_from_the_drawn_state_replays_at_zero_cost() -> None:
    env = SchedMaintEnv(variant="v1")
    _, info = env.reset(seed=11)
    solution = solve(env.config, state=info["state"])
    record = replay(env, solution.plan, seed=11)
    assert record.cost == 0.0
    assert record.reward == pytest.approx(solution.objective, rel=1e-6)
    again = run_episode(optimal_policy(env), env, seed=11)
    assert again.cost == 0.0 and again.reward == pytest.approx(record.reward, rel=1e-9)


def test_optimal_policy_replays_through_gym_make() -> None:
    env = gym.make("stagewise/SchedMaint-v0")
    record = run_episode(optimal_policy(env), env, seed=0)
    assert record.reward == pytest.approx(FULL_OPTIMUM, rel=1e-6)
    assert record.cost == 0.0

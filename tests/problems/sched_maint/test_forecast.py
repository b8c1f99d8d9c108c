"""SchedMaint's stochastic variant (uncertainty="forecast"): mpc and clairvoyant."""

import numpy as np
import pytest

from stagewise.core.policy import run_episode
from stagewise.core.uncertainty import forecast_mpc
from stagewise.problems.sched_maint.env import SchedMaintEnv
from stagewise.problems.sched_maint.model import clairvoyant_policy, mpc_policy, plan, solve


def test_zero_variance_mpc_and_clairvoyant_equal_the_deterministic_optimum():
    optimum = solve().objective
    env = SchedMaintEnv(uncertainty="forecast", error_sigma=0.0)
    for policy in (clairvoyant_policy(env), forecast_mpc(plan, env, None)):
        record = run_episode(policy, env, seed=0)
        assert record.reward == pytest.approx(optimum, rel=1e-6)
        assert record.cost == pytest.approx(0.0, abs=1e-6)
    # The published rolling horizon keeps its value on the published series.
    record = run_episode(mpc_policy(env), env, seed=0)
    assert record.reward == pytest.approx(-1221.85, abs=0.01)


def test_the_forecast_unfolds_and_the_scenario_follows_the_seed():
    env = SchedMaintEnv(uncertainty="forecast", error_sigma=0.1)
    _, info = env.reset(seed=5)
    assert np.allclose(info["state"]["demand_forecast"], env.config.demand)
    assert np.allclose(info["state"]["price_forecast"], env.config.electricity_prices)
    realised = env.unwrapped._state["series"][0].copy()
    env.reset(seed=5)
    assert np.array_equal(env.unwrapped._state["series"][0], realised)
    for _ in range(3):
        obs, _, _, _, info = env.step(env.action_space.sample())
    assert np.allclose(info["state"]["demand_forecast"][:3], realised[:3, 0])
    assert not np.allclose(info["state"]["price_forecast"][3:], realised[3:, 1])
    assert "series" not in info["state"] and "log_error" not in info["state"]
    assert env.observation_space.contains(obs)


def test_vector_env_draws_independent_scenarios_per_copy():
    vec = SchedMaintEnv.make_vector(3, uncertainty="forecast")
    vec.reset(seed=1)
    series = vec._state["series"]
    assert not np.allclose(series[0], series[1]) and not np.allclose(series[1], series[2])


def test_clairvoyant_bounds_mpc_on_common_random_numbers():
    env = SchedMaintEnv(uncertainty="forecast", error_sigma=0.1)
    clairvoyant = run_episode(clairvoyant_policy(env), env, seed=3)
    mpc = run_episode(forecast_mpc(plan, env, 10), env, seed=3)
    assert clairvoyant.cost == pytest.approx(0.0, abs=1e-6)
    assert mpc.reward - mpc.cost <= clairvoyant.reward + 1e-6


def test_a_drawn_demand_no_plan_meets_is_planned_with_priced_shortfall():
    config = SchedMaintEnv().config
    solution = solve(config, demand=np.asarray(config.demand) * 10.0)
    assert solution.status == "optimal" and len(solution.plan) == config.episode_days

"""GTEP's stochastic variant (uncertainty="forecast"): mpc and clairvoyant."""

import numpy as np
import pytest

from stagewise.core.policy import run_episode
from stagewise.problems.gtep.env import GTEPEnv
from stagewise.problems.gtep.model import clairvoyant_policy, mpc_policy, solve


@pytest.mark.parametrize("transmission", [True, False])
def test_zero_variance_mpc_and_clairvoyant_equal_the_deterministic_optimum(transmission):
    optimum = solve(transmission=transmission).objective
    env = GTEPEnv(uncertainty="forecast", error_sigma=0.0, transmission=transmission)
    for factory in (clairvoyant_policy, mpc_policy):
        record = run_episode(factory(env), env, seed=0)
        assert record.reward == pytest.approx(optimum, rel=1e-9)
        assert record.cost == pytest.approx(0.0, abs=1e-6)


def test_the_forecast_unfolds_and_the_scenario_follows_the_seed():
    env = GTEPEnv(uncertainty="forecast", error_sigma=0.1)
    _, info = env.reset(seed=5)
    assert np.allclose(info["state"]["load_forecast"], env.dynamics.demand)
    realised = env.unwrapped._state["demand"][0].copy()
    env.reset(seed=5)
    assert np.array_equal(env.unwrapped._state["demand"][0], realised)
    for _ in range(4):
        obs, _, _, _, info = env.step(env.action_space.sample())
    forecast = info["state"]["load_forecast"]
    assert np.allclose(forecast[:4], realised[:4])
    assert not np.allclose(forecast[4:], realised[4:])
    assert np.allclose(info["state"]["demand_forecast"], forecast[4:6])
    assert env.observation_space.contains(obs)


def test_vector_env_draws_independent_scenarios_per_copy():
    vec = GTEPEnv.make_vector(3, uncertainty="forecast")
    vec.reset(seed=1)
    demand = vec._state["demand"]
    assert not np.allclose(demand[0], demand[1]) and not np.allclose(demand[1], demand[2])


def test_clairvoyant_is_feasible_where_mpc_on_the_mean_pays_or_violates():
    env = GTEPEnv(uncertainty="forecast", error_sigma=0.1)
    for seed in (0, 1):
        clairvoyant = run_episode(clairvoyant_policy(env), env, seed=seed)
        mpc = run_episode(mpc_policy(env), env, seed=seed)
        assert clairvoyant.cost == pytest.approx(0.0, abs=1e-6)
        assert mpc.reward <= clairvoyant.reward + 1e-6 or mpc.cost > 0


def test_a_drawn_demand_beyond_any_build_out_is_planned_with_priced_shortfall():
    env = GTEPEnv()
    solution = solve(demand=env.dynamics.demand * 100.0)
    assert solution.status == "optimal" and len(solution.plan) == env.horizon

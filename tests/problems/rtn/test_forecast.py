"""RTN's stochastic variant (uncertainty="forecast"): mpc and clairvoyant."""

import numpy as np
import pytest

from stagewise.core.mpc import MPCPolicy
from stagewise.core.policy import run_episode
from stagewise.problems.rtn.env import RTNEnv
from stagewise.problems.rtn.model import clairvoyant_policy, mpc_policy, solve


def test_zero_variance_mpc_and_clairvoyant_equal_the_deterministic_optimum():
    optimum = solve().objective
    env = RTNEnv(uncertainty="forecast", error_sigma=0.0)
    full = mpc_policy(env, window=env.horizon)
    assert isinstance(full, MPCPolicy)
    for policy in (clairvoyant_policy(env), full):
        record = run_episode(policy, env, seed=0)
        assert record.reward == pytest.approx(optimum, rel=1e-6)
        assert record.cost == pytest.approx(0.0, abs=1e-6)


def test_the_forecast_unfolds_and_the_scenario_follows_the_seed():
    env = RTNEnv(uncertainty="forecast", error_sigma=0.1)
    _, info = env.reset(seed=5)
    assert np.allclose(info["state"]["demand_forecast"], env.dynamics.network.demand)
    realised = env.unwrapped._state["demand"][0].copy()
    env.reset(seed=5)
    assert np.array_equal(env.unwrapped._state["demand"][0], realised)
    for _ in range(3):
        obs, _, _, _, info = env.step(env.action_space.sample())
    forecast = info["state"]["demand_forecast"]
    assert np.allclose(forecast[:3], realised[:3])
    assert not np.allclose(forecast[3:], realised[3:])
    assert "demand" not in info["state"] and "log_error" not in info["state"]
    assert env.observation_space.contains(obs)


def test_vector_env_draws_independent_scenarios_per_copy():
    vec = RTNEnv.make_vector(3, uncertainty="forecast")
    vec.reset(seed=1)
    demand = vec._state["demand"]
    assert not np.allclose(demand[0], demand[1]) and not np.allclose(demand[1], demand[2])


def test_clairvoyant_bounds_mpc_on_common_random_numbers():
    env = RTNEnv(uncertainty="forecast", error_sigma=0.1)
    clairvoyant = run_episode(clairvoyant_policy(env), env, seed=3)
    mpc = run_episode(mpc_policy(env), env, seed=3)
    assert clairvoyant.cost == pytest.approx(0.0, abs=1e-6)
    assert mpc.reward <= clairvoyant.reward + 1e-6


def test_the_persistent_window_model_plays_the_rebuilt_models_episode():
    env = RTNEnv(uncertainty="forecast", error_sigma=0.1)
    cold = run_episode(mpc_policy(env, window=5, warm_start=False), env, seed=2)
    warm = run_episode(mpc_policy(env, window=5), env, seed=2)
    assert warm.reward == pytest.approx(cold.reward, rel=1e-9)
    assert warm.cost == pytest.approx(cold.cost, abs=1e-9)

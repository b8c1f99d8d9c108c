"""InvMgmt's stochastic variant (uncertainty="forecast"): error model, mpc and clairvoyant."""

import numpy as np
import pytest

from stagewise.core.policy import run_episode
from stagewise.problems.inventory.env import InvMgmtEnv
from stagewise.problems.inventory.model import clairvoyant_policy, mpc_policy, solve


@pytest.fixture(scope="module")
def optimum():
    return solve().objective


def test_zero_variance_mpc_and_clairvoyant_equal_the_deterministic_optimum(optimum):
    env = InvMgmtEnv(uncertainty="forecast", error_sigma=0.0)
    env.reset(seed=0)
    assert np.array_equal(env.episode_demand(), np.array(env.config.fixed_demand()))
    for factory in (mpc_policy, clairvoyant_policy):
        record = run_episode(factory(env), env, seed=0)
        assert record.reward == pytest.approx(optimum, rel=1e-6)
        assert record.cost == pytest.approx(0.0, abs=1e-6)


def test_same_seed_same_scenario_and_the_forecast_unfolds():
    env = InvMgmtEnv(uncertainty="forecast")
    _, info = env.reset(seed=7)
    first = env.episode_demand()
    assert np.allclose(info["state"]["demand_forecast"], env.config.fixed_demand())
    env.reset(seed=7)
    assert np.array_equal(env.episode_demand(), first)
    env.reset(seed=8)
    assert not np.array_equal(env.episode_demand(), first)
    env.reset(seed=7)
    for _ in range(5):
        obs, _, _, _, info = env.step(env.action_space.sample())
    forecast = info["state"]["demand_forecast"]
    assert np.allclose(forecast[:5], first[:5])  # observed demand is the realisation
    assert not np.allclose(forecast[5:], first[5:])
    assert env.observation_space.contains(obs)
    assert "log_error" not in info["state"] and "demand" not in info["state"]


def test_vector_env_draws_independent_scenarios_per_copy():
    vec = InvMgmtEnv.make_vector(4, uncertainty="forecast")
    vec.reset(seed=3)
    demand = vec._state["demand"]
    assert len({tuple(row) for row in np.round(demand, 9)}) == 4
    single = InvMgmtEnv(uncertainty="forecast")
    single.reset(seed=3)
    assert single.episode_demand().shape == demand[0].shape


def test_clairvoyant_bounds_mpc_on_common_random_numbers():
    env = InvMgmtEnv(uncertainty="forecast")
    for seed in (0, 1):
        clairvoyant = run_episode(clairvoyant_policy(env), env, seed=seed)
        mpc = run_episode(mpc_policy(env), env, seed=seed)
        assert mpc.reward <= clairvoyant.reward + 1e-6
        assert clairvoyant.cost == pytest.approx(0.0, abs=1e-6)


def test_forecast_needs_a_fixed_demand():
    with pytest.raises(ValueError, match="fixed demand"):
        InvMgmtEnv(uncertainty="forecast", demand="stochastic")

"""Blending's stochastic variant (uncertainty="forecast"): mpc and clairvoyant."""

import numpy as np
import pytest

from stagewise.core.policy import run_episode
from stagewise.problems.blending.env import BlendingEnv
from stagewise.problems.blending.model import clairvoyant_policy, mpc_policy, solve


def test_zero_variance_mpc_and_clairvoyant_equal_the_deterministic_optimum():
    optimum = solve().objective
    env = BlendingEnv(uncertainty="forecast", error_sigma=0.0)
    for policy in (clairvoyant_policy(env), mpc_policy(env, time_limit=None)):
        record = run_episode(policy, env, seed=0)
        assert record.reward == pytest.approx(optimum, rel=1e-6)
        assert record.cost == pytest.approx(0.0, abs=1e-6)


def test_the_forecast_unfolds_and_the_scenario_follows_the_seed():
    env = BlendingEnv(uncertainty="forecast", error_sigma=0.1)
    _, info = env.reset(seed=5)
    dyn = env.dynamics
    assert np.allclose(info["state"]["tau0_forecast"], dyn.tau0)
    assert np.allclose(info["state"]["delta0_forecast"], dyn.delta0)
    realised = env.unwrapped._state["available"][0].copy()
    env.reset(seed=5)
    assert np.array_equal(env.unwrapped._state["available"][0], realised)
    for _ in range(2):
        obs, _, _, _, info = env.step(env.action_space.sample())
    n_s = len(env.config.sources)
    assert np.allclose(info["state"]["tau0_forecast"][:2], realised[:2, :n_s])
    changing = dyn.published[2:] > 0
    forecast = np.concatenate(
        [info["state"]["tau0_forecast"], info["state"]["delta0_forecast"]], axis=1
    )
    assert not np.allclose(forecast[2:][changing], realised[2:][changing])
    assert "available" not in info["state"] and "log_error" not in info["state"]
    assert env.observation_space.contains(obs)


def test_vector_env_draws_independent_scenarios_per_copy():
    vec = BlendingEnv.make_vector(3, uncertainty="forecast")
    vec.reset(seed=1)
    drawn = vec._state["available"]
    assert not np.allclose(drawn[0], drawn[1]) and not np.allclose(drawn[1], drawn[2])


def test_clairvoyant_bounds_mpc_on_common_random_numbers():
    env = BlendingEnv(uncertainty="forecast", error_sigma=0.1)
    clairvoyant = run_episode(clairvoyant_policy(env), env, seed=3)
    mpc = run_episode(mpc_policy(env), env, seed=3)
    assert clairvoyant.cost == pytest.approx(0.0, abs=1e-6)
    assert mpc.reward - mpc.cost <= clairvoyant.reward + 1e-6

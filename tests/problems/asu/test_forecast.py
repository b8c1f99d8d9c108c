"""ASU's stochastic variant (uncertainty="forecast"): mpc and clairvoyant."""

import numpy as np
import pytest

from stagewise.core.policy import run_episode
from stagewise.problems.asu.env import ASUEnv
from stagewise.problems.asu.model import clairvoyant_policy, forecast_mpc_policy, solve
from stagewise.problems.asu.mpc import mpc_policy

SHORT = {"days": 2, "lookahead_days": 1}


def test_zero_variance_mpc_and_clairvoyant_equal_the_deterministic_optimum():
    optimum = solve(**SHORT).objective
    env = ASUEnv(uncertainty="forecast", error_sigma=0.0, **SHORT)
    for policy in (clairvoyant_policy(env), forecast_mpc_policy(env, None)):
        record = run_episode(policy, env, seed=0)
        assert record.reward == pytest.approx(optimum, rel=1e-6)
        assert record.cost == pytest.approx(0.0, abs=1e-6)
    # The published daily rolling horizon keeps its deterministic value.
    deterministic = run_episode(mpc_policy(ASUEnv(**SHORT)), ASUEnv(**SHORT), seed=0)
    record = run_episode(mpc_policy(env), env, seed=0)
    assert record.reward == pytest.approx(deterministic.reward, rel=1e-9)


def test_the_forecast_unfolds_and_the_scenario_follows_the_seed():
    env = ASUEnv(uncertainty="forecast", error_sigma=0.1, **SHORT)
    _, info = env.reset(seed=5)
    dyn = env.dynamics
    assert np.allclose(info["state"]["price_forecast"], dyn.price)
    assert np.allclose(info["state"]["demand_forecast"], dyn.demand)
    realised = env.unwrapped._state["price"][0].copy()
    daily = env.unwrapped._state["daily_demand"][0].copy()
    env.reset(seed=5)
    assert np.array_equal(env.unwrapped._state["price"][0], realised)
    for _ in range(25):
        obs, _, _, _, info = env.step(env.action_space.sample())
    assert np.allclose(info["state"]["price_forecast"][:25], realised[:25])
    assert not np.allclose(info["state"]["price_forecast"][25:], realised[25:])
    assert np.allclose(info["state"]["demand_forecast"][23], daily[0])  # day 0 is known
    assert not np.allclose(info["state"]["demand_forecast"][47], daily[1])
    assert env.observation_space.contains(obs)


def test_vector_env_draws_independent_scenarios_per_copy():
    vec = ASUEnv.make_vector(3, uncertainty="forecast", **SHORT)
    vec.reset(seed=1)
    price = vec._state["price"]
    assert not np.allclose(price[0], price[1]) and not np.allclose(price[1], price[2])


def test_clairvoyant_bounds_mpc_on_common_random_numbers():
    env = ASUEnv(uncertainty="forecast", error_sigma=0.1, **SHORT)
    clairvoyant = run_episode(clairvoyant_policy(env), env, seed=3)
    mpc = run_episode(mpc_policy(env), env, seed=3)
    # A drawn demand may exceed what any schedule makes: the bound then prices the shortfall.
    assert mpc.reward - mpc.cost <= clairvoyant.reward - clairvoyant.cost + 1e-6

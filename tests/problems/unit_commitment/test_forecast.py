"""Unit commitment's stochastic variant (uncertainty="forecast"): mpc and clairvoyant."""

import numpy as np
import pytest

from stagewise.core.policy import run_episode
from stagewise.problems.unit_commitment.env import UnitCommitmentEnv
from stagewise.problems.unit_commitment.model import clairvoyant_policy, mpc_policy, solve


def test_zero_variance_mpc_and_clairvoyant_equal_the_deterministic_optimum():
    optimum = solve().objective
    env = UnitCommitmentEnv(uncertainty="forecast", error_sigma=0.0)
    for factory in (clairvoyant_policy, mpc_policy):
        record = run_episode(factory(env), env, seed=0)
        assert record.reward == pytest.approx(optimum, rel=1e-6)
        assert record.cost == pytest.approx(0.0, abs=1e-6)


def test_the_forecast_unfolds_and_the_scenario_follows_the_seed():
    env = UnitCommitmentEnv(variant="v1", uncertainty="forecast")
    _, info = env.reset(seed=2)
    published = np.asarray(env.config.deterministic_demand)[: env.config.T]
    assert np.allclose(info["state"]["load_forecast"], published)
    realised = env.unwrapped._state["demand"][0].copy()
    env.reset(seed=2)
    assert np.array_equal(env.unwrapped._state["demand"][0], realised)
    for _ in range(6):
        obs, _, _, _, info = env.step(env.action_space.sample())
    forecast = info["state"]["load_forecast"]
    assert np.allclose(forecast[:6], realised[:6])
    assert not np.allclose(forecast[6:], realised[6:])
    assert np.allclose(info["state"]["demand_forecast"], forecast[6 : 6 + 8])
    assert env.observation_space.contains(obs)


def test_vector_env_draws_independent_scenarios_per_copy():
    vec = UnitCommitmentEnv.make_vector(3, uncertainty="forecast")
    vec.reset(seed=1)
    demand = vec._state["demand"]
    assert not np.allclose(demand[0], demand[1]) and not np.allclose(demand[1], demand[2])


def test_clairvoyant_bounds_a_short_window_mpc():
    env = UnitCommitmentEnv(uncertainty="forecast")
    clairvoyant = run_episode(clairvoyant_policy(env), env, seed=4)
    mpc = run_episode(mpc_policy(env, window=4), env, seed=4)
    assert mpc.reward - mpc.cost <= clairvoyant.reward + 1e-6


def test_the_window_model_solves_the_miqp_by_outer_approximation():
    from stagewise.core.uncertainty import forecast_series
    from stagewise.problems.unit_commitment.model import WindowPlanner

    env = UnitCommitmentEnv(uncertainty="forecast")
    _, info = env.reset(seed=3)
    for _ in range(5):
        _, _, _, _, info = env.step(env.action_space.sample())
    state, series = info["state"], forecast_series(info["state"])
    planner = WindowPlanner(env.config, window=6)
    exact = solve(env.config, state=state, demand=series["load"], horizon=6)
    assert planner(state, series).objective == pytest.approx(exact.objective, rel=2e-6)
    first = exact.plan[0]
    assert np.array_equal(planner(state, series).plan[0]["u"], first["u"])

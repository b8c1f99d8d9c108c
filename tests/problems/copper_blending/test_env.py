"""The environment: stage rule (Eqs. 14-16), mass balance (Eqs. 1-2, 6), costs (Eqs. 8-11)."""

from __future__ import annotations

import numpy as np
import pytest

from stagewise.problems.copper_blending.env import CopperBlendingEnv

STOP = {"stop": 1, "alpha": 0.0, "weight": 0.0}


def step(env: CopperBlendingEnv, stop: int, alpha: float, weight: float) -> tuple:
    return env.step(env.encode({"stop": stop, "alpha": alpha, "weight": weight}))


def test_stop_at_stage_one_feeds_w_at_alpha_star() -> None:
    env = CopperBlendingEnv()
    env.reset(seed=0)
    expected = env.lower_level(0.95, 10.0)
    _, _, terminated, _, info = env.step(env.encode(STOP))
    assert terminated
    assert info["state"]["alpha"] == 0.95 and info["state"]["weight"] == pytest.approx(10.0)
    assert np.allclose(info["state"]["feed"], expected.x)


def test_final_stage_feeds_the_remainder_at_alpha_star() -> None:
    env = CopperBlendingEnv()
    env.reset(seed=1)
    _, _, terminated, _, info = step(env, 0, 0.3, 6.0)
    assert not terminated and info["state"]["alpha"] == pytest.approx(0.3)
    assert info["state"]["weight"] == pytest.approx(6.0)
    _, _, terminated, _, info = step(env, 1, 0.1, 1.0)  # alpha, weight ignored (Eqs. 14-15)
    assert terminated
    assert info["state"]["alpha"] == 0.95
    assert info["state"]["feed"].sum() == pytest.approx(4.0)


def test_cumulative_alpha_is_capped_at_alpha_star() -> None:
    env = CopperBlendingEnv()
    env.reset(seed=1)
    step(env, 0, 0.8, 2.0)
    _, _, _, _, info = step(env, 0, 0.8, 2.0)
    assert info["state"]["alpha"] == pytest.approx(0.95)


def test_stage_t_is_forced_final() -> None:
    env = CopperBlendingEnv()
    env.reset(seed=2)
    for stage in range(1, env.horizon + 1):
        _, _, terminated, _, info = step(env, 0, 0.1, 1.0)
        assert terminated == (stage == env.horizon)
    assert info["state"]["weight"] == pytest.approx(10.0)


def test_filling_the_furnace_ends_the_episode() -> None:
    env = CopperBlendingEnv()
    env.reset(seed=3)
    _, _, terminated, _, info = step(env, 0, 0.5, 10.0)
    assert terminated and info["state"]["alpha"] == pytest.approx(0.5)


def test_mass_balance_follows_eqs_1_2_and_6() -> None:
    env = CopperBlendingEnv()
    dyn = env.dynamics
    state = dyn.initial_state(np.random.default_rng(0), 1)
    decision = {"stop": np.array([0.0]), "alpha": np.array([0.4]), "weight": np.array([5.0])}
    first = dyn.transition(state, decision, np.random.default_rng(7)).state
    xi = dyn.sample_composition(np.random.default_rng(7), 1)[0]
    second = dyn.transition(first, decision, np.random.default_rng(8)).state
    xi2 = dyn.sample_composition(np.random.default_rng(8), 1)[0]
    x1, x2 = first["feed"][0], second["feed"][0]
    assert first["weight"][0] == pytest.approx(x1.sum())
    assert np.allclose(first["composition"][0], xi.T @ x1 / x1.sum())
    mass = first["weight"][0] * first["composition"][0] + xi2.T @ x2
    assert np.allclose(second["composition"][0], mass / (x1.sum() + x2.sum()))
    assert np.allclose(second["inventory"][0], dyn.inventory0 - x1 - x2)


def test_sampled_fractions_are_physical_even_with_huge_spread() -> None:
    dyn = CopperBlendingEnv().dynamics
    dyn.std = dyn.std * 50.0
    xi = dyn.sample_composition(np.random.default_rng(0), 200)
    assert xi.min() >= 0.0 and xi.max() <= 1.0
    assert np.all(xi.sum(axis=2) <= 1.0 + 1e-12)


def test_costs_follow_eqs_8_to_11() -> None:
    env = CopperBlendingEnv()
    inst = env.config.instance
    env.reset(seed=4)
    _, r1, _, _, info1 = step(env, 0, 0.2, 4.0)
    x1 = info1["state"]["feed"]
    scale = env.config.reward_scale  # reward terms are -scale x each cost (cu)
    cost = {name: -value / scale for name, value in info1["reward_terms"].items()}
    assert cost["material"] == pytest.approx(np.dot(inst.price, x1))
    assert cost["processing"] == pytest.approx(inst.C_e * 4.0)
    assert cost["fixed"] == pytest.approx(inst.C_f) and cost["penalty"] == 0.0
    assert r1 == pytest.approx(-1e-3 * sum(cost.values()))
    _, r2, _, _, info2 = env.step(env.encode(STOP))
    cost2 = {name: -value / scale for name, value in info2["reward_terms"].items()}
    assert r2 == pytest.approx(-1e-3 * sum(cost2.values()))
    p = info2["state"]["composition"]
    deviation = np.maximum(p - inst.upper, 0) + np.maximum(np.asarray(inst.lower) - p, 0)
    assert cost2["processing"] == pytest.approx(inst.C_e * 6.0 + inst.C_e_star * 4)
    assert cost2["penalty"] == pytest.approx(inst.C_v * deviation.sum())
    for j, element in enumerate(inst.elements):
        assert info2["costs"][f"spec_{element}"] == pytest.approx(100 * deviation[j])
    assert info2["cost"] == pytest.approx(100 * deviation.sum())


def test_random_draws_do_not_depend_on_the_decision() -> None:
    states = []
    for weight in (0.0, 7.0):
        env = CopperBlendingEnv()
        env.reset(seed=5)
        step(env, 0, 0.3, weight)
        states.append(env.np_random.bit_generator.state)
    assert states[0] == states[1]


def test_hybrid_and_box_modes_give_the_same_trajectory() -> None:
    results = []
    for mode in ("box", "hybrid"):
        env = CopperBlendingEnv(action_mode=mode)
        env.reset(seed=6)
        out = [step(env, 0, 0.35, 3.0), env.step(env.encode(STOP))]
        results.append([(o[0], o[1]) for o in out])
    for (obs_a, rew_a), (obs_b, rew_b) in zip(*results, strict=True):
        assert np.allclose(obs_a, obs_b) and rew_a == pytest.approx(rew_b)


def test_observation_holds_stage_weight_alpha_and_scaled_composition() -> None:
    env = CopperBlendingEnv()
    obs, _ = env.reset(seed=0)
    assert np.all(obs[:6] == 0.0) and np.all(obs[6:] == 1.0)
    obs, *_, info = step(env, 0, 0.3, 5.0)
    inst = env.config.instance
    center = (np.asarray(inst.lower) + inst.upper) / 2
    half = (np.asarray(inst.upper) - inst.lower) / 2
    assert obs[0] == pytest.approx(1 / inst.T) and obs[1] == pytest.approx(0.5)
    assert obs[2] == pytest.approx(0.3)
    scaled = np.clip((info["state"]["composition"] - center) / half, -10, 10)
    assert np.allclose(obs[3:6], scaled, atol=1e-5)


def test_open_loop_feedback_ignores_the_inspected_melt() -> None:
    feeds = {}
    for feedback in ("closed", "open"):
        env = CopperBlendingEnv(feedback=feedback)
        env.reset(seed=9)
        step(env, 0, 0.05, 5.0)
        feeds[feedback] = env.lower_level(0.95, 5.0).x
    empty = CopperBlendingEnv()
    empty.reset(seed=0)
    assert np.allclose(feeds["open"], empty.lower_level(0.95, 5.0).x)
    assert not np.allclose(feeds["closed"], feeds["open"])


def test_socp_form_runs_in_the_environment() -> None:
    env = CopperBlendingEnv(chance_form="socp")
    env.reset(seed=0)
    _, _, terminated, _, info = env.step(env.encode(STOP))
    assert terminated and info["state"]["feed"].sum() == pytest.approx(10.0, abs=1e-6)


def test_vector_env_steps_a_batch() -> None:
    venv = CopperBlendingEnv.make_vector(4)
    obs, _ = venv.reset(seed=0)
    actions = np.tile(np.array([[-1.0, -0.5, 0.0]], dtype=np.float32), (4, 1))
    obs, reward, done, _, infos = venv.step(actions)
    assert obs.shape == (4, venv.single_observation_space.shape[0])
    assert reward.shape == (4,) and not done.any()
    assert np.all(infos["reward_terms"]["material"] < 0)  # minus a positive material cost

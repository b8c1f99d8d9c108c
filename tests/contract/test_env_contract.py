"""The environment contract, checked on every registered problem and action mode."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

from stagewise.core.env import ACTION_RANGE
from stagewise.core.registry import ProblemSpec
from stagewise.core.spaces import MAX_ACTION_EXCESS


def make(spec: ProblemSpec, mode: str = "box") -> gym.Env:
    return gym.make(spec.env_id, action_mode=mode)


def trajectory(env: gym.Env, seed: int, steps: int, action_seed: int) -> list[Any]:
    """Observations, rewards and costs of ``steps`` random steps (resetting on episode end)."""
    env.action_space.seed(action_seed)
    obs, _ = env.reset(seed=seed)
    out: list[Any] = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        out += [obs, reward, info["cost"]]
        if terminated or truncated:
            obs, _ = env.reset()
            out.append(obs)
    return out


def flat_equal(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_gymnasium_check_env_passes(spec_mode: tuple[ProblemSpec, str]) -> None:
    spec, mode = spec_mode
    gym_check_env(make(spec, mode).unwrapped, skip_render_check=True)


def test_sb3_check_env_passes(spec: ProblemSpec) -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    sb3_check_env(make(spec).unwrapped, warn=False)


def test_same_seed_and_actions_give_identical_trajectory(
    spec_mode: tuple[ProblemSpec, str],
) -> None:
    spec, mode = spec_mode
    first = trajectory(make(spec, mode), seed=7, steps=60, action_seed=3)
    second = trajectory(make(spec, mode), seed=7, steps=60, action_seed=3)
    assert flat_equal(first, second)


def test_seeds_change_trajectories_exactly_when_the_problem_is_stochastic(
    spec: ProblemSpec,
) -> None:
    first = trajectory(make(spec), seed=1, steps=60, action_seed=3)
    second = trajectory(make(spec), seed=2, steps=60, action_seed=3)
    assert flat_equal(first, second) != spec.stochastic


def test_random_steps_keep_obs_reward_and_costs_valid(spec_mode: tuple[ProblemSpec, str]) -> None:
    spec, mode = spec_mode
    env = make(spec, mode)
    env.action_space.seed(0)
    obs, _ = env.reset(seed=0)
    families = set(env.unwrapped.cost_families)
    for _ in range(500):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert np.all(np.isfinite(obs)) and env.observation_space.contains(obs)
        assert np.isfinite(reward)
        assert info["cost"] >= 0.0
        assert set(info["costs"]) == families
        assert all(v >= 0.0 for v in info["costs"].values())
        assert info["cost"] == pytest.approx(sum(info["costs"].values()), abs=1e-9)
        assert all(np.isfinite(v) for v in info["reward_terms"].values())
        assert reward == pytest.approx(sum(info["reward_terms"].values()), rel=1e-9, abs=1e-9)
        if terminated or truncated:
            obs, _ = env.reset()


def _bad_actions(env: gym.Env) -> list[Any]:
    space = env.action_space
    if isinstance(space, gym.spaces.Box):
        nan = np.zeros(space.shape, dtype=np.float32)
        nan[0] = np.nan
        inf = np.zeros(space.shape, dtype=np.float32)
        inf[-1] = np.inf
        return [nan, inf, np.zeros(space.shape[0] + 1, dtype=np.float32), "go"]
    if isinstance(space, gym.spaces.Discrete):
        return [np.nan, np.inf, np.array([0, 1])]
    binary, cont = space.sample()
    bad_cont = cont.copy()
    bad_cont[0] = np.nan
    return [(binary, bad_cont), (binary, np.zeros(cont.size + 1)), binary]


def test_invalid_actions_raise_value_error_naming_problem(
    spec_mode: tuple[ProblemSpec, str],
) -> None:
    spec, mode = spec_mode
    env = make(spec, mode)
    for bad in _bad_actions(env):
        env.reset(seed=0)
        with pytest.raises(ValueError, match=env.unwrapped.problem_id):
            env.unwrapped.step(bad)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("extreme", [1e308, -1e308])
def test_extreme_finite_actions_are_charged_a_finite_capped_cost(
    spec_mode: tuple[ProblemSpec, str], extreme: float
) -> None:
    spec, mode = spec_mode
    env = make(spec, mode).unwrapped
    env.reset(seed=0)
    space = env.action_space
    if mode == "hybrid":
        action = (np.full(space.spaces[0].shape, extreme), np.full(space.spaces[1].shape, extreme))
    elif mode == "discrete":
        action = extreme
    else:
        action = np.full(space.shape, extreme)
    _, reward, *_, info = env.step(action)
    assert np.isfinite(reward) and np.isfinite(info["cost"])
    assert 0 < info["costs"][ACTION_RANGE] <= MAX_ACTION_EXCESS
    vector = type(env).make_vector(3, action_mode=mode)
    vector.reset(seed=0)
    batch = (
        tuple(np.stack([part] * 3) for part in action)
        if mode == "hybrid"
        else np.stack([np.asarray(action)] * 3)
    )
    assert np.all(np.isfinite(vector.step(batch)[4]["cost"]))


def test_loose_actions_are_refused_naming_them(spec_mode: tuple[ProblemSpec, str]) -> None:
    """NumPy would parse "0.5", drop an imaginary part and read None as nan."""
    spec, mode = spec_mode
    env = make(spec, mode).unwrapped
    sample = env.action_space.sample()
    loose = [None, "0.5"]
    if mode == "box":
        loose += [np.asarray(sample) + 1j, np.asarray(sample).astype(str)]
    elif mode == "discrete":
        loose += [1 + 1j]
    else:
        loose += [(sample[0], np.asarray(sample[1]) + 1j), (None, sample[1])]
    for action in loose:
        env.reset(seed=0)
        with pytest.raises(ValueError, match=r"not numeric|complex|hybrid action"):
            env.step(action)


def test_out_of_range_action_is_clipped_and_charged(spec: ProblemSpec) -> None:
    env = make(spec).unwrapped
    env.reset(seed=5)
    inside = env.action_space.sample() * 0.5
    outside = inside.copy()
    outside[0] = 3.0
    clipped = inside.copy()
    clipped[0] = 1.0
    env.reset(seed=5)
    obs_out, rew_out, *_, info_out = env.step(outside)
    env.reset(seed=5)
    obs_in, rew_in, *_, info_in = env.step(clipped)
    assert info_out["costs"][ACTION_RANGE] == pytest.approx(2.0)
    assert info_in["costs"][ACTION_RANGE] == 0.0
    assert np.array_equal(obs_out, obs_in) and rew_out == rew_in
    assert info_out["cost"] == pytest.approx(info_in["cost"] + 2.0)


def _grid_actions(env: gym.Env, rng: np.random.Generator) -> list[Any]:
    """Actions that are exact images of physical decisions (the action grid)."""
    unwrapped = env.unwrapped
    actions = []
    for _ in range(50):
        decision = unwrapped.decode(env.action_space.sample())
        actions.append(unwrapped.encode(decision))
    return actions


def test_encode_decode_round_trip_on_action_grid(spec_mode: tuple[ProblemSpec, str]) -> None:
    spec, mode = spec_mode
    env = make(spec, mode)
    env.action_space.seed(11)
    unwrapped = env.unwrapped
    for action in _grid_actions(env, np.random.default_rng(0)):
        again = unwrapped.encode(unwrapped.decode(action))
        if isinstance(action, tuple):
            assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(action, again, strict=True))
        else:
            assert np.allclose(action, again, atol=1e-6)


def test_episodes_end_by_the_horizon(spec_mode: tuple[ProblemSpec, str]) -> None:
    spec, mode = spec_mode
    env = make(spec, mode)
    env.action_space.seed(2)
    for seed in range(3):
        env.reset(seed=seed)
        for _ in range(env.unwrapped.horizon):
            *_, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                break
        assert terminated or truncated


def test_vector_env_batches_the_same_contract(spec_mode: tuple[ProblemSpec, str]) -> None:
    spec, mode = spec_mode
    venv = spec.env_class().make_vector(8, action_mode=mode)
    venv.action_space.seed(0)
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (8, *venv.single_observation_space.shape)
    for _ in range(3 * venv.template.horizon):
        obs, reward, _terminated, _truncated, info = venv.step(venv.action_space.sample())
        assert reward.shape == (8,) and np.all(np.isfinite(reward))
        assert np.all(info["cost"] >= 0.0)
        total = np.sum(list(info["costs"].values()), axis=0)
        assert np.allclose(info["cost"], total)
        assert all(venv.single_observation_space.contains(o) for o in obs)


def test_gym_make_vec_gives_the_native_vector_env(spec_mode: tuple[ProblemSpec, str]) -> None:
    from stagewise.core.env import ConstrainedVectorEnv

    spec, mode = spec_mode
    for vectorization_mode in ("vector_entry_point", None):
        envs = gym.make_vec(
            spec.env_id, num_envs=8, vectorization_mode=vectorization_mode, action_mode=mode
        )
        assert isinstance(envs, ConstrainedVectorEnv) and envs.num_envs == 8
        envs.action_space.seed(0)
        obs, _ = envs.reset(seed=0)
        obs, reward, *_, infos = envs.step(envs.action_space.sample())
        assert obs.shape == (8, *envs.single_observation_space.shape) and reward.shape == (8,)
        assert infos["cost"].shape == (8,)

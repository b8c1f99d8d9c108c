"""The environment contract, checked on every problem that supplies safety-layer rows,
stepped through the layer (single and native vector env)."""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

from stagewise.agents.common.vector import make_vector_env
from stagewise.core.registry import get_problem
from stagewise.core.safety import PROJECTION, problems_with_rows
from stagewise.core.safety_env import SafetyLayerEnv, SafetyVectorEnv, make_safe_env
from tests.contract.test_env_contract import _bad_actions, flat_equal

SAFE = problems_with_rows()
MIN_SAFE = ("unit-commitment", "gtep", "inventory", "grid-storage")
SAFEOR = (*MIN_SAFE, "rtn", "stn", "blending", "sched-maint", "asu")


def make(slug: str) -> SafetyLayerEnv:
    return make_safe_env(get_problem(slug).env_id)


def trajectory(env: SafetyLayerEnv, seed: int, steps: int) -> list[Any]:
    env.action_space.seed(3)
    obs, _ = env.reset(seed=seed)
    out: list[Any] = [obs]
    for _ in range(steps):
        obs, reward, terminated, _, info = env.step(env.action_space.sample())
        out += [obs, reward, info["cost"], info["safety"]["distance"]]
        if terminated:
            out.append(env.reset()[0])
    return out


def test_the_four_problems_of_issue_21_supply_rows() -> None:
    assert set(MIN_SAFE) <= set(SAFE)


def test_every_safeor_problem_supplies_rows() -> None:
    assert set(SAFEOR) <= set(SAFE)


class _WithoutWallTime(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """The one entry of a step that is not a function of seed and actions: the solve time."""

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def step(self, action: Any) -> tuple[Any, ...]:
        *out, info = self.env.step(action)
        info["safety"] = {k: v for k, v in info["safety"].items() if k != "seconds"}
        return (*out, info)


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
@pytest.mark.parametrize("slug", SAFE)
def test_gymnasium_check_env_passes_through_the_layer(slug: str) -> None:
    gym_check_env(_WithoutWallTime(make(slug)), skip_render_check=True)


@pytest.mark.parametrize("slug", SAFE)
def test_same_seed_and_actions_give_identical_trajectory(slug: str) -> None:
    assert flat_equal(trajectory(make(slug), 7, 30), trajectory(make(slug), 7, 30))


@pytest.mark.parametrize("slug", SAFE)
def test_random_steps_keep_obs_reward_and_costs_valid(slug: str) -> None:
    env = make(slug)
    env.action_space.seed(0)
    env.reset(seed=0)
    families = set(env.cost_families)
    for _ in range(60):
        obs, reward, terminated, _, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs) and np.isfinite(reward)
        assert set(info["costs"]) == families and PROJECTION in families
        assert all(v >= 0.0 for v in info["costs"].values())
        assert info["cost"] == pytest.approx(sum(info["costs"].values()), abs=1e-9)
        assert reward == pytest.approx(sum(info["reward_terms"].values()), rel=1e-9, abs=1e-9)
        assert set(info["safety"]) == {"distance", "violation", "seconds", "status"}
        if terminated:
            env.reset()


@pytest.mark.parametrize("slug", SAFE)
def test_invalid_actions_raise_value_error_naming_problem(slug: str) -> None:
    env = make(slug)
    for bad in _bad_actions(env):
        env.reset(seed=0)
        with pytest.raises(ValueError, match=env.base.problem_id):
            env.step(bad)


@pytest.mark.parametrize("slug", SAFE)
def test_episodes_end_by_the_horizon(slug: str) -> None:
    env = make(slug)
    env.action_space.seed(2)
    env.reset(seed=0)
    for _ in range(env.base.horizon):
        *_, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            break
    assert terminated or truncated


@pytest.mark.parametrize("slug", SAFE)
def test_vector_env_batches_the_same_contract(slug: str) -> None:
    envs = make_vector_env(functools.partial(make_safe_env, get_problem(slug).env_id), 4)
    assert isinstance(envs, SafetyVectorEnv)
    envs.action_space.seed(0)
    envs.reset(seed=0)
    for _ in range(envs.template.horizon + 2):  # across an autoreset
        obs, reward, _, _, info = envs.step(envs.action_space.sample())
        assert reward.shape == (4,) and np.all(np.isfinite(reward))
        assert np.allclose(info["cost"], np.sum(list(info["costs"].values()), axis=0))
        assert all(envs.single_observation_space.contains(o) for o in obs)

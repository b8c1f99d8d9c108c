"""Rollouts over the native vector env: chosen behind gym.make, same update as single envs."""

from __future__ import annotations

import functools

import gymnasium as gym
import pytest
import torch
from gymnasium.vector import SyncVectorEnv

import stagewise  # noqa: F401  (registers the problems)
from stagewise.agents import get_agent
from stagewise.agents.common.vector import make_vector_env
from stagewise.core.env import ConstrainedVectorEnv

torch.set_num_threads(1)
GTEP = "stagewise/GTEP-v0"


class Identity(gym.Wrapper):
    """A wrapper that changes nothing but is not one of gym.make's passive ones."""


def looped_gtep() -> gym.Env:
    return Identity(gym.make(GTEP))


def test_gym_make_partial_runs_as_native_vector_env():
    envs = make_vector_env(functools.partial(gym.make, GTEP, action_mode="box"), 8)
    assert isinstance(envs, ConstrainedVectorEnv) and envs.num_envs == 8


def test_other_wrappers_keep_the_python_loop():
    assert isinstance(make_vector_env(looped_gtep, 3), SyncVectorEnv)
    limited = functools.partial(gym.make, GTEP, max_episode_steps=5)  # a TimeLimit changes episodes
    assert isinstance(make_vector_env(limited, 3), SyncVectorEnv)


@pytest.mark.parametrize("name", ["ppo-lag", "trpo-lag"])
def test_vector_rollout_gives_the_update_of_a_loop_over_single_envs(name, tmp_path):
    # GTEP is deterministic, so both rollouts see the same episodes for the same actions
    spec = get_agent(name)
    cfg = spec.config(
        total_steps=480,
        num_envs=8,
        steps_per_epoch=240,
        update_epochs=2,
        minibatch_size=120,
        cost_limit=1.0,
        normalize_obs=True,
        reward_scale=0.01,
        cost_scale=0.01,
    )
    spec.train(functools.partial(gym.make, GTEP), cfg, tmp_path / "native")
    spec.train(looped_gtep, cfg, tmp_path / "loop")
    native = torch.load(tmp_path / "native" / "checkpoint.pt", weights_only=True)["model"]
    loop = torch.load(tmp_path / "loop" / "checkpoint.pt", weights_only=True)["model"]
    assert native.keys() == loop.keys()
    for key in native:
        torch.testing.assert_close(native[key], loop[key], rtol=1e-6, atol=1e-7, msg=key)
    native_csv = (tmp_path / "native" / "progress.csv").read_text().splitlines()
    loop_csv = (tmp_path / "loop" / "progress.csv").read_text().splitlines()
    assert [r.rsplit(",", 1)[0] for r in native_csv] == [r.rsplit(",", 1)[0] for r in loop_csv]

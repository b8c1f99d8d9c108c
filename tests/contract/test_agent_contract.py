"""Every agent trains briefly on every registered problem offering its action mode."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import stagewise
from stagewise.agents import AGENTS, get_agent
from stagewise.core.policy import run_episode

TRAIN_STEPS = 500
# Small networks and batches so that 500 steps also exercise the updates quickly; applied
# only where the agent's config has the field.
SMALL = {
    "hidden": (32, 32),
    "steps_per_epoch": 250,
    "num_envs": 2,
    "minibatch_size": 50,
    "update_epochs": 2,
    "learning_starts": 100,
    "batch_size": 32,
    "buffer_size": 1000,
}


def _cases() -> list[tuple[str, stagewise.core.ProblemSpec]]:
    cases = []
    for name in sorted(AGENTS):
        mode = get_agent(name).action_mode
        for spec in stagewise.problems():
            env_cls = spec.env_class()
            if mode in env_cls.build_dynamics(env_cls.config_model()).codec.modes and (
                name != "dah-ddpg" or _single_stop_flag(env_cls)
            ):
                cases.append((name, spec))
    return cases


def _single_stop_flag(env_cls: type) -> bool:
    """DAH-DDPG's hybrid action is one stop flag plus continuous parameters."""
    return env_cls(action_mode="hybrid").action_space.spaces[0].n == 1


CASES = _cases()


@pytest.mark.parametrize(("agent", "spec"), CASES, ids=[f"{a}-{s.slug}" for a, s in CASES])
def test_agent_trains_500_steps_and_its_policy_acts(
    agent: str, spec: stagewise.core.ProblemSpec, tmp_path: Path
) -> None:
    agent_spec = get_agent(agent)
    fields = {f.name for f in dataclasses.fields(agent_spec.config)}
    assert "seed" in fields and "total_steps" in fields
    small = {k: v for k, v in SMALL.items() if k in fields}
    settings = agent_spec.config(total_steps=TRAIN_STEPS, seed=0, **small)

    # picklable, as the CLI passes it: agents may train in spawned processes (DAH-DDPG restarts)
    env_fn = functools.partial(gym.make, spec.env_id, action_mode=agent_spec.action_mode)

    policy = agent_spec.train(env_fn, settings, tmp_path)
    assert (tmp_path / "progress.csv").exists()
    env = env_fn()
    obs, info = env.reset(seed=0)
    policy.reset(env)
    assert env.action_space.contains(policy.act(obs, info))
    record = run_episode(policy, env_fn(), seed=0)
    assert np.isfinite(record.reward) and record.cost >= 0.0
    reloaded = run_episode(agent_spec.load_policy(tmp_path), env_fn(), seed=0)
    assert reloaded.reward == pytest.approx(record.reward)

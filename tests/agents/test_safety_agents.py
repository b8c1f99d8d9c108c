"""Agents train through the safety layer: on-policy and off-policy box agents on a problem
with rows, and DQN's discrete actions through a hand-made layer."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from stagewise.agents import get_agent
from stagewise.core.policy import run_episode
from stagewise.core.safety import ColumnBlock, RowBlock, SafetyLayer, StepBounds, StepConstraints
from stagewise.core.safety_env import SafetyLayerEnv, make_safe_env

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


class AtMostOneUnit(StepConstraints):
    """Capacity expansion's ``units`` (integer, discrete mode) limited to 1 per period."""

    columns = (ColumnBlock("units", (), 0.0, 2.0, scale=1.0, integer=True),)
    rows = (RowBlock("budget", 1, {"units": np.ones((1, 1))}),)

    def bounds(self, state: dict[str, np.ndarray]) -> StepBounds:
        n = state["t"].shape[0]
        return StepBounds(np.full((n, 1), -np.inf), np.ones((n, 1)))


def capped_capacity_env() -> SafetyLayerEnv:
    env = gym.make("stagewise/CapacityExpansion-v0", action_mode="discrete", K=2, T=3)
    return SafetyLayerEnv(env, layer=SafetyLayer(AtMostOneUnit()))


def _settings(agent: str) -> object:
    spec = get_agent(agent)
    fields = {f.name for f in dataclasses.fields(spec.config)}
    small = {k: v for k, v in SMALL.items() if k in fields}
    return spec.config(total_steps=500, seed=0, **small)


@pytest.mark.parametrize("agent", ["ppo-lag", "ddpg-lag"])
def test_box_agents_train_through_the_layer_and_act_without_constraint_cost(
    agent: str, tmp_path: Path
) -> None:
    env_fn = functools.partial(make_safe_env, "stagewise/InvMgmt-v0")
    policy = get_agent(agent).train(env_fn, _settings(agent), tmp_path)
    record = run_episode(policy, env_fn(), seed=0)
    assert np.isfinite(record.reward)
    assert sum(v for k, v in record.costs.items() if k != "projection") == 0.0


def test_dqn_acts_through_a_layer_on_discrete_actions(tmp_path: Path) -> None:
    policy = get_agent("dqn").train(capped_capacity_env, _settings("dqn"), tmp_path)
    env = capped_capacity_env()
    obs, info = env.reset(seed=0)
    policy.reset(env)
    done = False
    while not done:
        before = info["state"]["capacity"]
        obs, _, done, _, info = env.step(policy.act(obs, info))
        assert info["state"]["capacity"] - before <= 1 and info["safety"]["violation"] == 0.0
    env.reset(seed=0)
    _, _, _, _, info = env.step(2)  # two units proposed, one admitted
    assert info["safety"]["distance"] == 1.0 and info["costs"]["projection"] == 1.0

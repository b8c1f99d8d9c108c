"""Training runs: determinism, resume after a kill, every agent on the registered problems."""

from __future__ import annotations

import csv

import gymnasium as gym
import pytest
import torch

from stagewise.agents import get_agent
from stagewise.core.registry import _PROBLEMS
from tests.agents.toy_tasks import SpeedTask, speed_task

torch.set_num_threads(1)

TINY_ON = {"steps_per_epoch": 100, "num_envs": 2, "update_epochs": 2, "minibatch_size": 50}
TINY_OFF = {"steps_per_epoch": 100, "learning_starts": 300, "batch_size": 32, "hidden": (16, 16)}


def tiny(name: str, **overrides):
    spec = get_agent(name)
    base = TINY_OFF if name.startswith("ddpg") else TINY_ON
    return spec, spec.config(**{**base, **overrides})


def early_learning(name: str, steps: int) -> dict:
    """Off-policy agents: start gradient steps early enough for a short run to use them."""
    return {"learning_starts": steps} if name.startswith("ddpg") else {}


def parameters(run_dir) -> list[torch.Tensor]:
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    model = state["model"] if "model" in state else state["learner"]["actor"]
    return list(model.values())


class Killed(Exception):
    pass


def kill_after(steps: int):
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        if done >= steps:
            raise Killed

    return progress


def assert_same(a: list[torch.Tensor], b: list[torch.Tensor]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["ppo-lag", "cpo", "ddpg-lag"])
def test_same_seed_same_run(name, tmp_path):
    spec, cfg = tiny(name, total_steps=200, cost_limit=3.0, **early_learning(name, 100))
    spec.train(speed_task(), cfg, tmp_path / "a")
    spec.train(speed_task(), cfg, tmp_path / "b")
    assert_same(parameters(tmp_path / "a"), parameters(tmp_path / "b"))
    other = spec.config(**{**cfg.__dict__, "seed": 1})
    spec.train(speed_task(), other, tmp_path / "c")
    pairs = zip(parameters(tmp_path / "a"), parameters(tmp_path / "c"), strict=True)
    assert not all(torch.equal(x, y) for x, y in pairs)


@pytest.mark.parametrize("name", ["ppo-lag", "trpo-lag", "ddpg-lag"])
def test_resume_after_kill_equals_uninterrupted_run(name, tmp_path):
    # CartPole/Pendulum-length episodes run across epoch boundaries, so the env state matters
    env_fn = speed_task(horizon=70)
    spec, cfg = tiny(name, total_steps=400, cost_limit=20.0, **early_learning(name, 150))
    spec.train(env_fn, cfg, tmp_path / "full")
    with pytest.raises(Killed):
        spec.train(env_fn, cfg, tmp_path / "resumed", progress=kill_after(250))
    assert torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=True)["epoch"] == 2
    spec.train(env_fn, cfg, tmp_path / "resumed")
    assert_same(parameters(tmp_path / "full"), parameters(tmp_path / "resumed"))
    full = (tmp_path / "full" / "progress.csv").read_text().splitlines()
    resumed = (tmp_path / "resumed" / "progress.csv").read_text().splitlines()
    assert len(full) == len(resumed) == 5
    strip = [[row.rsplit(",", 1)[0] for row in rows] for rows in (full, resumed)]  # steps/s
    assert strip[0] == strip[1]


def test_resume_on_native_vector_env(tmp_path):
    env_cls = _PROBLEMS["capacity-expansion"].env_class()
    spec, cfg = tiny("ppo-lag", total_steps=300, cost_limit=1.0)
    spec.train(env_cls, cfg, tmp_path / "full")
    with pytest.raises(Killed):
        spec.train(env_cls, cfg, tmp_path / "resumed", progress=kill_after(150))
    spec.train(env_cls, cfg, tmp_path / "resumed")
    assert_same(parameters(tmp_path / "full"), parameters(tmp_path / "resumed"))


def test_per_family_limits_get_one_multiplier_each(tmp_path):
    spec, cfg = tiny("ppo-lag", total_steps=400, cost_limits={"energy_0": 1.0, "energy_1": 50.0})
    spec.train(speed_task(dims=2), cfg, tmp_path)
    rows = list(csv.DictReader((tmp_path / "progress.csv").open()))
    assert float(rows[-1]["lambda_energy_0"]) > 0.0  # violated: 10 steps at speed ~0.5 > 1
    assert float(rows[-1]["lambda_energy_1"]) == 0.0  # never binding


@pytest.mark.parametrize("name", ["ppo", "trpo-lag"])
def test_discrete_actions(name, tmp_path):
    spec, cfg = tiny(name, total_steps=200)
    policy = spec.train(lambda: gym.make("CartPole-v1"), cfg, tmp_path)
    env = gym.make("CartPole-v1")
    obs, info = env.reset(seed=0)
    assert env.action_space.contains(policy.act(obs, info))


def test_bad_config_is_named(tmp_path):
    spec, cfg = tiny("ppo", steps_per_epoch=101)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        spec.train(speed_task(), cfg, tmp_path)
    spec, cfg = tiny("ddpg", total_steps=0)
    with pytest.raises(ValueError, match="total_steps"):
        spec.train(speed_task(), cfg, tmp_path)
    spec, cfg = tiny("ddpg")
    with pytest.raises(ValueError, match="action space"):
        spec.train(lambda: gym.make("CartPole-v1"), cfg, tmp_path)


def test_deterministic_policy_stays_in_range():
    from stagewise.agents.common.actor_critic import ActorCritic, ActorPolicy

    env = SpeedTask()
    model = ActorCritic(env.observation_space, env.action_space, 1)
    with torch.no_grad():
        model.actor.mean[-1].bias.fill_(5.0)  # mean far outside the Box
    action = ActorPolicy(model).act(env.reset(seed=0)[0], {})
    assert env.action_space.contains(action) and action[0] == 1.0

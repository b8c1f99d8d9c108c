"""DQN: TD target, epsilon schedule, replay buffer, checkpoint-resume, determinism.

Learning (the chain's optimum) is tested in ``test_learning.py``."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from stagewise.agents import get_agent
from stagewise.agents.common.checkpoint import load_checkpoint
from stagewise.agents.common.replay import ReplayBuffer
from stagewise.agents.dqn import (
    DQNConfig,
    GreedyQPolicy,
    NumpyQ,
    QNetwork,
    epsilon_at,
    learning_rate_at,
    load_policy,
    td_target,
    train,
)
from tests.agents.toy_tasks import WaitThenCashChain


def _tiny(**overrides: Any) -> DQNConfig:
    settings = dict(
        total_steps=300,
        learning_starts=50,
        batch_size=16,
        hidden_sizes=(16,),
        target_update_period=25,
        epsilon_decay=0.98,
        checkpoint_interval=100,
        log_interval=50,
        seed=3,
    )
    settings.update(overrides)
    return DQNConfig(**settings)


def _parameters(policy: Any) -> list[torch.Tensor]:
    return [p.detach().clone() for p in policy.q_network.parameters()]


# ----------------------------------------------------------------------------- TD target
def test_td_target_double_dqn_with_mask_matches_hand_computation() -> None:
    reward = torch.tensor([1.0, 2.0, 3.0])
    done = torch.tensor([False, False, True])
    q_target = torch.tensor([[10.0, 20.0, 30.0], [5.0, 6.0, 7.0], [100.0, 100.0, 100.0]])
    q_online = torch.tensor([[3.0, 1.0, 9.0], [0.0, 8.0, 1.0], [1.0, 2.0, 3.0]])
    mask = torch.tensor([[True, True, False], [True, True, True], [True, True, True]])
    y = td_target(reward, done, q_target, q_online, mask, gamma=0.5)
    # row 0: online argmax over feasible {0, 1} is 0 (the infeasible 2 has 9) -> 1 + 0.5 * 10
    # row 1: online argmax is 1 -> 2 + 0.5 * 6 ; row 2: terminal -> 3
    assert torch.allclose(y, torch.tensor([6.0, 5.0, 3.0]))


def test_td_target_without_double_dqn_takes_masked_max_of_target() -> None:
    reward = torch.tensor([1.0])
    q_target = torch.tensor([[10.0, 20.0, 30.0]])
    mask = torch.tensor([[True, True, False]])
    y = td_target(reward, torch.tensor([False]), q_target, None, mask, gamma=1.0)
    assert y.item() == pytest.approx(21.0)
    unmasked = td_target(reward, torch.tensor([False]), q_target, None, None, gamma=1.0)
    assert unmasked.item() == pytest.approx(31.0)


# ----------------------------------------------------------------------------- schedules
def test_epsilon_follows_the_papers_per_episode_recursion() -> None:
    cfg = DQNConfig(epsilon_start=1.0, epsilon_end=0.1, epsilon_decay=0.9)
    eps = 1.0
    for episode in range(1, 60):
        assert epsilon_at(episode, cfg) == pytest.approx(eps)
        eps = max(cfg.epsilon_end, cfg.epsilon_decay * eps)
    assert epsilon_at(59, cfg) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="numbered from 1"):
        epsilon_at(0, cfg)


def test_learning_rate_decays_linearly_to_its_end_fraction() -> None:
    cfg = DQNConfig(total_steps=1000, learning_rate=1e-3, lr_end_fraction=0.1)
    assert learning_rate_at(0, cfg) == pytest.approx(1e-3)
    assert learning_rate_at(500, cfg) == pytest.approx(0.55e-3)
    assert learning_rate_at(5000, cfg) == pytest.approx(1e-4)


def test_config_rejects_bad_values_naming_them() -> None:
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        DQNConfig(batch_size=0)
    with pytest.raises(ValueError, match="epsilon_decay must be in"):
        DQNConfig(epsilon_decay=1.5)


# ----------------------------------------------------------------------------- replay
def _fill(buffer: ReplayBuffer, n: int) -> None:
    for i in range(n):
        buffer.add(
            np.full(2, i, np.float32), i % 3, float(i), 0.5 * i, np.full(2, i + 1), i % 4 == 3
        )


def test_replay_buffer_overwrites_oldest_and_samples_from_the_given_rng() -> None:
    buffer = ReplayBuffer(5, (2,), action_dtype=np.int64, n_actions=3)
    _fill(buffer, 8)
    assert len(buffer) == 5
    assert sorted(buffer.reward.tolist()) == [3.0, 4.0, 5.0, 6.0, 7.0]
    a = buffer.sample(32, np.random.default_rng(7))
    b = buffer.sample(32, np.random.default_rng(7))
    assert np.array_equal(a.obs, b.obs) and np.array_equal(a.action, b.action)
    # each sampled row is one consistent stored transition
    assert np.array_equal(a.obs[:, 0], a.reward) and np.array_equal(a.next_obs[:, 0], a.reward + 1)
    assert np.allclose(a.cost, 0.5 * a.reward)
    assert a.next_action_mask is not None and a.next_action_mask.shape == (32, 3)


def test_replay_buffer_state_round_trip_continues_identically() -> None:
    buffer = ReplayBuffer(6, (2,), action_shape=(2,), action_dtype=np.float32)
    for i in range(4):
        buffer.add(np.ones(2) * i, np.array([i, -i]), i, 0.0, np.zeros(2), False)
    restored = ReplayBuffer(6, (2,), action_shape=(2,), action_dtype=np.float32)
    restored.load_state_dict(buffer.state_dict())
    for buf in (buffer, restored):
        buf.add(np.ones(2) * 9, np.array([9, 9]), 9.0, 1.0, np.zeros(2), True)
    x = buffer.sample(20, np.random.default_rng(1))
    y = restored.sample(20, np.random.default_rng(1))
    for name in ("obs", "action", "reward", "cost", "next_obs", "done"):
        assert np.array_equal(getattr(x, name), getattr(y, name)), name
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(7, (2,), action_shape=(2,)).load_state_dict(buffer.state_dict())


def test_replay_buffer_rejects_wrong_shapes() -> None:
    buffer = ReplayBuffer(4, (3,))
    with pytest.raises(ValueError, match="observation shape"):
        buffer.add(np.zeros(2), 0.0, 0.0, 0.0, np.zeros(3), False)
    with pytest.raises(ValueError, match="empty"):
        buffer.sample(1, np.random.default_rng(0))


# ----------------------------------------------------------------------------- training
class _Killed(Exception):
    pass


def test_resume_after_kill_ends_with_identical_parameters(tmp_path: Path) -> None:
    cfg = _tiny()
    straight = train(WaitThenCashChain, cfg, tmp_path / "straight")

    done = {"steps": 0}

    def kill_after_a_checkpoint(steps: int) -> None:
        done["steps"] += steps
        if done["steps"] >= 160:
            raise _Killed

    with pytest.raises(_Killed):
        train(WaitThenCashChain, cfg, tmp_path / "resumed", progress=kill_after_a_checkpoint)
    checkpoint = load_checkpoint(tmp_path / "resumed")
    assert checkpoint is not None and 100 <= checkpoint["counters"]["global_step"] < 160
    resumed = train(WaitThenCashChain, cfg, tmp_path / "resumed")

    for a, b in zip(_parameters(straight), _parameters(resumed), strict=True):
        assert torch.equal(a, b)
    rows = [
        list(csv.DictReader((tmp_path / d / "progress.csv").open()))
        for d in ("straight", "resumed")
    ]
    strip = [[{k: v for k, v in r.items() if k != "steps_per_s"} for r in rs] for rs in rows]
    assert strip[0] == strip[1]


def test_resume_with_other_hyper_parameters_is_refused(tmp_path: Path) -> None:
    train(WaitThenCashChain, _tiny(total_steps=100), tmp_path)
    with pytest.raises(ValueError, match="learning_rate"):
        train(WaitThenCashChain, _tiny(total_steps=100, learning_rate=0.5), tmp_path)


def test_same_seed_gives_identical_parameters(tmp_path: Path) -> None:
    a = train(WaitThenCashChain, _tiny(total_steps=200), tmp_path / "a")
    b = train(WaitThenCashChain, _tiny(total_steps=200), tmp_path / "b")
    c = train(WaitThenCashChain, _tiny(total_steps=200, seed=4), tmp_path / "c")
    assert all(torch.equal(x, y) for x, y in zip(_parameters(a), _parameters(b), strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(_parameters(a), _parameters(c), strict=True))


def test_rejects_a_continuous_action_space(tmp_path: Path) -> None:
    def continuous() -> gym.Env:
        env = WaitThenCashChain()
        env.action_space = spaces.Box(-1.0, 1.0, (1,))
        return env

    with pytest.raises(ValueError, match="Discrete action space"):
        train(continuous, _tiny(), tmp_path)


def test_registered_as_a_discrete_agent() -> None:
    spec = get_agent("dqn")
    assert spec.action_mode == "discrete" and spec.train is train
    assert {f.name for f in dataclasses.fields(spec.config)} >= {"seed", "total_steps"}


def test_plain_network_variant_trains_and_reloads(tmp_path: Path) -> None:
    policy = train(WaitThenCashChain, _tiny(total_steps=120, dueling=False), tmp_path)
    reloaded = load_policy(tmp_path)
    obs, _ = WaitThenCashChain().reset(seed=0)
    assert not reloaded.q_network.dueling
    assert np.allclose(reloaded.q_values(obs), policy.q_values(obs))


@pytest.mark.parametrize("dueling", [True, False])
def test_numpy_q_values_equal_the_network_forward(dueling: bool) -> None:
    torch.manual_seed(0)
    net = QNetwork(3, 4, (8, 8), dueling)
    obs = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(obs)).numpy()
    numpy_q = NumpyQ(net)
    assert np.allclose(np.stack([numpy_q(row) for row in obs]), expected, atol=1e-6)
    if dueling:  # Q(s, .) - V(s) has mean zero over decisions
        head = net.head(torch.relu(net.trunk[1](torch.relu(net.trunk[0](torch.from_numpy(obs))))))
        assert np.allclose(expected.mean(axis=1), head[:, 0].detach().numpy(), atol=1e-6)


def test_greedy_policy_never_picks_a_masked_action() -> None:
    policy = load_policy_from_values([0.0, 1.0, 9.0])
    assert policy.act(np.zeros(2, np.float32), {"action_mask": np.array([1, 1, 0], bool)}) == 1
    assert policy.act(np.zeros(2, np.float32), {}) == 2


def load_policy_from_values(values: list[float]) -> GreedyQPolicy:
    """A greedy policy whose network outputs ``values`` for every observation."""
    net = QNetwork(2, len(values), hidden=(), dueling=False)
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.copy_(torch.tensor(values))
    return GreedyQPolicy(net)

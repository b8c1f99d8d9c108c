"""DAH-DDPG: the losses of Eqs. 18-20, the F-Actor's gradient, resume.

Learning (the stopping toy's optimum) is tested in ``test_learning.py``."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from stagewise.agents import get_agent
from stagewise.agents.common.checkpoint import load_checkpoint
from stagewise.agents.dah_ddpg import (
    DAHDDPGConfig,
    _Learner,
    bellman_target,
    critic_loss,
    f_actor_loss,
    load_policy,
    s_actor_loss,
    train,
)
from tests.agents.toy_tasks import StopOrContinue


def _toy_config(**overrides: Any) -> DAHDDPGConfig:
    settings = {
        "total_steps": 800,
        "seed": 0,
        "hidden_sizes": (32, 32),
        "batch_size": 64,
        "guided_episodes": 50,
        "lr_f": 3e-3,
        "lr_s": 3e-3,
        "lr_c": 3e-3,
        "psi": 0.05,
        "critic_warmup": 100,
        "eval_interval": 400,
        "eval_episodes": 20,
        "patience": 0,
        "checkpoint_interval": 150,
        "restarts": 1,
    }
    return DAHDDPGConfig(**{**settings, **overrides})


def test_bellman_target_and_critic_loss_match_hand_computed_values() -> None:
    reward = torch.tensor([-1.0, -2.0, 0.5])
    done = torch.tensor([0.0, 1.0, 0.0])
    next_value = torch.tensor([-3.0, -10.0, 2.0])
    target = bellman_target(reward, done, next_value, gamma=0.9)
    # -1 + 0.9 * -3 = -3.7; terminal keeps -2; 0.5 + 0.9 * 2 = 2.3
    assert torch.allclose(target, torch.tensor([-3.7, -2.0, 2.3]))
    q = torch.tensor([-3.0, -1.0, 2.3])
    # ((0.7)^2 + (1)^2 + 0) / 3
    assert critic_loss(q, target).item() == pytest.approx((0.49 + 1.0) / 3)


def test_f_actor_and_s_actor_losses_match_hand_computed_values() -> None:
    q_p = torch.tensor([0.25, 0.5])
    q_stop = torch.tensor([-4.0, 2.0])
    q_continue = torch.tensor([-8.0, 6.0])
    # Eq. 19: -(0.25 * -4 + 0.75 * -8) = 7;  -(0.5 * 2 + 0.5 * 6) = -4; mean 1.5
    assert f_actor_loss(q_p, q_stop, q_continue).item() == pytest.approx(1.5)
    # Eq. 20 averages -Q over the non-terminal samples only: -(3 + 5) / 2
    q_cont = torch.tensor([3.0, 100.0, 5.0])
    non_terminal = torch.tensor([1.0, 0.0, 1.0])
    assert s_actor_loss(q_cont, non_terminal).item() == pytest.approx(-4.0)
    assert s_actor_loss(q_cont, torch.zeros(3)).item() == 0.0


@pytest.mark.parametrize(("q_stop", "q_continue", "sign"), [(1.0, -1.0, -1.0), (-2.0, 3.0, 1.0)])
def test_f_actor_loss_gradient_moves_the_stop_probability_towards_the_better_branch(
    q_stop: float, q_continue: float, sign: float
) -> None:
    q_p = torch.tensor([0.5], requires_grad=True)
    f_actor_loss(q_p, torch.tensor([q_stop]), torch.tensor([q_continue])).backward()
    # dL_f/dq_p = -(Q(a^(1)) - Q(a^(0))): negative (descent raises q_p) when stopping is better
    assert q_p.grad is not None
    assert torch.sign(q_p.grad).item() == sign
    assert q_p.grad.item() == pytest.approx(-(q_stop - q_continue))


def _parameters(run_dir: Path) -> dict[str, torch.Tensor]:
    checkpoint = load_checkpoint(run_dir)
    assert checkpoint is not None
    return {
        f"{net}.{key}": value
        for net in ("f_actor", "s_actor", "critic", "f_target", "s_target", "critic_target")
        for key, value in checkpoint[net].items()
    }


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


class _Interrupt(Exception):
    pass


def test_resume_from_checkpoint_gives_the_parameters_of_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    cfg = _toy_config(total_steps=400, eval_interval=100)
    train(StopOrContinue, cfg, tmp_path / "whole")
    steps = 0

    def interrupt_after_250(n: int) -> None:
        nonlocal steps
        steps += n
        if steps >= 250:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train(StopOrContinue, cfg, tmp_path / "resumed", progress=interrupt_after_250)
    assert load_checkpoint(tmp_path / "resumed")["counters"]["global_step"] < 400
    train(StopOrContinue, cfg, tmp_path / "resumed")
    _assert_same(_parameters(tmp_path / "whole"), _parameters(tmp_path / "resumed"))
    assert _progress_rows(tmp_path / "resumed") == _progress_rows(tmp_path / "whole")


def _progress_rows(run_dir: Path) -> list[dict[str, str]]:
    """progress.csv without its wall-clock column."""
    with (run_dir / "progress.csv").open() as f:
        return [{k: v for k, v in row.items() if k != "steps_per_s"} for row in csv.DictReader(f)]


def test_same_seed_same_parameters_other_seed_other_parameters(tmp_path: Path) -> None:
    cfg = _toy_config(total_steps=200)
    train(StopOrContinue, cfg, tmp_path / "a")
    train(StopOrContinue, cfg, tmp_path / "b")
    train(StopOrContinue, _toy_config(total_steps=200, seed=1), tmp_path / "c")
    _assert_same(_parameters(tmp_path / "a"), _parameters(tmp_path / "b"))
    a, c = _parameters(tmp_path / "a"), _parameters(tmp_path / "c")
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_saved_policy_reloads_and_progress_is_reported(tmp_path: Path) -> None:
    reported: list[int] = []
    cfg = _toy_config(total_steps=151)
    policy = train(StopOrContinue, cfg, tmp_path, progress=reported.append)
    # the budget is met exactly: the episode in progress at the limit is cut there
    assert sum(reported) == cfg.total_steps and min(reported) >= 1
    reloaded = load_policy(tmp_path)
    obs = np.array([0.0, 0.7], dtype=np.float32)
    first, second = policy.act(obs, {}), reloaded.act(obs, {})
    assert np.array_equal(first[0], second[0]) and np.allclose(first[1], second[1])
    assert get_agent("dah-ddpg").action_mode == "hybrid"


def test_non_hybrid_action_space_and_bad_config_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Tuple\\(MultiBinary\\(1\\), Box"):
        train(lambda: gym.make("CartPole-v1"), _toy_config(), tmp_path)
    with pytest.raises(ValueError, match="psi must be in"):
        DAHDDPGConfig(psi=1.5)
    with pytest.raises(ValueError, match="other hyper-parameters"):
        train(StopOrContinue, _toy_config(total_steps=100), tmp_path / "run")
        train(StopOrContinue, _toy_config(total_steps=100, lr_c=1e-2), tmp_path / "run")


@pytest.mark.parametrize("next_flag", ["max", "expected"])
def test_eq18_next_value_enumerates_both_flags_of_the_target_networks(next_flag: str) -> None:
    torch.manual_seed(0)
    learner = _Learner(3, 2, _toy_config(next_flag=next_flag, hidden_sizes=(8,)))
    next_obs = torch.randn(5, 3)
    with torch.no_grad():
        params = learner.s_target(next_obs)
        q_stop = learner.critic_target(next_obs, torch.ones(5), params)
        q_continue = learner.critic_target(next_obs, torch.zeros(5), params)
        q_p = learner.f_target(next_obs)
        value = learner.next_value(next_obs)
    if next_flag == "max":
        expected = torch.maximum(q_stop, q_continue)
    else:
        expected = q_p * q_stop + (1.0 - q_p) * q_continue
    assert torch.allclose(value, expected, atol=1e-6)
    # the two rules differ whenever the F-Actor is undecided and the branches differ
    assert not torch.allclose(
        torch.maximum(q_stop, q_continue), q_p * q_stop + (1.0 - q_p) * q_continue
    )


def test_actor_step_leaves_the_critic_unchanged_and_moves_both_actors() -> None:
    torch.manual_seed(0)
    learner = _Learner(3, 2, _toy_config(critic_warmup=0, s_actor_interval=1, hidden_sizes=(8,)))
    obs = torch.randn(16, 3)
    before = {
        name: [p.detach().clone() for p in getattr(learner, name).parameters()]
        for name in ("critic", "f_actor", "s_actor")
    }
    learner.updates = 1
    losses = learner._actor_step(obs, torch.zeros(16), torch.zeros(16))
    assert np.isfinite(losses["f_actor_loss"]) and np.isfinite(losses["s_actor_loss"])
    after = {name: list(getattr(learner, name).parameters()) for name in before}
    assert all(torch.equal(a, b) for a, b in zip(before["critic"], after["critic"], strict=True))
    for name in ("f_actor", "s_actor"):
        assert any(not torch.equal(a, b) for a, b in zip(before[name], after[name], strict=True))
    assert all(p.requires_grad for p in learner.critic.parameters())

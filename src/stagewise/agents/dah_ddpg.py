"""DAH-DDPG: dual-actor hybrid DDPG (Yin et al., Section 3.2, Algorithm 1).

For problems whose action is a stop flag plus continuous stage parameters,
``Tuple(MultiBinary(1), Box(-1, 1, (k,)))`` (the ``hybrid`` action mode). Six
networks: the F-Actor ``q_p = pi_f(s)`` (stopping probability), the S-Actor
``c = pi_s(s)`` (continuous parameters, e.g. ``(alpha~, w~)``), the Critic
``Q(s, a)`` with ``a = (q_f, c)``, and a target copy of each, soft-updated with
coefficient ``psi``. The stop flag is drawn ``q_f ~ Bernoulli(q_p)`` (Eq. 13).
Losses, on a minibatch of ``(s_{n-1}, a_n, r_n, s_n, d_n)`` (Eq. 17):

    L_c = (Q(s_{n-1}, a_n) - [r_n + gamma (1 - d_n) Q^-(s_n, a_{n+1})])^2          (18)
    L_f = -q_p Q(s_{n-1}, a^(1)) - (1 - q_p) Q(s_{n-1}, a^(0))                       (19)
    L_s = -Q(s_{n-1}, (0, pi_s(s_{n-1})))   on non-terminal stages only              (20)

``a^(1) = (1, .)`` stops; ``a^(0) = (0, pi_s(s))`` continues with the S-Actor's
parameters. Choices this file fixes where the paper is silent:

- ``Q^-(s_n, a_{n+1})`` in Eq. 18 enumerates both flags as Eq. 19 does, with
  ``a^(0) = (0, pi_s^-(s_n))``, and takes the better one,
  ``max(Q^-(s_n, a^(1)), Q^-(s_n, a^(0)))`` (``next_flag="max"``): the value of
  the greedy policy that is evaluated and deployed. The alternative
  ``next_flag="expected"``, ``q_p^- Q^-(s_n, a^(1)) + (1 - q_p^-) Q^-(s_n, a^(0))``,
  values a stage by the F-Actor's still undecided coin (``q_p`` near 0.5 early
  on) and so undervalues continuing at ``s_0`` whenever a further stage is
  costly; on copper blending it kept the greedy policy at single-stage CCP.
- On stop the environment replaces the continuous parameters by its own final
  stage rule (Eqs. 14-15), so the Critic sees them as zeros when ``q_f = 1``
  (``stop_overrides_params``).
- "Non-terminal" in Eq. 20 means ``q_f = 0`` and ``d_n = 0`` in the sample.
- The greedy policy stops when ``q_p > 0.5``. Training keeps the actors of the
  best greedy evaluation (fixed seeds, every ``eval_interval`` steps) and, if
  ``patience > 0``, ends after ``patience`` evaluations without improvement.
- Best of ``restarts`` agent seeds (default 2). Some seeds end with the S-Actor in a
  local maximum of ``Q(s_0, (0, c))`` at a poor first stage, where Eq. 20's ascent
  does not leave it (on copper blending 5E24M-LH-0 seed 2 stops at stage 1, rho 1.000
  against the tuned rule's 0.981). Restart ``i`` trains with seed ``seed + i`` in
  ``run_dir/restart_<i>/``; each restart's kept policy then plays the same
  ``selection_episodes`` fresh greedy episodes (seeds from ``SELECTION_SEED``, away
  from the benchmark's and from ``EVAL_SEED``'s, which already chose each restart's
  actors) and the best mean return is kept. ``restart_jobs`` of them train at once
  in spawned processes when ``env_fn`` pickles.
- Speed on small networks, where per-operation overhead dominates: the Critic
  evaluates ``a^(1)`` and ``a^(0)`` in one batched pass, the F- and S-Actor
  losses share one backward pass with the Critic's parameters frozen, and the
  three target networks are averaged in one fused call.

Algorithm 1 as run here: guided episodes (random two- or three-stage
decisions, ``n_in = 2,000``: many, so that the Critic knows the states after
good first stages before the actors reach them) fill the buffer first; each
episode acts with probability ``epsilon`` uniformly at random in the action
space, otherwise by Eq. 13 and the S-Actor (plus Gaussian noise
``action_noise``); in every ``f_t``-th episode each stage is followed by
``updates_per_step`` gradient steps, the F-Actor at each one and the S-Actor
at every ``s_actor_interval``-th (the F-Actor converges more slowly, Section
3.5). ``max_stages`` forces the stop flag at stage ``T``. Episodes start from
``env.reset(seed)`` with seeds from the agent's generator and checkpoints are
taken between episodes, so a resumed run ends with the parameters of an
uninterrupted one.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import pickle
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from stagewise.agents import AgentSpec
from stagewise.agents.common.checkpoint import (
    check_same_config,
    config_dict,
    load_checkpoint,
    load_torch,
    restore_rng_state,
    rng_state,
    save_checkpoint,
    save_torch,
)
from stagewise.agents.common.logger import ProgressLogger
from stagewise.agents.common.networks import mlp
from stagewise.agents.common.replay import ReplayBatch, ReplayBuffer
from stagewise.agents.common.seeding import seed_everything
from stagewise.core.files import locked, write_bytes_atomic, write_json_atomic
from stagewise.core.processes import die_with_parent

POLICY_FILE = "policy.pt"
CONFIG_FILE = "agent_config.json"
RESTARTS_FILE = "restarts.json"
PROGRESS_FILE = "progress.csv"
# Greedy evaluation episodes use seeds from here on, away from benchmark seeds 0, 1, ...
EVAL_SEED = 2_000_000
# Restarts are scored on seeds from here on: neither the benchmark's nor the ones that
# chose each restart's kept actors, so the selection is not fooled by that choice's noise.
SELECTION_SEED = 3_000_000
NEXT_FLAGS = ("max", "expected")


@dataclass
class DAHDDPGConfig:
    """Hyper-parameters of DAH-DDPG (Algorithm 1's inputs; defaults tuned on copper blending)."""

    total_steps: int = 30_000
    """environment steps to train for, exactly, guided episodes included (the episode in
    progress at the limit is cut there); each restart trains this many"""
    seed: int = 0
    """seed of every generator (network init, exploration, replay sampling, episodes)"""
    gamma: float = 1.0
    """gamma, discount of Eq. 18; 1 because the objective is the undiscounted total cost"""
    psi: float = 0.01
    """psi, soft-update coefficient of the three target networks"""
    lr_f: float = 3e-4
    """l_f, Adam step size of the F-Actor"""
    lr_s: float = 1e-4
    """l_s, Adam step size of the S-Actor"""
    lr_c: float = 1e-3
    """l_c, Adam step size of the Critic"""
    epsilon_start: float = 0.3
    """epsilon at the start: probability of a uniformly random action (Algorithm 1, line 8)"""
    epsilon_end: float = 0.02
    """epsilon after exploration_fraction of total_steps (linear decay)"""
    exploration_fraction: float = 0.6
    """share of total_steps over which epsilon decays"""
    action_noise: float = 0.1
    """std of Gaussian noise on the S-Actor's outputs while training (0: Algorithm 1 exactly)"""
    f_t: int = 1
    """f_t, training interval: gradient steps happen in every f_t-th episode"""
    updates_per_step: int = 1
    """gradient steps after each stage of a training episode"""
    s_actor_interval: int = 2
    """the S-Actor is updated at every s_actor_interval-th gradient step, the F-Actor at each"""
    critic_warmup: int = 2_000
    """gradient steps on L_c alone before the actors learn (an untrained critic drives the
    S-Actor's tanh into saturation, where Eq. 20 has no gradient left)"""
    batch_size: int = 128
    """n_bc, minibatch size"""
    buffer_size: int = 100_000
    """n_bf, replay buffer capacity (transitions)"""
    guided_episodes: int = 2_000
    """n_in, guided episodes (random two- and three-stage decisions) preloaded in the buffer;
    enough of them (2,000 on copper blending, about 5,000 steps) that the Critic sees the
    states that follow good first stages before the actors can find those stages; they use
    at most half of total_steps"""
    max_stages: int | None = None
    """T: the stop flag is forced at this stage (None: the environment's own limit applies)"""
    next_flag: str = "max"
    """the next stage's flag in Eq. 18's target: "max" (the better of stopping and
    continuing, Q^- at the greedy flag) or "expected" (weighted by the target F-Actor's q_p)"""
    stop_overrides_params: bool = True
    """the environment ignores the continuous parameters on stop (Eqs. 14-15): the Critic
    sees them as zeros when q_f = 1"""
    hidden_sizes: tuple[int, ...] = (64, 64)
    """widths of the hidden layers (ReLU) of all three networks"""
    reward_scale: float | None = None
    """rewards are multiplied by this in Eq. 18; None: 1 / std of the guided episodes'
    returns; the policy is unaffected"""
    eval_interval: int = 1_000
    """environment steps between greedy evaluations (early stopping, progress.csv rows)"""
    eval_episodes: int = 100
    """greedy episodes per evaluation (fixed seeds, common random numbers across evaluations)"""
    patience: int = 0
    """early stopping: evaluations without improvement before training ends (0: never)"""
    torch_threads: int = 1
    """torch intra-op threads"""
    checkpoint_interval: int = 10_000
    """environment steps between checkpoints (taken at the next episode boundary)"""
    restarts: int = 2
    """independent runs with seeds seed, seed + 1, ...; the one whose policy scores best on
    selection_episodes fresh greedy episodes is kept (1: a single run)"""
    restart_jobs: int = 2
    """restarts trained at once in spawned processes (one torch thread each) if env_fn
    pickles (e.g. functools.partial; else one after another); does not change the result"""
    selection_episodes: int = 200
    """greedy episodes (seeds from SELECTION_SEED, the same for every restart) that score
    the restarts"""

    def __post_init__(self) -> None:
        self.hidden_sizes = tuple(int(h) for h in self.hidden_sizes)
        problems = []
        positive = (
            "total_steps",
            "f_t",
            "updates_per_step",
            "s_actor_interval",
            "batch_size",
            "buffer_size",
            "eval_interval",
            "eval_episodes",
            "torch_threads",
            "checkpoint_interval",
            "restarts",
            "restart_jobs",
            "selection_episodes",
        )
        problems += [
            f"{n} must be >= 1, got {getattr(self, n)}" for n in positive if getattr(self, n) < 1
        ]
        for name in ("guided_episodes", "patience", "critic_warmup"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("lr_f", "lr_s", "lr_c"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be > 0, got {getattr(self, name)}")
        unit = ("gamma", "psi", "epsilon_start", "epsilon_end", "exploration_fraction")
        for name in unit:
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not self.action_noise >= 0:
            problems.append(f"action_noise must be >= 0, got {self.action_noise}")
        if self.next_flag not in NEXT_FLAGS:
            problems.append(f"next_flag must be one of {NEXT_FLAGS}, got {self.next_flag!r}")
        if self.max_stages is not None and self.max_stages < 1:
            problems.append(f"max_stages must be >= 1 or None, got {self.max_stages}")
        if self.reward_scale is not None and not self.reward_scale > 0:
            problems.append(f"reward_scale must be > 0 or None, got {self.reward_scale}")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            problems.append(f"hidden_sizes must be positive widths, got {self.hidden_sizes}")
        if problems:
            raise ValueError("invalid DAH-DDPG config: " + "; ".join(problems))


# ------------------------------------------------------------------- losses
def bellman_target(
    reward: torch.Tensor, done: torch.Tensor, next_value: torch.Tensor, gamma: float
) -> torch.Tensor:
    """``r_n + gamma (1 - d_n) Q^-(s_n, a_{n+1})``, the target of Eq. 18."""
    return reward + gamma * (1.0 - done) * next_value


def critic_loss(q: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 18: mean of ``(Q(s_{n-1}, a_n) - target)^2`` over the minibatch."""
    return ((q - target) ** 2).mean()


def f_actor_loss(q_p: torch.Tensor, q_stop: torch.Tensor, q_continue: torch.Tensor) -> torch.Tensor:
    """Eq. 19: mean of ``-q_p Q(s, a^(1)) - (1 - q_p) Q(s, a^(0))``."""
    return (-q_p * q_stop - (1.0 - q_p) * q_continue).mean()


def s_actor_loss(q_continue: torch.Tensor, non_terminal: torch.Tensor) -> torch.Tensor:
    """Eq. 20: mean of ``-Q(s, (0, pi_s(s)))`` over the non-terminal samples (0 if none)."""
    return -(q_continue * non_terminal).sum() / non_terminal.sum().clamp(min=1.0)


# ----------------------------------------------------------------- networks
class FActor(nn.Module):
    """``q_p = sigmoid(f(s))``: probability of stopping after this stage."""

    def __init__(self, obs_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        # tanh hidden units: Eq. 19 is linear in q_p and drives it to 0 or 1, which
        # kills every ReLU unit of a small network early in training.
        self.net = mlp(obs_dim, 1, hidden, activation=nn.Tanh)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(obs)).squeeze(-1)


class SActor(nn.Module):
    """``c = tanh(g(s))``: the normalized continuous stage parameters in ``[-1, 1]^k``."""

    def __init__(self, obs_dim: int, n_params: int, hidden: tuple[int, ...]):
        super().__init__()
        self.net = mlp(obs_dim, n_params, hidden, activation=nn.Tanh, out_activation=nn.Tanh)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


class Critic(nn.Module):
    """``Q(s, a)`` with ``a = (q_f, c)``; ``c`` is zeroed when ``q_f = 1`` if ``masked``."""

    def __init__(self, obs_dim: int, n_params: int, hidden: tuple[int, ...], masked: bool):
        super().__init__()
        self.net = mlp(obs_dim + 1 + n_params, 1, hidden)
        self.masked = masked

    def forward(self, obs: torch.Tensor, stop: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        if self.masked:
            params = params * (1.0 - stop).unsqueeze(-1)
        return self.net(torch.cat([obs, stop.unsqueeze(-1), params], dim=-1)).squeeze(-1)

    def both_flags(
        self, obs: torch.Tensor, params: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(Q(s, a^(1)), Q(s, a^(0)))`` with ``a^(q) = (q, params)``, in one forward pass."""
        n = obs.shape[0]
        stop = torch.cat([torch.ones(n), torch.zeros(n)])
        q = self.forward(obs.repeat(2, 1), stop, params.repeat(2, 1))
        return q[:n], q[n:]


# ------------------------------------------------------------------- policy
def env_action(stop: bool, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``Tuple(MultiBinary(1), Box)`` action for a flag and parameters."""
    return np.array([int(stop)], dtype=np.int8), np.asarray(params, dtype=np.float32)


class DAHPolicy:
    """Greedy DAH-DDPG policy: stop when ``q_p > 0.5``, else the S-Actor's parameters."""

    def __init__(self, f_actor: FActor, s_actor: SActor, max_stages: int | None = None):
        self.f_actor, self.s_actor, self.max_stages = f_actor, s_actor, max_stages
        self._stage = 0

    def reset(self, env: gym.Env) -> None:
        self._stage = 0

    def decide(self, obs: np.ndarray) -> tuple[float, np.ndarray]:
        """``(q_p, c)`` for one observation."""
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(obs, dtype=np.float32)).unsqueeze(0)
            return float(self.f_actor(x)[0]), self.s_actor(x)[0].numpy()

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        self._stage += 1
        q_p, params = self.decide(obs)
        forced = self.max_stages is not None and self._stage >= self.max_stages
        return env_action(q_p > 0.5 or forced, params)


# ------------------------------------------------------------------ learner
class _Learner:
    """The six networks, their optimizers and one gradient step of Eqs. 18-20."""

    def __init__(self, obs_dim: int, n_params: int, cfg: DAHDDPGConfig):
        hidden = cfg.hidden_sizes
        self.f_actor = FActor(obs_dim, hidden)
        self.s_actor = SActor(obs_dim, n_params, hidden)
        self.critic = Critic(obs_dim, n_params, hidden, cfg.stop_overrides_params)
        self.f_target = copy.deepcopy(self.f_actor)
        self.s_target = copy.deepcopy(self.s_actor)
        self.critic_target = copy.deepcopy(self.critic)
        self.f_opt = torch.optim.Adam(self.f_actor.parameters(), lr=cfg.lr_f, fused=True)
        self.s_opt = torch.optim.Adam(self.s_actor.parameters(), lr=cfg.lr_s, fused=True)
        self.c_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr_c, fused=True)
        self.cfg = cfg
        self.updates = 0
        pairs = (
            (self.f_target, self.f_actor),
            (self.s_target, self.s_actor),
            (self.critic_target, self.critic),
        )
        self._target_params = [p for t, _ in pairs for p in t.parameters()]
        self._online_params = [p for _, o in pairs for p in o.parameters()]
        self._critic_params = list(self.critic.parameters())

    def modules(self) -> dict[str, Any]:
        return {
            "f_actor": self.f_actor,
            "s_actor": self.s_actor,
            "critic": self.critic,
            "f_target": self.f_target,
            "s_target": self.s_target,
            "critic_target": self.critic_target,
            "f_opt": self.f_opt,
            "s_opt": self.s_opt,
            "c_opt": self.c_opt,
        }

    def update(self, batch: ReplayBatch, scale: float) -> dict[str, float]:
        """One gradient step on ``L_c`` and ``L_f`` (and ``L_s`` every ``s_actor_interval``)."""
        obs = torch.from_numpy(batch.obs)
        action = torch.from_numpy(batch.action)
        stop, params = action[:, 0], action[:, 1:]
        reward = torch.from_numpy(batch.reward) * scale
        done = torch.from_numpy(batch.done).float()
        with torch.no_grad():
            next_value = self.next_value(torch.from_numpy(batch.next_obs))
            target = bellman_target(reward, done, next_value, self.cfg.gamma)
        loss_c = critic_loss(self.critic(obs, stop, params), target)
        self.c_opt.zero_grad(set_to_none=True)
        loss_c.backward()
        self.c_opt.step()

        self.updates += 1
        losses = {
            "critic_loss": loss_c.item(),
            "f_actor_loss": float("nan"),
            "s_actor_loss": float("nan"),
        }
        if self.updates > self.cfg.critic_warmup:
            losses |= self._actor_step(obs, stop, done)
        # Polyak averaging of the three target networks in one fused call
        with torch.no_grad():
            torch._foreach_lerp_(self._target_params, self._online_params, self.cfg.psi)
        return losses

    def next_value(self, next_obs: torch.Tensor) -> torch.Tensor:
        """``Q^-(s_n, a_{n+1})`` of Eq. 18 from the target networks (see ``next_flag``)."""
        q_stop, q_continue = self.critic_target.both_flags(next_obs, self.s_target(next_obs))
        if self.cfg.next_flag == "max":
            return torch.maximum(q_stop, q_continue)
        q_p = self.f_target(next_obs)
        return q_p * q_stop + (1.0 - q_p) * q_continue

    def _actor_step(self, obs: torch.Tensor, stop: torch.Tensor, done: torch.Tensor):
        """Eq. 19 on the F-Actor, and Eq. 20 on the S-Actor every ``s_actor_interval`` steps.

        Both losses share one Critic pass over ``a^(1)`` and ``a^(0)`` and one backward
        pass; the Critic's own parameters are frozen meanwhile (no gradient is computed
        for them).
        """
        train_s = self.updates % self.cfg.s_actor_interval == 0
        for p in self._critic_params:
            p.requires_grad_(False)
        with torch.set_grad_enabled(train_s):
            own_params = self.s_actor(obs)
        q_stop, q_continue = self.critic.both_flags(obs, own_params)
        loss_f = f_actor_loss(self.f_actor(obs), q_stop.detach(), q_continue.detach())
        losses = {"f_actor_loss": loss_f.item()}
        self.f_opt.zero_grad(set_to_none=True)
        total = loss_f
        if train_s:
            loss_s = s_actor_loss(q_continue, (1.0 - stop) * (1.0 - done))
            self.s_opt.zero_grad(set_to_none=True)
            total = total + loss_s
            losses["s_actor_loss"] = loss_s.item()
        total.backward()
        self.f_opt.step()
        if train_s:
            self.s_opt.step()
        for p in self._critic_params:
            p.requires_grad_(True)
        return losses


# --------------------------------------------------------------------- loop
@dataclass
class _Counters:
    """Everything besides networks, buffer and generators that a resume needs."""

    global_step: int = 0
    episode: int = 0
    reward_scale: float | None = None
    next_eval: int = 0
    next_checkpoint: int = 0
    best_eval: float = -float("inf")
    evals_without_gain: int = 0
    log_rows: int = 0
    stopped_early: bool = False
    returns: list[float] = field(default_factory=list)
    losses: dict[str, list[float]] = field(default_factory=dict)


def _check_env(env: gym.Env) -> tuple[int, int]:
    space, obs_space = env.action_space, env.observation_space
    ok = (
        isinstance(space, spaces.Tuple)
        and len(space.spaces) == 2
        and isinstance(space.spaces[0], spaces.MultiBinary)
        and tuple(space.spaces[0].shape) == (1,)
        and isinstance(space.spaces[1], spaces.Box)
        and len(space.spaces[1].shape) == 1
    )
    if not ok:
        raise ValueError(
            "DAH-DDPG needs a Tuple(MultiBinary(1), Box(k,)) action space (stop flag + "
            f"continuous parameters; action_mode='hybrid'), got {space}"
        )
    box = space.spaces[1]
    if not (np.all(box.low == -1.0) and np.all(box.high == 1.0)):
        raise ValueError(f"DAH-DDPG needs the parameters normalized to [-1, 1], got {box}")
    if not isinstance(obs_space, spaces.Box) or len(obs_space.shape) != 1:
        raise ValueError(f"DAH-DDPG needs a flat Box observation space, got {obs_space}")
    return int(obs_space.shape[0]), int(box.shape[0])


def epsilon_at(step: int, cfg: DAHDDPGConfig) -> float:
    """Exploration probability at environment step ``step`` (linear decay)."""
    horizon = max(cfg.exploration_fraction * cfg.total_steps, 1.0)
    share = min(1.0, step / horizon)
    return cfg.epsilon_start + share * (cfg.epsilon_end - cfg.epsilon_start)


def _explore(
    obs: np.ndarray,
    stage: int,
    learner: _Learner,
    rng: np.random.Generator,
    cfg: DAHDDPGConfig,
    n_params: int,
    epsilon: float,
) -> tuple[bool, np.ndarray]:
    """Algorithm 1, lines 6-16: a random action with probability epsilon, else Eq. 13."""
    if rng.random() < epsilon:
        stop, params = bool(rng.random() < 0.5), rng.uniform(-1.0, 1.0, n_params)
    else:
        q_p, params = DAHPolicy(learner.f_actor, learner.s_actor).decide(obs)
        stop = bool(rng.random() < q_p)  # Eq. 13
        if cfg.action_noise > 0:
            params = np.clip(params + cfg.action_noise * rng.standard_normal(n_params), -1, 1)
    forced = cfg.max_stages is not None and stage >= cfg.max_stages
    return stop or forced, np.asarray(params, dtype=np.float32)


def _guided(stage: int, stages: int, rng: np.random.Generator, n_params: int):
    """A guided decision: continue with random parameters until stage ``stages``, then stop."""
    return stage >= stages, rng.uniform(-1.0, 1.0, n_params).astype(np.float32)


def _episode(
    env: gym.Env,
    buffer: ReplayBuffer,
    rng: np.random.Generator,
    choose: Callable[[np.ndarray, int], tuple[bool, np.ndarray]],
    steps_left: int,
    after_step: Callable[[], None] | None = None,
) -> tuple[float | None, int]:
    """Play one episode with ``choose(obs, stage)``, storing every transition (Eq. 17).

    Returns the episode's return (None if it was cut after ``steps_left`` steps, the
    rest of the training budget) and its number of steps.
    """
    obs, _ = env.reset(seed=int(rng.integers(2**63 - 1)))
    total, stage, done = 0.0, 0, False
    while not done and stage < steps_left:
        stage += 1
        stop, params = choose(obs, stage)
        next_obs, reward, terminated, truncated, info = env.step(env_action(stop, params))
        action = np.concatenate([[float(stop)], params]).astype(np.float32)
        buffer.add(obs, action, float(reward), float(info.get("cost", 0.0)), next_obs, terminated)
        obs, done, total = next_obs, terminated or truncated, total + float(reward)
        if after_step is not None:
            after_step()
    return (total if done else None), stage


def greedy_evaluation(
    policy: DAHPolicy, env: gym.Env, episodes: int, seed: int = EVAL_SEED
) -> dict[str, float]:
    """Mean return, cost and reward terms of ``episodes`` greedy episodes (seeds ``seed + k``)."""
    sums: dict[str, float] = {"return": 0.0, "cost": 0.0}
    for k in range(episodes):
        obs, info = env.reset(seed=seed + k)
        policy.reset(env)
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy.act(obs, info))
            sums["return"] += float(reward)
            sums["cost"] += float(info.get("cost", 0.0))
            for name, value in info.get("reward_terms", {}).items():
                sums[f"term_{name}"] = sums.get(f"term_{name}", 0.0) + float(value)
            done = terminated or truncated
    return {key: value / episodes for key, value in sums.items()}


def train(
    env_fn: Callable[[], gym.Env],
    cfg: DAHDDPGConfig | None = None,
    run_dir: str | Path = "runs/dah-ddpg",
    progress: Callable[[int], None] | None = None,
) -> DAHPolicy:
    """Train DAH-DDPG on ``env_fn()`` (hybrid actions); resume from ``run_dir`` if checkpointed.

    Writes ``run_dir/progress.csv`` (one row per greedy evaluation), ``checkpoint.pt``
    (every ``checkpoint_interval`` steps, between episodes) and at the end ``policy.pt``
    (the best evaluated actors) and ``agent_config.json``. ``progress(n)`` is called
    after each episode with its ``n`` environment steps. With ``restarts = k > 1`` the
    runs live in ``run_dir/restart_<i>/`` (seeds ``seed + i``, each resumable) and
    ``run_dir`` gets the selected one's ``policy.pt`` and ``progress.csv`` plus
    ``restarts.json`` (see :func:`train_restarts`).
    """
    cfg = cfg or DAHDDPGConfig()
    if cfg.restarts > 1:
        return train_restarts(env_fn, cfg, run_dir, progress)
    return _train_run(env_fn, cfg, Path(run_dir), progress)


def _train_run(
    env_fn: Callable[[], gym.Env],
    cfg: DAHDDPGConfig,
    run_dir: Path,
    progress: Callable[[int], None] | None,
) -> DAHPolicy:
    """One run of Algorithm 1 (``cfg.restarts`` is not looked at)."""
    rng = seed_everything(cfg.seed, cfg.torch_threads)
    env = env_fn()
    obs_dim, n_params = _check_env(env)
    learner = _Learner(obs_dim, n_params, cfg)
    best = copy.deepcopy(
        {"f_actor": learner.f_actor.state_dict(), "s_actor": learner.s_actor.state_dict()}
    )
    buffer = ReplayBuffer(cfg.buffer_size, (obs_dim,), action_shape=(1 + n_params,))
    c = _Counters(
        reward_scale=cfg.reward_scale,
        next_eval=cfg.eval_interval,
        next_checkpoint=cfg.checkpoint_interval,
    )
    logger = ProgressLogger(run_dir)
    checkpoint = load_checkpoint(run_dir)
    if checkpoint is not None:
        check_same_config(checkpoint["config"], cfg, run_dir)
        for name, module in learner.modules().items():
            module.load_state_dict(checkpoint[name])
        learner.updates = checkpoint["updates"]
        best = checkpoint["best"]
        buffer.load_state_dict(checkpoint["buffer"])
        c = _Counters(**checkpoint["counters"])
        restore_rng_state(checkpoint["rng"], rng)
        logger.truncate(c.log_rows)
    else:
        logger.truncate(0)
        _preload_guided(env, buffer, rng, c, cfg, n_params, progress)

    started, steps_at_start = time.perf_counter(), c.global_step
    while c.global_step < cfg.total_steps and not c.stopped_early:
        length = _training_episode(env, learner, buffer, rng, c, cfg, n_params)
        if progress is not None:
            progress(length)
        if c.global_step >= c.next_eval or c.global_step >= cfg.total_steps:
            elapsed = max(time.perf_counter() - started, 1e-9)
            best = _evaluate_and_log(
                env, learner, best, logger, c, cfg, (c.global_step - steps_at_start) / elapsed
            )
            c.next_eval = (c.global_step // cfg.eval_interval + 1) * cfg.eval_interval
        if c.global_step >= c.next_checkpoint:
            c.next_checkpoint = (
                c.global_step // cfg.checkpoint_interval + 1
            ) * cfg.checkpoint_interval
            _save(run_dir, learner, best, buffer, c, rng, cfg)
    _save(run_dir, learner, best, buffer, c, rng, cfg)
    logger.close()
    env.close()
    save_torch(
        run_dir / POLICY_FILE,
        {
            **best,
            "obs_dim": obs_dim,
            "n_params": n_params,
            "hidden_sizes": list(cfg.hidden_sizes),
            "max_stages": cfg.max_stages,
        },
    )
    write_json_atomic(run_dir / CONFIG_FILE, config_dict(cfg))
    return _policy_from(best, obs_dim, n_params, cfg.hidden_sizes, cfg.max_stages)


def _preload_guided(
    env: gym.Env,
    buffer: ReplayBuffer,
    rng: np.random.Generator,
    c: _Counters,
    cfg: DAHDDPGConfig,
    n_params: int,
    progress: Callable[[int], None] | None,
) -> None:
    """Algorithm 1, line 2: random two- and three-stage episodes fill the buffer.

    They stop early once they have used half of ``total_steps``, so that a short run
    still trains and evaluates its actors.
    """
    returns = []
    for _ in range(cfg.guided_episodes):
        if c.global_step >= cfg.total_steps // 2:
            break
        stages = int(rng.integers(2, 4))
        total, length = _episode(
            env,
            buffer,
            rng,
            lambda _o, n, k=stages: _guided(n, k, rng, n_params),
            cfg.total_steps - c.global_step,
        )
        if total is not None:
            returns.append(total)
        c.global_step += length
        if progress is not None:
            progress(length)
    if c.reward_scale is None:
        spread = float(np.std(returns)) if len(returns) > 1 else 0.0
        c.reward_scale = 1.0 / spread if spread > 1e-8 else 1.0


def _training_episode(
    env: gym.Env,
    learner: _Learner,
    buffer: ReplayBuffer,
    rng: np.random.Generator,
    c: _Counters,
    cfg: DAHDDPGConfig,
    n_params: int,
) -> int:
    """Algorithm 1, lines 4-29: one episode, with gradient steps if ``r = 0 mod f_t``."""
    c.episode += 1
    epsilon = epsilon_at(c.global_step, cfg)
    learn = c.episode % cfg.f_t == 0

    def after_step() -> None:
        c.global_step += 1
        if not learn or len(buffer) < cfg.batch_size:
            return
        for _ in range(cfg.updates_per_step):
            losses = learner.update(buffer.sample(cfg.batch_size, rng), c.reward_scale or 1.0)
            for name, value in losses.items():
                if np.isfinite(value):
                    c.losses.setdefault(name, []).append(value)

    total, length = _episode(
        env,
        buffer,
        rng,
        lambda obs, n: _explore(obs, n, learner, rng, cfg, n_params, epsilon),
        cfg.total_steps - c.global_step,
        after_step,
    )
    if total is not None:
        c.returns.append(total)
    return length


def _evaluate_and_log(
    env: gym.Env,
    learner: _Learner,
    best: dict[str, Any],
    logger: ProgressLogger,
    c: _Counters,
    cfg: DAHDDPGConfig,
    steps_per_s: float,
) -> dict[str, Any]:
    """Greedy evaluation, early-stopping bookkeeping and one progress.csv row."""
    policy = DAHPolicy(learner.f_actor, learner.s_actor, cfg.max_stages)
    result = greedy_evaluation(policy, env, cfg.eval_episodes)
    if result["return"] > c.best_eval:
        c.best_eval, c.evals_without_gain = result["return"], 0
        best = {
            "f_actor": copy.deepcopy(learner.f_actor.state_dict()),
            "s_actor": copy.deepcopy(learner.s_actor.state_dict()),
        }
    else:
        c.evals_without_gain += 1
        c.stopped_early = cfg.patience > 0 and c.evals_without_gain >= cfg.patience
    row = {
        "step": c.global_step,
        "episode": c.episode,
        "train_return_mean": float(np.mean(c.returns)) if c.returns else float("nan"),
        **{f"eval_{k}": v for k, v in result.items()},
        "best_eval_return": c.best_eval,
        **{k: float(np.mean(v)) if v else float("nan") for k, v in _loss_lists(c).items()},
        "epsilon": epsilon_at(c.global_step, cfg),
        "reward_scale": c.reward_scale,
        "steps_per_s": steps_per_s,
    }
    logger.log(row, step=c.global_step)
    c.log_rows += 1
    c.returns, c.losses = [], {}
    return best


def _loss_lists(c: _Counters) -> dict[str, list[float]]:
    return {
        name: c.losses.get(name, []) for name in ("critic_loss", "f_actor_loss", "s_actor_loss")
    }


def _save(
    run_dir: Path,
    learner: _Learner,
    best: dict[str, Any],
    buffer: ReplayBuffer,
    c: _Counters,
    rng: np.random.Generator,
    cfg: DAHDDPGConfig,
) -> None:
    save_checkpoint(
        run_dir,
        {
            "config": config_dict(cfg),
            **{name: module.state_dict() for name, module in learner.modules().items()},
            "updates": learner.updates,
            "best": best,
            "buffer": buffer.state_dict(),
            "counters": asdict(c),
            "rng": rng_state(rng),
        },
    )


def _policy_from(
    actors: dict[str, Any],
    obs_dim: int,
    n_params: int,
    hidden: tuple[int, ...],
    max_stages: int | None,
) -> DAHPolicy:
    f_actor, s_actor = FActor(obs_dim, hidden), SActor(obs_dim, n_params, hidden)
    f_actor.load_state_dict(actors["f_actor"])
    s_actor.load_state_dict(actors["s_actor"])
    return DAHPolicy(f_actor.eval(), s_actor.eval(), max_stages)


def load_policy(run_dir: str | Path) -> DAHPolicy:
    """The greedy policy saved by :func:`train` in ``run_dir``."""
    saved = load_torch(Path(run_dir) / POLICY_FILE, "trained DAH-DDPG policy")
    return _policy_from(
        saved,
        saved["obs_dim"],
        saved["n_params"],
        tuple(saved["hidden_sizes"]),
        saved["max_stages"],
    )


# ----------------------------------------------------------------- restarts
def restart_config(cfg: DAHDDPGConfig, index: int) -> DAHDDPGConfig:
    """The single run ``index`` of a restarted training: seed ``cfg.seed + index``.

    The restart settings are reset to their defaults, so ``restart_<i>/`` holds exactly
    the run that ``restarts=1, seed=seed + i`` would train (and resumes whatever
    ``restart_jobs`` is).
    """
    defaults = DAHDDPGConfig()
    return replace(
        cfg,
        seed=cfg.seed + index,
        restarts=1,
        restart_jobs=1,
        selection_episodes=defaults.selection_episodes,
    )


def train_restarts(
    env_fn: Callable[[], gym.Env],
    cfg: DAHDDPGConfig,
    run_dir: str | Path,
    progress: Callable[[int], None] | None = None,
) -> DAHPolicy:
    """Best of ``cfg.restarts`` independent runs, chosen by a fresh paired greedy evaluation.

    Restart ``i`` trains in ``run_dir/restart_<i>/`` with :func:`restart_config`;
    ``cfg.restart_jobs`` of them at a time in spawned processes. Every restart's policy
    then plays the same ``cfg.selection_episodes`` episodes (seeds ``SELECTION_SEED + k``,
    common random numbers); the highest mean return wins, ties to the lower index.
    ``run_dir`` gets the winner's ``policy.pt`` and ``progress.csv``, ``agent_config.json``
    and ``restarts.json`` (each restart's seed and selection score, and the choice).
    """
    run_dir = Path(run_dir)
    configs = [restart_config(cfg, i) for i in range(cfg.restarts)]
    dirs = [run_dir / f"restart_{i}" for i in range(cfg.restarts)]
    jobs = min(cfg.restart_jobs, cfg.restarts)
    if jobs > 1 and not _picklable(env_fn):
        warnings.warn(
            f"restart_jobs = {jobs} needs an env_fn that can be sent to a spawned process "
            f"(a top-level function or functools.partial), got {env_fn!r}; training the "
            "restarts one after another",
            RuntimeWarning,
            stacklevel=3,
        )
        jobs = 1
    if jobs > 1:
        _train_in_processes(env_fn, configs, dirs, jobs, progress)
    else:
        for run_cfg, path in zip(configs, dirs, strict=True):
            _train_restart(env_fn, run_cfg, path, progress)
    torch.set_num_threads(cfg.torch_threads)
    env = env_fn()
    scores = []
    for i, (run_cfg, path) in enumerate(zip(configs, dirs, strict=True)):
        result = greedy_evaluation(load_policy(path), env, cfg.selection_episodes, SELECTION_SEED)
        scores.append({"restart": i, "seed": run_cfg.seed, **result})
    env.close()
    chosen = max(range(len(scores)), key=lambda i: (scores[i]["return"], -i))
    for name in (POLICY_FILE, PROGRESS_FILE):
        write_bytes_atomic(run_dir / name, (dirs[chosen] / name).read_bytes())
    write_json_atomic(run_dir / CONFIG_FILE, config_dict(cfg))
    summary = {
        "selected": chosen,
        "selection_seed": SELECTION_SEED,
        "selection_episodes": cfg.selection_episodes,
        "restarts": scores,
    }
    write_json_atomic(run_dir / RESTARTS_FILE, summary)
    return load_policy(run_dir)


def _train_in_processes(
    env_fn: Callable[[], gym.Env],
    configs: list[DAHDDPGConfig],
    dirs: list[Path],
    jobs: int,
    progress: Callable[[int], None] | None,
) -> None:
    """Train the restarts ``jobs`` at a time in spawned processes; relay their progress.

    The workers and the queue's manager process die with this process (``kill -9``
    included), so no orphan keeps training into a ``restart_<i>/`` that a resume reopens.
    """
    context = multiprocessing.get_context("spawn")
    parent = (os.getpid(),)
    manager = SyncManager(ctx=context)
    manager.start(die_with_parent, parent)
    with (
        manager,
        ProcessPoolExecutor(
            jobs, mp_context=context, initializer=die_with_parent, initargs=parent
        ) as pool,
    ):
        # episode lengths cross processes only when someone reports them
        steps = manager.Queue() if progress is not None else None
        futures = [
            pool.submit(_train_restart_process, env_fn, run_cfg, path, steps)
            for run_cfg, path in zip(configs, dirs, strict=True)
        ]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.5)
            _relay(steps, progress)
        _relay(steps, progress)
        for future in futures:
            future.result()  # re-raise a restart's error here


def _picklable(env_fn: Callable[[], gym.Env]) -> bool:
    try:
        pickle.dumps(env_fn)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True


def _train_restart_process(
    env_fn: Callable[[], gym.Env], cfg: DAHDDPGConfig, run_dir: Path, steps: Any | None
) -> None:
    """One restart in a worker process; its episode lengths go to the ``steps`` queue."""
    _train_restart(env_fn, cfg, run_dir, None if steps is None else steps.put)


def _train_restart(
    env_fn: Callable[[], gym.Env],
    cfg: DAHDDPGConfig,
    run_dir: Path,
    progress: Callable[[int], None] | None,
) -> None:
    """One restart, holding the lock of its folder while it trains."""
    with locked(run_dir, purpose="DAH-DDPG restart"):
        _train_run(env_fn, cfg, run_dir, progress)


def _relay(steps: Any | None, progress: Callable[[int], None] | None) -> None:
    """Pass the episode lengths queued by the workers on to ``progress``."""
    if steps is None or progress is None:
        return
    while not steps.empty():
        progress(steps.get())


SPEC = AgentSpec(
    "dah-ddpg", DAHDDPGConfig, train, load_policy, action_mode="hybrid", constrained=False
)

"""The off-policy core: DDPG (Lillicrap et al. 2016, Algorithm 1), optionally with costs.

One learner serves DDPG and DDPG-Lag. The critic regresses on
``y = r + gamma (1 - terminated) Q'(s', mu'(s'))`` (target networks updated by
Polyak averaging, rate ``tau``); the actor ascends ``Q(s, mu(s))``. With
``lagrangian=True`` a cost critic ``Q_C`` (one output per cost signal) regresses on
``y_C = c + gamma_C (1 - terminated) Q_C'(s', mu'(s'))`` and the actor minimizes the
Lagrangian ``(-Q(s, mu(s)) + sum_i lambda_i Q_Ci(s, mu(s))) / (1 + sum_i lambda_i)``;
the multipliers take one dual step per epoch on the mean episode cost of the
epoch's finished episodes (:mod:`~stagewise.agents.common.lagrange`).

The environments are stepped as a vector of ``num_envs`` copies (natively for a
stagewise problem); after each vector step the learner takes ``gradient_steps``
gradient steps, so the update ratio is ``gradient_steps / num_envs`` gradient
steps per environment step. ``reward_scale`` and ``cost_scale`` scale what the
critics learn (the replay memory holds them scaled; logs and limits stay in
the problem's units), and ``cost_limit_start`` anneals the limit the
multipliers hold the costs to, as in the on-policy loop.

The actor's ``tanh`` output is scaled to the action Box, so actions never leave
it; exploration adds Gaussian noise (std ``exploration_noise`` of the half-range)
and clips. The first ``learning_starts`` steps act uniformly at random.
Checkpoints at epoch boundaries hold the networks, optimizers, replay memory,
environments and all generators, so a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from stagewise.agents.common.actor_critic import check_spaces
from stagewise.agents.common.checkpoint import (
    load_checkpoint,
    load_torch,
    restore_rng_state,
    rng_state,
    save_checkpoint,
    save_torch,
)
from stagewise.agents.common.costs import CostSpec
from stagewise.agents.common.lagrange import LagrangeMultipliers
from stagewise.agents.common.logger import ProgressLogger
from stagewise.agents.common.networks import mlp, soft_update
from stagewise.agents.common.onpolicy import check_annealing, limits_now
from stagewise.agents.common.replay import ReplayBatch, ReplayBuffer
from stagewise.agents.common.seeding import seed_everything
from stagewise.agents.common.vector import (
    EpisodeTracker,
    episode_stats,
    final_observations,
    make_vector_env,
    restore_envs,
    snapshot_envs,
)

POLICY_FILE = "policy.pt"


@dataclass
class OffPolicyConfig:
    """Hyper-parameters of the off-policy core (DDPG)."""

    seed: int = 0
    """Seed of every random draw."""
    total_steps: int = 30_000
    """Environment steps to train for (summed over the vector environments)."""
    num_envs: int = 1
    """Copies of the environment stepped together."""
    steps_per_epoch: int = 1000
    """Environment steps per epoch (one ``progress.csv`` row, one checkpoint, one dual step)."""
    buffer_size: int = 100_000
    """Replay memory capacity (transitions)."""
    batch_size: int = 256
    """Transitions per gradient step."""
    learning_starts: int = 5000
    """Steps of uniform random actions before learning starts."""
    gamma: float = 0.99
    """Reward discount factor."""
    cost_gamma: float = 0.99
    """Cost discount factor."""
    tau: float = 0.005
    """Polyak rate of the target networks."""
    actor_lr: float = 1e-3
    """Actor learning rate."""
    critic_lr: float = 1e-3
    """Critic learning rate (reward and cost critics)."""
    hidden: tuple[int, ...] = (256, 256)
    """Hidden layer widths (ReLU) of actor and critics."""
    exploration_noise: float = 0.1
    """Std of the Gaussian action noise, as a fraction of the action half-range."""
    gradient_steps: int = 1
    """Gradient steps per vector step once learning has started (ratio: this / ``num_envs``)."""
    cost_limit: float = 25.0
    """Limit on the expected undiscounted episode cost ``info["cost"]`` (scalar mode)."""
    cost_limits: dict[str, float] | None = None
    """Per-family limits on ``info["costs"][family]``; replaces ``cost_limit`` when set."""
    torch_threads: int = 1
    """Torch intra-op threads."""
    checkpoint_every: int = 1
    """Epochs between checkpoints (the last epoch always checkpoints)."""
    tensorboard: bool = False
    """Also write TensorBoard scalars (when tensorboard is installed)."""
    reward_scale: float = 1.0
    """Factor on rewards before the critic sees them."""
    cost_scale: float = 1.0
    """Factor on costs (and on the limits) before the cost critic and the multipliers."""
    cost_limit_start: float | None = None
    """Loose episode-cost limit to start from, annealed linearly to the final limit(s)."""
    cost_limit_anneal: float = 0.5
    """Fraction of training over which the limit anneals from ``cost_limit_start``."""

    def check(self) -> None:
        """Raise ``ValueError`` naming the first invalid hyper-parameter."""
        validate(self)

    def planned_steps(self) -> int:
        """Environment steps training takes: ``total_steps`` rounded up to whole epochs."""
        return math.ceil(self.total_steps / self.steps_per_epoch) * self.steps_per_epoch


def validate(cfg: OffPolicyConfig) -> None:
    """Raise ``ValueError`` naming the first invalid hyper-parameter."""
    CostSpec.from_config(cfg.cost_limit, cfg.cost_limits)
    for name in (
        "total_steps",
        "num_envs",
        "steps_per_epoch",
        "buffer_size",
        "batch_size",
        "torch_threads",
        "checkpoint_every",
    ):
        value = getattr(cfg, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if cfg.steps_per_epoch % cfg.num_envs:
        raise ValueError(
            f"steps_per_epoch ({cfg.steps_per_epoch}) must be a multiple of num_envs "
            f"({cfg.num_envs})"
        )
    if cfg.learning_starts < 0 or cfg.gradient_steps < 0:
        raise ValueError("learning_starts and gradient_steps must be >= 0")
    for name in ("gamma", "cost_gamma", "tau"):
        if not 0.0 <= getattr(cfg, name) <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {getattr(cfg, name)!r}")
    for name in ("actor_lr", "critic_lr", "reward_scale", "cost_scale"):
        if not getattr(cfg, name) > 0:
            raise ValueError(f"{name} must be > 0, got {getattr(cfg, name)!r}")
    check_annealing(cfg.cost_limit_start, cfg.cost_limit_anneal)
    if cfg.exploration_noise < 0:
        raise ValueError(f"exploration_noise must be >= 0, got {cfg.exploration_noise!r}")
    if not cfg.hidden or any(not isinstance(h, int) or h < 1 for h in cfg.hidden):
        raise ValueError(f"hidden must be a non-empty sequence of positive ints, got {cfg.hidden}")


class DeterministicActor(nn.Module):
    """``mu(s) = low + (tanh(f(s)) + 1) (high - low) / 2``: always inside the action Box."""

    def __init__(self, obs_dim: int, act_space: gym.spaces.Box, hidden: tuple[int, ...]):
        super().__init__()
        self.net = mlp(obs_dim, int(np.prod(act_space.shape)), hidden, nn.ReLU, nn.Tanh)
        self.register_buffer("low", torch.as_tensor(act_space.low, dtype=torch.float32).flatten())
        self.register_buffer("high", torch.as_tensor(act_space.high, dtype=torch.float32).flatten())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.low + (self.net(obs) + 1.0) * (self.high - self.low) / 2.0


class QCritic(nn.Module):
    """``Q(s, a)`` with ``out`` outputs (1 for reward, ``k`` for the cost signals)."""

    def __init__(self, obs_dim: int, act_dim: int, out: int, hidden: tuple[int, ...]):
        super().__init__()
        self.net = mlp(obs_dim + act_dim, out, hidden, nn.ReLU)

    def forward(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, act], dim=-1))


class OffPolicyLearner:
    """Actor, critics, their targets and optimizers; DDPG or DDPG-Lag updates."""

    def __init__(
        self,
        obs_space: gym.spaces.Box,
        act_space: gym.spaces.Box,
        costs: CostSpec,
        cfg: OffPolicyConfig,
        multipliers: LagrangeMultipliers | None,
    ):
        obs_dim, act_dim = int(np.prod(obs_space.shape)), int(np.prod(act_space.shape))
        self.cfg, self.costs, self.multipliers = cfg, costs, multipliers
        self.actor = DeterministicActor(obs_dim, act_space, cfg.hidden)
        self.critic = QCritic(obs_dim, act_dim, 1, cfg.hidden)
        self.cost_critic = QCritic(obs_dim, act_dim, costs.k, cfg.hidden) if multipliers else None
        self.actor_target = copy.deepcopy(self.actor)
        self.critic_target = copy.deepcopy(self.critic)
        self.cost_critic_target = copy.deepcopy(self.cost_critic)
        # foreach: one fused call per step for all parameters (the networks are small)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.actor_lr, foreach=True)
        critic_params = list(self.critic.parameters())
        if self.cost_critic is not None:
            critic_params += list(self.cost_critic.parameters())
        self.critic_opt = torch.optim.Adam(critic_params, lr=cfg.critic_lr, foreach=True)

    def update(self, batch: ReplayBatch) -> dict[str, float]:
        """One gradient step on the critics, the actor, then the targets."""
        obs, act = torch.from_numpy(batch.obs), torch.from_numpy(batch.action)
        next_obs = torch.from_numpy(batch.next_obs)
        keep = 1.0 - torch.from_numpy(batch.done).float()
        with torch.no_grad():
            next_act = self.actor_target(next_obs)
            target = torch.from_numpy(batch.reward) + self.cfg.gamma * keep * self.critic_target(
                next_obs, next_act
            ).squeeze(-1)
        critic_loss = ((self.critic(obs, act).squeeze(-1) - target) ** 2).mean()
        logs = {"loss_q": float(critic_loss.detach())}
        if self.cost_critic is not None:
            with torch.no_grad():
                cost_target = torch.from_numpy(batch.cost) + self.cfg.cost_gamma * keep.unsqueeze(
                    -1
                ) * self.cost_critic_target(next_obs, next_act)
            cost_loss = ((self.cost_critic(obs, act) - cost_target) ** 2).mean()
            critic_loss = critic_loss + cost_loss
            logs["loss_qc"] = float(cost_loss.detach())
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()

        mu = self.actor(obs)
        actor_loss = -self.critic(obs, mu).mean()
        if self.cost_critic is not None and self.multipliers is not None:
            lam = torch.as_tensor(self.multipliers.value, dtype=torch.float32)
            actor_loss = (actor_loss + (self.cost_critic(obs, mu).mean(0) * lam).sum()) / (
                1.0 + lam.sum()
            )
        self.actor_opt.zero_grad()
        # only the actor's gradients: the critics' would be computed and thrown away
        actor_loss.backward(inputs=list(self.actor.parameters()))
        self.actor_opt.step()
        logs["loss_pi"] = float(actor_loss.detach())

        soft_update(self.actor_target, self.actor, self.cfg.tau)
        soft_update(self.critic_target, self.critic, self.cfg.tau)
        if self.cost_critic is not None:
            soft_update(self.cost_critic_target, self.cost_critic, self.cfg.tau)
        return logs

    def explore(self, obs: np.ndarray, act_space: gym.spaces.Box, rng: np.random.Generator):
        """``clip(mu(s) + N(0, (sigma (high - low) / 2)^2))`` for a batch of observations."""
        with torch.no_grad():
            mu = self.actor(torch.as_tensor(obs, dtype=torch.float32)).numpy()
        low, high = act_space.low.flatten(), act_space.high.flatten()
        noise = rng.normal(0.0, self.cfg.exploration_noise, mu.shape) * (high - low) / 2.0
        return np.clip(mu + noise, low, high)

    def modules(self) -> dict[str, Any]:
        named = {
            "actor": self.actor,
            "critic": self.critic,
            "actor_target": self.actor_target,
            "critic_target": self.critic_target,
            "actor_opt": self.actor_opt,
            "critic_opt": self.critic_opt,
        }
        if self.cost_critic is not None:
            named |= {
                "cost_critic": self.cost_critic,
                "cost_critic_target": self.cost_critic_target,
            }
        if self.multipliers is not None:
            named["multipliers"] = self.multipliers
        return named

    def state_dict(self) -> dict[str, Any]:
        return {name: m.state_dict() for name, m in self.modules().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, m in self.modules().items():
            m.load_state_dict(state[name])


class DeterministicPolicy:
    """The trained actor ``mu(s)`` without noise."""

    def __init__(self, actor: DeterministicActor, act_space: gym.spaces.Box):
        self.actor, self.act_space = actor.eval(), act_space

    def reset(self, env: gym.Env) -> None:
        """Nothing to reset: the policy is stationary and deterministic."""

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(obs, dtype=np.float32).reshape(1, -1))
            action = self.actor(x).numpy()[0]
        return action.reshape(self.act_space.shape).astype(self.act_space.dtype)


def train_offpolicy(
    env_fn: Callable[[], gym.Env],
    cfg: OffPolicyConfig,
    run_dir: str | Path,
    multipliers: Callable[[int], LagrangeMultipliers] | None = None,
    progress: Callable[[int], None] | None = None,
) -> DeterministicPolicy:
    """Train (or resume) DDPG, or DDPG-Lag when ``multipliers(k)`` builds the multipliers.

    ``progress(n)`` is called after every vector step with the ``n`` steps it took.
    """
    validate(cfg)
    costs = CostSpec.from_config(cfg.cost_limit, cfg.cost_limits)
    rng = seed_everything(cfg.seed, cfg.torch_threads)
    envs = make_vector_env(env_fn, cfg.num_envs)
    obs_space, act_space = envs.single_observation_space, envs.single_action_space
    check_spaces(obs_space, act_space, discrete_ok=False)
    learner = OffPolicyLearner(
        obs_space, act_space, costs, cfg, multipliers(costs.k) if multipliers else None
    )
    act_dim = int(np.prod(act_space.shape))
    buffer = ReplayBuffer(
        cfg.buffer_size,
        (int(np.prod(obs_space.shape)),),
        action_shape=(act_dim,),
        cost_shape=(costs.k,),
    )
    tracker = EpisodeTracker(cfg.num_envs, costs.k)
    logger = ProgressLogger(run_dir, cfg.tensorboard)
    planned = cfg.planned_steps()
    epochs = planned // cfg.steps_per_epoch
    low, high = act_space.low.flatten(), act_space.high.flatten()

    state = load_checkpoint(run_dir)
    if state is None:
        obs, _ = envs.reset(seed=cfg.seed)
        epoch, steps = 0, 0
    else:
        learner.load_state_dict(state["learner"])
        buffer.load_state_dict(state["buffer"])
        restore_rng_state(state["rng"], rng)
        restore_envs(envs, state["envs"])
        tracker.load_state_dict(state["tracker"])
        obs, epoch, steps = state["obs"], state["epoch"], state["steps"]
        logger.truncate(epoch)

    while epoch < epochs:
        started = time.perf_counter()
        logs: dict[str, float] = {}
        for _ in range(cfg.steps_per_epoch // cfg.num_envs):
            if steps < cfg.learning_starts:
                action = rng.uniform(low, high, (cfg.num_envs, act_dim))
            else:
                action = learner.explore(obs, act_space, rng)
            env_action = action.reshape((cfg.num_envs, *act_space.shape)).astype(act_space.dtype)
            next_obs, reward, terminated, truncated, infos = envs.step(env_action)
            cost = costs.from_vector_info(infos, cfg.num_envs)
            done = np.logical_or(terminated, truncated)
            reward = np.asarray(reward, dtype=np.float64)
            tracker.add(reward, cost, done)
            real_next = final_observations(next_obs, infos, done)
            buffer.add_batch(
                obs, action, reward * cfg.reward_scale, cost * cfg.cost_scale, real_next, terminated
            )
            obs = next_obs
            steps += cfg.num_envs
            if steps >= cfg.learning_starts:
                for _ in range(cfg.gradient_steps):
                    logs = learner.update(buffer.sample(cfg.batch_size, rng))
            if progress is not None:
                progress(cfg.num_envs)
        episodes = tracker.pop()
        row: dict[str, Any] = {"epoch": epoch + 1, "steps": steps}
        row |= episode_stats(episodes, costs.names)
        if learner.multipliers is not None and episodes:
            limits = limits_now(costs, cfg.cost_limit_start, cfg.cost_limit_anneal, steps / planned)
            if cfg.cost_limit_start is not None:
                row |= {f"limit_{n}": float(v) for n, v in zip(costs.names, limits, strict=True)}
            episode_cost = np.mean([e[1] for e in episodes], 0) * cfg.cost_scale
            lam = learner.multipliers.update(episode_cost, limits * cfg.cost_scale)
            row |= {f"lambda_{n}": float(v) for n, v in zip(costs.names, lam, strict=True)}
        row |= logs
        row["steps_per_s"] = cfg.steps_per_epoch / (time.perf_counter() - started)
        logger.log(row, step=steps)
        epoch += 1
        if epoch % cfg.checkpoint_every == 0 or epoch == epochs:
            save_checkpoint(
                run_dir,
                {
                    "learner": learner.state_dict(),
                    "buffer": buffer.state_dict(),
                    "rng": rng_state(rng),
                    "envs": snapshot_envs(envs),
                    "tracker": tracker.state_dict(),
                    "obs": obs,
                    "epoch": epoch,
                    "steps": steps,
                },
            )
            save_policy(run_dir, learner, obs_space, act_space, cfg)
    logger.close()
    envs.close()
    return DeterministicPolicy(learner.actor, act_space)


def save_policy(run_dir, learner: OffPolicyLearner, obs_space, act_space, cfg) -> None:
    """Write what :func:`load_policy` needs to rebuild the deterministic actor."""
    payload = {
        "observation_space": obs_space,
        "action_space": act_space,
        "hidden": tuple(cfg.hidden),
        "actor": learner.actor.state_dict(),
        "config": asdict(cfg),
    }
    save_torch(Path(run_dir) / POLICY_FILE, payload)


def load_policy(run_dir: str | Path) -> DeterministicPolicy:
    """The deterministic actor saved in ``run_dir`` by DDPG or DDPG-Lag."""
    payload = load_torch(Path(run_dir) / POLICY_FILE, "trained policy")
    obs_dim = int(np.prod(payload["observation_space"].shape))
    actor = DeterministicActor(obs_dim, payload["action_space"], payload["hidden"])
    actor.load_state_dict(payload["actor"])
    return DeterministicPolicy(actor, payload["action_space"])

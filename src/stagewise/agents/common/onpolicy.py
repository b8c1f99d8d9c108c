"""The on-policy training loop shared by PPO, PPO-Lag, TRPO-Lag, CPO, CRPO and P3O.

One epoch: collect ``steps_per_epoch`` transitions from ``num_envs`` copies of
the environment with the current stochastic policy (one batched forward pass
per vector step; a stagewise problem runs as its native vector environment,
see :func:`~stagewise.agents.common.vector.make_vector_env`), compute GAE for
reward and for every cost signal on the whole ``[T, N]`` arrays, let the
algorithm update the actor (:class:`PolicyUpdate`), regress both critics on
their GAE targets, write a ``progress.csv`` row and a checkpoint. Episodes run
on across epoch boundaries; the cut-off tail is bootstrapped with the critics.

Options that make large-magnitude problems learnable (each off by default):
``normalize_obs`` (running observation normalisation, saved with the policy),
``reward_scale`` and ``cost_scale`` (the critics and advantages see scaled
rewards and costs; logs and limits stay in the problem's units) and
``cost_limit_start`` (the limit handed to the algorithm anneals linearly from
this loose value to ``cost_limit`` over the first ``cost_limit_anneal`` of
training) and ``squash_mean`` (a Gaussian mean bounded to the action Box).

``J_C`` (the estimated episode cost handed to the algorithm) is the mean
undiscounted cost of the episodes completed in the epoch; it keeps its last
value through an epoch in which no episode ends.

Resuming: a checkpoint (written at epoch boundaries) holds the networks,
optimizers, the algorithm's state (multipliers), every random generator, the
environments' state as plain data (each layer's numbers, arrays and generator
states, :func:`~stagewise.agents.common.vector.snapshot_envs`; no pickle), the
last observation and the running episode sums, so a resumed run continues exactly where the
uninterrupted one would be.
"""

from __future__ import annotations

import itertools
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

from stagewise.agents.common.actor_critic import ActorCritic, ActorPolicy
from stagewise.agents.common.checkpoint import (
    load_checkpoint,
    load_torch,
    restore_rng_state,
    rng_state,
    save_checkpoint,
    save_torch,
)
from stagewise.agents.common.costs import CostSpec
from stagewise.agents.common.logger import ProgressLogger
from stagewise.agents.common.rollout import Batch, RolloutBuffer
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
Progress = Callable[[int], None]


@dataclass
class OnPolicyConfig:
    """Hyper-parameters shared by the on-policy agents."""

    seed: int = 0
    """Seed of every random draw (networks, sampling, minibatches, environments)."""
    total_steps: int = 100_000
    """Environment steps to train for (summed over the vector environments)."""
    num_envs: int = 4
    """Copies of the environment stepped together."""
    steps_per_epoch: int = 2048
    """Transitions per policy update (a multiple of ``num_envs``)."""
    gamma: float = 0.99
    """Reward discount factor."""
    lam: float = 0.95
    """GAE lambda for the reward."""
    cost_gamma: float = 0.99
    """Cost discount factor."""
    cost_lam: float = 0.95
    """GAE lambda for the costs."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths of actor and critics (tanh activations)."""
    init_log_std: float = -0.5
    """Initial log standard deviation of the Gaussian actor."""
    actor_lr: float = 3e-4
    """Actor learning rate (first-order methods)."""
    critic_lr: float = 1e-3
    """Learning rate of the reward and cost critics."""
    update_epochs: int = 10
    """Passes over the rollout per update (actor for PPO-style methods, critics for all)."""
    minibatch_size: int = 64
    """Samples per gradient step."""
    max_grad_norm: float = 0.5
    """Gradient norm clip for every network."""
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
    normalize_obs: bool = False
    """Normalize observations by their running mean and std (saved with the policy)."""
    reward_scale: float = 1.0
    """Factor on rewards before the critics and advantages see them."""
    cost_scale: float = 1.0
    """Factor on costs (and on the limits) before the critics, advantages and multipliers."""
    cost_limit_start: float | None = None
    """Loose episode-cost limit to start from, annealed linearly to the final limit(s)."""
    cost_limit_anneal: float = 0.5
    """Fraction of training over which the limit anneals from ``cost_limit_start``."""
    squash_mean: bool = False
    """Bound the Gaussian mean to the action Box by a tanh (saved with the policy)."""

    def check(self) -> None:
        """Raise ``ValueError`` naming the first invalid hyper-parameter."""
        validate(self)

    def planned_steps(self) -> int:
        """Environment steps training takes: ``total_steps`` rounded up to whole epochs."""
        return math.ceil(self.total_steps / self.steps_per_epoch) * self.steps_per_epoch


def validate(cfg: OnPolicyConfig) -> None:
    """Raise ``ValueError`` naming the first invalid hyper-parameter."""
    CostSpec.from_config(cfg.cost_limit, cfg.cost_limits)
    positive_ints = ("total_steps", "num_envs", "steps_per_epoch", "update_epochs")
    for name in (*positive_ints, "minibatch_size", "torch_threads", "checkpoint_every"):
        value = getattr(cfg, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if cfg.steps_per_epoch % cfg.num_envs:
        raise ValueError(
            f"steps_per_epoch ({cfg.steps_per_epoch}) must be a multiple of num_envs "
            f"({cfg.num_envs})"
        )
    for name in ("gamma", "lam", "cost_gamma", "cost_lam"):
        value = getattr(cfg, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    for name in ("actor_lr", "critic_lr", "max_grad_norm", "reward_scale", "cost_scale"):
        if not getattr(cfg, name) > 0:
            raise ValueError(f"{name} must be > 0, got {getattr(cfg, name)!r}")
    check_annealing(cfg.cost_limit_start, cfg.cost_limit_anneal)
    if not cfg.hidden or any(not isinstance(h, int) or h < 1 for h in cfg.hidden):
        raise ValueError(f"hidden must be a non-empty sequence of positive ints, got {cfg.hidden}")


def check_annealing(start: float | None, anneal: float) -> None:
    """Raise ``ValueError`` for a negative start limit or an annealing share outside [0, 1]."""
    if start is not None and (not math.isfinite(start) or start < 0):
        raise ValueError(f"cost_limit_start must be a finite number >= 0, got {start!r}")
    if not 0.0 <= anneal <= 1.0:
        raise ValueError(f"cost_limit_anneal must be in [0, 1], got {anneal!r}")


def limits_now(costs: CostSpec, start: float | None, anneal: float, done: float) -> np.ndarray:
    """The limits after a share ``done`` of training, annealing over the first ``anneal``."""
    if start is None:
        return costs.limits.copy()
    return costs.annealed(start, done / anneal if anneal > 0 else 1.0)


class PolicyUpdate:
    """An algorithm's actor step; the loop owns collection, critics, logging and checkpoints.

    ``limits`` ``[k]`` is what the algorithm holds the episode costs to in this update
    (the loop sets it: annealed, and in the scaled units of ``cost_scale``); the
    ``episode_cost`` handed to :meth:`update` is in the same units.
    """

    def __init__(self, model: ActorCritic, cfg: OnPolicyConfig, costs: CostSpec):
        self.model, self.cfg, self.costs = model, cfg, costs
        self.limits = costs.limits * cfg.cost_scale

    def update(
        self,
        batch: Batch,
        episode_cost: np.ndarray,
        episode_length: float,
        rng: np.random.Generator,
    ) -> dict[str, float]:
        """Update the actor from ``batch`` given ``J_C`` [k]; return values to log."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


def normalize(x: torch.Tensor) -> torch.Tensor:
    """``(x - mean) / std`` (advantage normalization)."""
    return (x - x.mean()) / (x.std() + 1e-8)


def clip_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, params, max_norm: float):
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(params, max_norm)
    optimizer.step()


def fit_critics(
    model: ActorCritic,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    cfg: OnPolicyConfig,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Mean-squared regression of ``V_r`` on reward targets and ``V_c`` on cost targets."""
    params = [*model.reward_critic.parameters(), *model.cost_critic.parameters()]
    value_loss = cost_loss = torch.tensor(0.0)
    for _ in range(cfg.update_epochs):
        for idx in batch.minibatches(cfg.minibatch_size, rng):
            obs = batch.obs[idx]
            value_loss = ((model.values(obs) - batch.ret[idx]) ** 2).mean()
            cost_loss = ((model.cost_critic(obs) - batch.cost_ret[idx]) ** 2).mean()
            clip_step(optimizer, value_loss + cost_loss, params, cfg.max_grad_norm)
    return {"loss_value": float(value_loss.detach()), "loss_cost_value": float(cost_loss.detach())}


def train_onpolicy(
    env_fn: Callable[[], gym.Env],
    cfg: OnPolicyConfig,
    run_dir: str | Path,
    make_update: Callable[[ActorCritic, Any, CostSpec], PolicyUpdate],
    progress: Progress | None = None,
) -> ActorPolicy:
    """Train (or resume) an on-policy agent in ``run_dir``; return its deterministic policy.

    ``progress(n)`` is called after every vector step with the ``n`` environment
    steps it took.
    """
    validate(cfg)
    costs = CostSpec.from_config(cfg.cost_limit, cfg.cost_limits)
    rng = seed_everything(cfg.seed, cfg.torch_threads)
    envs = make_vector_env(env_fn, cfg.num_envs)
    model = ActorCritic(
        envs.single_observation_space,
        envs.single_action_space,
        costs.k,
        cfg.hidden,
        cfg.init_log_std,
        cfg.normalize_obs,
        cfg.squash_mean,
    )
    algo = make_update(model, cfg, costs)
    critic_params = itertools.chain(
        model.reward_critic.parameters(), model.cost_critic.parameters()
    )
    critic_opt = torch.optim.Adam(critic_params, lr=cfg.critic_lr)
    horizon = cfg.steps_per_epoch // cfg.num_envs
    buffer = RolloutBuffer(
        horizon, cfg.num_envs, envs.single_observation_space.shape[0], model.act_shape, costs.k
    )
    tracker = EpisodeTracker(cfg.num_envs, costs.k)
    logger = ProgressLogger(run_dir, cfg.tensorboard)
    planned = cfg.planned_steps()
    epochs = planned // cfg.steps_per_epoch

    state = load_checkpoint(run_dir)
    if state is None:
        obs, _ = envs.reset(seed=cfg.seed)
        epoch, steps = 0, 0
        episode_cost, episode_length = np.zeros(costs.k), float(horizon)
    else:
        model.load_state_dict(state["model"])
        algo.load_state_dict(state["algo"])
        critic_opt.load_state_dict(state["critic_opt"])
        restore_rng_state(state["rng"], rng)
        restore_envs(envs, state["envs"])
        tracker.load_state_dict(state["tracker"])
        obs, epoch, steps = state["obs"], state["epoch"], state["steps"]
        episode_cost, episode_length = state["episode_cost"], state["episode_length"]
        logger.truncate(epoch)

    while epoch < epochs:
        started = time.perf_counter()
        obs = collect(envs, model, obs, buffer, tracker, costs, cfg, progress)
        steps += cfg.steps_per_epoch
        with torch.no_grad():
            last = model.network_input(obs)
            last_v, last_vc = model.values(last).numpy(), model.cost_critic(last).numpy()
        batch = buffer.finish(last_v, last_vc, cfg.gamma, cfg.lam, cfg.cost_gamma, cfg.cost_lam)
        episodes = tracker.pop()
        if episodes:
            episode_cost = np.mean([e[1] for e in episodes], axis=0)
            episode_length = float(np.mean([e[2] for e in episodes]))
        row: dict[str, Any] = {"epoch": epoch + 1, "steps": steps}
        row |= episode_stats(episodes, costs.names)
        limits = limits_now(costs, cfg.cost_limit_start, cfg.cost_limit_anneal, steps / planned)
        if cfg.cost_limit_start is not None:
            row |= {f"limit_{n}": float(v) for n, v in zip(costs.names, limits, strict=True)}
        algo.limits = limits * cfg.cost_scale
        row |= algo.update(batch, episode_cost * cfg.cost_scale, episode_length, rng)
        row |= fit_critics(model, critic_opt, batch, cfg, rng)
        row["steps_per_s"] = cfg.steps_per_epoch / (time.perf_counter() - started)
        logger.log(row, step=steps)
        epoch += 1
        if epoch % cfg.checkpoint_every == 0 or epoch == epochs:
            save_checkpoint(
                run_dir,
                {
                    "model": model.state_dict(),
                    "algo": algo.state_dict(),
                    "critic_opt": critic_opt.state_dict(),
                    "rng": rng_state(rng),
                    "envs": snapshot_envs(envs),
                    "tracker": tracker.state_dict(),
                    "obs": obs,
                    "epoch": epoch,
                    "steps": steps,
                    "episode_cost": episode_cost,
                    "episode_length": episode_length,
                },
            )
            save_policy(run_dir, model, envs, costs.k, cfg)
    logger.close()
    envs.close()
    return ActorPolicy(model)


def collect(envs, model, obs, buffer, tracker, costs, cfg, progress) -> np.ndarray:
    """Fill ``buffer`` with one epoch of transitions; return the last observation."""
    n = cfg.num_envs
    for _ in range(buffer.steps):
        x = model.network_input(obs, update=True)
        u, logp, value, cost_value = model.step(x)
        u_np = u.numpy()
        next_obs, reward, terminated, truncated, infos = envs.step(model.to_env(u_np))
        cost = costs.from_vector_info(infos, n)
        reward = np.asarray(reward, dtype=np.float64)
        done = np.logical_or(terminated, truncated)
        tracker.add(reward, cost, done)
        # the critics learn scaled values; the tracker above keeps the problem's units
        reward = reward * cfg.reward_scale
        cost = cost * cfg.cost_scale
        cut = np.logical_and(truncated, np.logical_not(terminated))
        if cut.any():
            # a time limit is not the end of the task: bootstrap the tail from the critics
            final = model.network_input(final_observations(next_obs, infos, cut)[cut])
            with torch.no_grad():
                reward[cut] += cfg.gamma * model.values(final).numpy()
                cost[cut] += cfg.cost_gamma * model.cost_critic(final).numpy()
        buffer.add(
            x.numpy(), u_np, logp.numpy(), reward, cost, done, value.numpy(), cost_value.numpy()
        )
        obs = next_obs
        if progress is not None:
            progress(n)
    return obs


def save_policy(run_dir: str | Path, model: ActorCritic, envs, k: int, cfg: OnPolicyConfig) -> None:
    """Write what :func:`load_policy` needs to rebuild the deterministic policy."""
    payload = {
        "observation_space": envs.single_observation_space,
        "action_space": envs.single_action_space,
        "n_costs": k,
        "hidden": tuple(cfg.hidden),
        "init_log_std": cfg.init_log_std,
        "normalize_obs": model.obs_norm is not None,
        "squash_mean": cfg.squash_mean,
        "state_dict": model.state_dict(),
        "config": asdict(cfg),
    }
    save_torch(Path(run_dir) / POLICY_FILE, payload)


def load_policy(run_dir: str | Path) -> ActorPolicy:
    """The deterministic policy saved in ``run_dir`` by an on-policy agent."""
    payload = load_torch(Path(run_dir) / POLICY_FILE, "trained policy")
    model = ActorCritic(
        payload["observation_space"],
        payload["action_space"],
        payload["n_costs"],
        payload["hidden"],
        payload["init_log_std"],
        # policies saved before these options existed have neither
        payload.get("normalize_obs", False),
        payload.get("squash_mean", False),
    )
    model.load_state_dict(payload["state_dict"])
    return ActorPolicy(model)

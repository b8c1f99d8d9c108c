"""Deep Q-learning (Giahi, MacKenzie, Bijari, Algorithm 2) for discrete-action problems.

The Q-network ``Q(s, x; w)`` outputs one value per decision ``x``. Each episode
``e`` acts epsilon-greedily with ``eps_e = max(eps_end, eps_decay * eps_{e-1})``,
``eps_1 = eps_start``; every transition ``(s_t, x_t, g_t, s_{t+1})`` goes to a
replay buffer; minibatches regress ``Q(s_j, x_j; w)`` on the target (Alg. 2,
line 12)

    y_j = g_j + gamma * (1 - done_j) * Q(s_{j+1}, x*; w-),
    x*  = argmax_{x feasible} Q(s_{j+1}, x; w)    (double DQN; w- without it),

and the target weights are reset ``w- <- w`` every ``C`` environment steps.
Additions to the paper, each switchable: double DQN, a dueling Q-network,
Huber loss, action masks from ``info["action_mask"]`` (for exploration and for
the max in the target), reward scaling (rewards enter the loss multiplied by
``reward_scale``, by default ``1 / RMS`` of the rewards collected before
learning starts, fixed from then on and checkpointed; the greedy policy is
scale-invariant), gradient-norm clipping and a linearly decaying learning rate.

Checkpoints are written at episode boundaries only, and every episode starts
from ``env.reset(seed=s)`` with ``s`` drawn from the agent's generator, so the
environment (its state and its ``np_random``) needs no saved state: a resumed
run ends with exactly the parameters of an uninterrupted one.
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
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
from stagewise.agents.common.replay import ReplayBuffer
from stagewise.agents.common.seeding import seed_everything
from stagewise.core.files import write_json_atomic

POLICY_FILE = "policy.pt"
CONFIG_FILE = "agent_config.json"


@dataclass
class DQNConfig:
    """Hyper-parameters of DQN (defaults tuned on the capacity-expansion problem)."""

    total_steps: int = 48_000
    """environment steps to train for, exactly (the episode in progress at the limit is cut
    there and left out of the logged returns)"""
    learning_rate: float = 1e-3
    """initial Adam step size alpha"""
    lr_end_fraction: float = 0.05
    """the step size decays linearly to this fraction of learning_rate at total_steps"""
    batch_size: int = 512
    """transitions per gradient step"""
    buffer_size: int = 100_000
    """replay buffer capacity (transitions)"""
    gamma: float = 1.0
    """discount of the target; 1 because our problems put their discounting in the reward"""
    target_update_period: int = 500
    """C: environment steps between target resets w- <- w"""
    epsilon_start: float = 1.0
    """eps_1, exploration probability of the first episode"""
    epsilon_end: float = 0.05
    """floor of the exploration probability"""
    epsilon_decay: float = 0.9995
    """per-episode factor: eps_e = max(eps_end, eps_decay * eps_{e-1})"""
    learning_starts: int = 2_000
    """environment steps of pure collection before the first gradient step"""
    train_frequency: int = 4
    """environment steps between gradient steps"""
    hidden_sizes: tuple[int, ...] = (128, 128)
    """widths of the Q-network's hidden layers (ReLU)"""
    double_dqn: bool = True
    """choose x* with the online network, value it with the target network"""
    dueling: bool = True
    """Q(s, x) = V(s) + A(s, x) - mean_x A(s, x): values of decisions as small offsets of V"""
    huber: bool = True
    """Huber (smooth L1) TD loss instead of the squared error"""
    action_masking: bool = True
    """use info["action_mask"] (when the env gives one) to explore and to take the max"""
    reward_scale: float | None = None
    """rewards are multiplied by this in the TD loss; None: 1 / RMS of the first
    learning_starts rewards (so that Q-values are O(horizon)); the policy is unaffected"""
    max_grad_norm: float | None = None
    """clip the gradient's global L2 norm to this (None: no clipping)"""
    seed: int = 0
    """seed of every generator (network init, exploration, replay sampling, episodes)"""
    torch_threads: int = 1
    """torch intra-op threads"""
    checkpoint_interval: int = 10_000
    """environment steps between checkpoints (taken at the next episode boundary)"""
    log_interval: int = 2_000
    """environment steps between progress.csv rows (taken at the next episode boundary)"""

    def __post_init__(self) -> None:
        self.hidden_sizes = tuple(int(h) for h in self.hidden_sizes)
        problems = []
        for name in (
            "total_steps",
            "batch_size",
            "buffer_size",
            "target_update_period",
            "train_frequency",
            "torch_threads",
            "checkpoint_interval",
            "log_interval",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.learning_starts < 0:
            problems.append(f"learning_starts must be >= 0, got {self.learning_starts}")
        if not self.learning_rate > 0:
            problems.append(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0 <= self.lr_end_fraction <= 1:
            problems.append(f"lr_end_fraction must be in [0, 1], got {self.lr_end_fraction}")
        if not 0 <= self.gamma <= 1:
            problems.append(f"gamma must be in [0, 1], got {self.gamma}")
        for name in ("epsilon_start", "epsilon_end", "epsilon_decay"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.reward_scale is not None and not self.reward_scale > 0:
            problems.append(f"reward_scale must be > 0 or None, got {self.reward_scale}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            problems.append(f"max_grad_norm must be > 0 or None, got {self.max_grad_norm}")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            problems.append(f"hidden_sizes must be positive widths, got {self.hidden_sizes}")
        if problems:
            raise ValueError("invalid DQNConfig: " + "; ".join(problems))


# ----------------------------------------------------------------------------- schedules
def epsilon_at(episode: int, cfg: DQNConfig) -> float:
    """``eps_e`` of episode ``e >= 1``: the recursion ``max(eps_end, eps_decay eps_{e-1})``.

    Closed form ``max(eps_end, eps_start * eps_decay^(e-1))`` (equal to the
    recursion because ``eps_decay <= 1``), so it needs no state on resume.
    """
    if episode < 1:
        raise ValueError(f"episodes are numbered from 1, got {episode}")
    return max(cfg.epsilon_end, cfg.epsilon_start * cfg.epsilon_decay ** (episode - 1))


def learning_rate_at(step: int, cfg: DQNConfig) -> float:
    """Linear decay from ``learning_rate`` to ``lr_end_fraction * learning_rate``."""
    progress = min(1.0, step / cfg.total_steps)
    return cfg.learning_rate * (1.0 - (1.0 - cfg.lr_end_fraction) * progress)


# ----------------------------------------------------------------------------- TD target
def masked(q: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``q`` with infeasible actions set to ``-inf`` (no change where ``mask`` is None)."""
    return q if mask is None else q.masked_fill(~mask, float("-inf"))


def td_target(
    reward: torch.Tensor,
    done: torch.Tensor,
    q_next_target: torch.Tensor,
    q_next_online: torch.Tensor | None,
    next_mask: torch.Tensor | None,
    gamma: float,
) -> torch.Tensor:
    """``y = g + gamma (1 - done) Q(s', x*; w-)`` (Alg. 2, line 12).

    ``x* = argmax_{feasible x} Q(s', x; w)`` when ``q_next_online`` is given
    (double DQN), else ``argmax_{feasible x} Q(s', x; w-)``. Terminal rows
    (``done``) take ``y = g`` whatever their mask.
    """
    chooser = q_next_online if q_next_online is not None else q_next_target
    best = masked(chooser, next_mask).argmax(dim=1, keepdim=True)
    bootstrap = q_next_target.gather(1, best).squeeze(1)
    live = ~done
    if next_mask is not None:
        feasible = next_mask.any(dim=1)
        live = live & feasible
    return reward + gamma * torch.where(live, bootstrap, torch.zeros_like(bootstrap))


# ----------------------------------------------------------------------------- network
class QNetwork(nn.Module):
    """``s -> Q(s, .)``: a ReLU trunk and one linear head.

    Dueling (the default): the head has ``1 + n`` outputs ``(V(s), A(s, .))`` and
    ``Q(s, x) = V(s) + A(s, x) - mean_x A(s, x)``. The decisions' values differ by
    a small fraction of the state value in our problems (profits of ~100 on
    per-stage rewards of ~300); separate outputs let the network fit the large
    ``V`` and the small differences ``A`` apart. Plain: the head is ``Q(s, .)``.

    ``forward`` calls ``F.linear`` on the layers' parameters instead of the
    modules: on CPU each call's overhead, not its arithmetic, is what small
    networks pay for.
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden: tuple[int, ...], dueling: bool):
        super().__init__()
        sizes = [obs_dim, *hidden]
        self.trunk = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        self.dueling = dueling
        self.head = nn.Linear(sizes[-1], n_actions + 1 if dueling else n_actions)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        h = obs
        for layer in self.trunk:
            h = F.linear(h, layer.weight, layer.bias).relu_()
        out = F.linear(h, self.head.weight, self.head.bias)
        if not self.dueling:
            return out
        value, advantage = out[:, :1], out[:, 1:]
        return (advantage - advantage.mean(dim=1, keepdim=True)).add_(value)


class NumpyQ:
    """``Q(s, .)`` of one observation computed in NumPy on views of a network's weights.

    The views share memory with the torch parameters, which the optimizer
    updates in place, so the values always follow the live network.
    """

    def __init__(self, network: QNetwork):
        self.trunk = [_weights(layer) for layer in network.trunk]
        self.head = _weights(network.head)
        self.dueling = network.dueling

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        h = obs
        for weight, bias in self.trunk:
            h = np.maximum(weight @ h + bias, 0.0)
        weight, bias = self.head
        out = weight @ h + bias
        if not self.dueling:
            return out
        advantage = out[1:]
        return out[0] + advantage - advantage.mean()


def _weights(layer: nn.Linear) -> tuple[np.ndarray, np.ndarray]:
    return layer.weight.detach().numpy(), layer.bias.detach().numpy()


# ----------------------------------------------------------------------------- policy
class GreedyQPolicy:
    """Greedy policy ``pi*(s) = argmax_{feasible x} Q(s, x)`` (Eq. 6).

    Feasibility comes from ``info["action_mask"]`` when present.
    """

    def __init__(self, q_network: nn.Module, action_masking: bool = True):
        self.q_network = q_network.eval()
        self.action_masking = action_masking
        self._q = NumpyQ(q_network)

    def reset(self, env: gym.Env) -> None:
        """Stateless between episodes."""

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """``Q(s, .)`` for one observation, as float64."""
        return self._q(np.asarray(obs, dtype=np.float32).reshape(-1)).astype(np.float64)

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> int:
        q = self.q_values(obs)
        mask = info.get("action_mask") if self.action_masking else None
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.any():
                q = np.where(mask, q, -np.inf)
        return int(np.argmax(q))


# ----------------------------------------------------------------------------- training
@dataclass
class _Counters:
    """Everything besides networks, optimizer, buffer and generators that a resume needs."""

    global_step: int = 0
    episode: int = 0
    updates: int = 0
    reward_scale: float | None = None
    log_rows: int = 0
    next_log: int = 0
    next_checkpoint: int = 0
    returns: list[float] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)
    loss_sum: float = 0.0
    q_sum: float = 0.0
    loss_count: int = 0


def _check_env(env: gym.Env) -> tuple[int, int]:
    if not isinstance(env.action_space, spaces.Discrete):
        raise ValueError(
            f"DQN needs a Discrete action space, got {env.action_space}; "
            "create stagewise problems with action_mode='discrete'"
        )
    if not isinstance(env.observation_space, spaces.Box):
        raise ValueError(f"DQN needs a Box observation space, got {env.observation_space}")
    return int(np.prod(env.observation_space.shape)), int(env.action_space.n)


def _action_mask(info: dict[str, Any], n_actions: int, enabled: bool) -> np.ndarray | None:
    if not enabled or "action_mask" not in info:
        return None
    mask = np.asarray(info["action_mask"], dtype=bool)
    if mask.shape != (n_actions,):
        raise ValueError(f"info['action_mask'] has shape {mask.shape}, expected ({n_actions},)")
    return mask


class _Learner:
    """Q-network, target network, optimizer and the TD update (Alg. 2, lines 11-14)."""

    def __init__(self, obs_dim: int, n_actions: int, cfg: DQNConfig):
        self.cfg = cfg
        self.q = QNetwork(obs_dim, n_actions, cfg.hidden_sizes, cfg.dueling)
        self.q_target = copy.deepcopy(self.q)
        # fused: one kernel for all parameters, ~2x faster updates for small networks on CPU
        self.optimizer = torch.optim.Adam(self.q.parameters(), lr=cfg.learning_rate, fused=True)
        # acting costs one forward pass per step: NumPy on the live weights is ~10x cheaper
        self.q_numpy = NumpyQ(self.q)

    def greedy(self, obs: np.ndarray, mask: np.ndarray | None) -> int:
        q = self.q_numpy(np.asarray(obs, dtype=np.float32).reshape(-1))
        if mask is not None:
            q = np.where(mask, q, -np.inf)
        return int(np.argmax(q))

    def update(self, buffer: ReplayBuffer, rng: np.random.Generator, step: int, scale: float):
        """One gradient step on a sampled minibatch; returns (loss, mean Q(s, x))."""
        cfg = self.cfg
        batch = buffer.sample(cfg.batch_size, rng)
        obs = torch.from_numpy(batch.obs)
        next_obs = torch.from_numpy(batch.next_obs)
        action = torch.from_numpy(batch.action).long().reshape(-1, 1)
        reward = torch.from_numpy(batch.reward) * scale
        done = torch.from_numpy(batch.done)
        mask = None if batch.next_action_mask is None else torch.from_numpy(batch.next_action_mask)
        with torch.no_grad():  # s' passes need no backward
            q_next_online = self.q(next_obs) if cfg.double_dqn else None
            q_next_target = self.q_target(next_obs)
            y = td_target(reward, done, q_next_target, q_next_online, mask, cfg.gamma)
        q_taken = self.q(obs).gather(1, action).squeeze(1)
        loss = F.smooth_l1_loss(q_taken, y) if cfg.huber else F.mse_loss(q_taken, y)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate_at(step, cfg)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.max_grad_norm is not None:
            nn.utils.clip_grad_norm_(self.q.parameters(), cfg.max_grad_norm, foreach=True)
        self.optimizer.step()
        return loss.item(), q_taken.detach().mean().item()

    def reset_target(self) -> None:
        self.q_target.load_state_dict(self.q.state_dict())


def _auto_reward_scale(buffer: ReplayBuffer) -> float:
    """1 / RMS of the stored rewards (1 if they are all zero)."""
    rms = float(np.sqrt(np.mean(np.square(buffer.reward[: len(buffer)], dtype=np.float64))))
    return 1.0 / rms if rms > 0 else 1.0


def train(
    env_fn: Callable[[], gym.Env],
    cfg: DQNConfig | None = None,
    run_dir: str | Path = "runs/dqn",
    progress: Callable[[int], None] | None = None,
) -> GreedyQPolicy:
    """Train DQN on ``env_fn()`` (Discrete actions); resume from ``run_dir`` if checkpointed.

    Writes ``run_dir/progress.csv``, ``checkpoint.pt`` (every
    ``checkpoint_interval`` steps, at episode boundaries), and at the end
    ``policy.pt`` and ``agent_config.json``. ``progress(n)`` is called after
    each episode with the number ``n`` of steps it took.
    """
    cfg = cfg or DQNConfig()
    run_dir = Path(run_dir)
    rng = seed_everything(cfg.seed, cfg.torch_threads)
    env = env_fn()
    obs_dim, n_actions = _check_env(env)
    learner = _Learner(obs_dim, n_actions, cfg)
    buffer = ReplayBuffer(
        cfg.buffer_size,
        (obs_dim,),
        action_shape=(),
        action_dtype=np.int64,
        n_actions=n_actions if cfg.action_masking else None,
    )
    c = _Counters(
        reward_scale=cfg.reward_scale,
        next_log=cfg.log_interval,
        next_checkpoint=cfg.checkpoint_interval,
    )
    logger = ProgressLogger(run_dir)
    checkpoint = load_checkpoint(run_dir)
    if checkpoint is not None:
        check_same_config(checkpoint["config"], cfg, run_dir)
        learner.q.load_state_dict(checkpoint["q"])
        learner.q_target.load_state_dict(checkpoint["q_target"])
        learner.optimizer.load_state_dict(checkpoint["optimizer"])
        buffer.load_state_dict(checkpoint["buffer"])
        c = _Counters(**checkpoint["counters"])
        restore_rng_state(checkpoint["rng"], rng)
        logger.truncate(c.log_rows)
    else:
        logger.truncate(0)

    started, steps_at_start = time.perf_counter(), c.global_step
    while c.global_step < cfg.total_steps:
        length = _run_episode(env, learner, buffer, rng, c, cfg, n_actions)
        if progress is not None:
            progress(length)
        if c.global_step >= c.next_log:
            elapsed = max(time.perf_counter() - started, 1e-9)
            _log(logger, c, cfg, (c.global_step - steps_at_start) / elapsed)
            c.next_log = (c.global_step // cfg.log_interval + 1) * cfg.log_interval
        if c.global_step >= c.next_checkpoint:
            c.next_checkpoint = (c.global_step // cfg.checkpoint_interval + 1) * (
                cfg.checkpoint_interval
            )
            _save(run_dir, learner, buffer, c, rng, cfg)
    if c.returns:  # the episodes since the last row (also gives short runs a progress.csv)
        elapsed = max(time.perf_counter() - started, 1e-9)
        _log(logger, c, cfg, (c.global_step - steps_at_start) / elapsed)
    _save(run_dir, learner, buffer, c, rng, cfg)
    logger.close()
    env.close()
    save_torch(
        run_dir / POLICY_FILE,
        {
            "q": learner.q.state_dict(),
            "obs_dim": obs_dim,
            "n_actions": n_actions,
            "hidden_sizes": list(cfg.hidden_sizes),
            "dueling": cfg.dueling,
            "action_masking": cfg.action_masking,
        },
    )
    write_json_atomic(run_dir / CONFIG_FILE, config_dict(cfg))
    return GreedyQPolicy(learner.q, cfg.action_masking)


def _run_episode(
    env: gym.Env,
    learner: _Learner,
    buffer: ReplayBuffer,
    rng: np.random.Generator,
    c: _Counters,
    cfg: DQNConfig,
    n_actions: int,
) -> int:
    """Play one epsilon-greedy episode, storing transitions and training (Alg. 2, lines 3-15).

    The episode ends early at ``cfg.total_steps``; only a completed one is logged.
    """
    c.episode += 1
    epsilon = epsilon_at(c.episode, cfg)
    # The episode's randomness comes from the agent's generator: nothing to save mid-episode.
    obs, info = env.reset(seed=int(rng.integers(2**63 - 1)))
    mask = _action_mask(info, n_actions, cfg.action_masking)
    total_reward, total_cost, length, done = 0.0, 0.0, 0, False
    while not done and c.global_step < cfg.total_steps:
        if rng.random() < epsilon:
            feasible = np.flatnonzero(mask) if mask is not None else np.arange(n_actions)
            action = int(feasible[rng.integers(len(feasible))])
        else:
            action = learner.greedy(obs, mask)
        next_obs, reward, terminated, truncated, info = env.step(action)
        next_mask = _action_mask(info, n_actions, cfg.action_masking)
        cost = float(info.get("cost", 0.0))
        buffer.add(obs, action, float(reward), cost, next_obs, terminated, next_mask)
        obs, mask, done = next_obs, next_mask, terminated or truncated
        if mask is not None and not done and not mask.any():
            raise ValueError("info['action_mask'] marks every action infeasible mid-episode")
        total_reward += float(reward)
        total_cost += cost
        length += 1
        c.global_step += 1
        _train_step(learner, buffer, rng, c, cfg)
    if done:
        c.returns.append(total_reward)
        c.costs.append(total_cost)
    return length


def _train_step(
    learner: _Learner, buffer: ReplayBuffer, rng: np.random.Generator, c: _Counters, cfg: DQNConfig
) -> None:
    if c.global_step < cfg.learning_starts or len(buffer) == 0:
        return
    if c.reward_scale is None:
        c.reward_scale = _auto_reward_scale(buffer)
    if c.global_step % cfg.train_frequency == 0:
        loss, q_mean = learner.update(buffer, rng, c.global_step, c.reward_scale)
        c.updates += 1
        c.loss_sum += loss
        c.q_sum += q_mean
        c.loss_count += 1
    if c.global_step % cfg.target_update_period == 0:
        learner.reset_target()


def _log(logger: ProgressLogger, c: _Counters, cfg: DQNConfig, steps_per_s: float) -> None:
    scale = c.reward_scale or 1.0
    n = max(c.loss_count, 1)
    logger.log(
        {
            "step": c.global_step,
            "episode": c.episode,
            "episode_return_mean": float(np.mean(c.returns)) if c.returns else float("nan"),
            "episode_cost_mean": float(np.mean(c.costs)) if c.costs else float("nan"),
            "loss": c.loss_sum / n if c.loss_count else float("nan"),
            "q_mean": c.q_sum / n / scale if c.loss_count else float("nan"),
            "epsilon": epsilon_at(max(c.episode, 1), cfg),
            "learning_rate": learning_rate_at(c.global_step, cfg),
            "reward_scale": scale,
            "updates": c.updates,
            "steps_per_s": steps_per_s,
        },
        step=c.global_step,
    )
    c.log_rows += 1
    c.returns, c.costs = [], []
    c.loss_sum, c.q_sum, c.loss_count = 0.0, 0.0, 0


def _save(
    run_dir: Path,
    learner: _Learner,
    buffer: ReplayBuffer,
    c: _Counters,
    rng: np.random.Generator,
    cfg: DQNConfig,
) -> None:
    save_checkpoint(
        run_dir,
        {
            "config": config_dict(cfg),
            "q": learner.q.state_dict(),
            "q_target": learner.q_target.state_dict(),
            "optimizer": learner.optimizer.state_dict(),
            "buffer": buffer.state_dict(),
            "counters": asdict(c),
            "rng": rng_state(rng),
        },
    )


def load_policy(run_dir: str | Path) -> GreedyQPolicy:
    """The greedy policy saved by :func:`train` in ``run_dir``."""
    saved = load_torch(Path(run_dir) / POLICY_FILE, "trained DQN policy")
    q = QNetwork(
        saved["obs_dim"], saved["n_actions"], tuple(saved["hidden_sizes"]), saved["dueling"]
    )
    q.load_state_dict(saved["q"])
    return GreedyQPolicy(q, saved["action_masking"])


SPEC = AgentSpec("dqn", DQNConfig, train, load_policy, action_mode="discrete", constrained=False)

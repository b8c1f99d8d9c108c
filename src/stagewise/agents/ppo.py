"""Proximal Policy Optimization (Schulman et al. 2017), the unconstrained baseline.

Actor loss: the clipped surrogate (Eq. 7)
``L^CLIP = -E[min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t)]`` with
``rho_t = pi_theta(a_t|s_t) / pi_old(a_t|s_t)`` and normalized GAE advantages,
minus an entropy bonus; ``update_epochs`` passes of minibatch Adam, stopped
early once the approximate KL to the old policy exceeds ``target_kl``. The
cost critics are still fitted (and costs logged) but costs do not enter the
update. PPO-Lag, CRPO and P3O are this update with other advantages or losses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from stagewise.agents import AgentSpec
from stagewise.agents.common.actor_critic import ActorCritic, ActorPolicy
from stagewise.agents.common.costs import CostSpec
from stagewise.agents.common.onpolicy import (
    OnPolicyConfig,
    PolicyUpdate,
    Progress,
    clip_step,
    load_policy,
    normalize,
    train_onpolicy,
)
from stagewise.agents.common.rollout import Batch


@dataclass
class PPOConfig(OnPolicyConfig):
    """Hyper-parameters of PPO."""

    clip_ratio: float = 0.2
    """Clipping range ``epsilon`` of the probability ratio."""
    target_kl: float = 0.02
    """Stop the epoch loop once the approximate KL to the old policy exceeds this."""
    entropy_coef: float = 0.0
    """Weight of the entropy bonus."""


def check_ppo(cfg: PPOConfig) -> None:
    if not 0 < cfg.clip_ratio < 1:
        raise ValueError(f"clip_ratio must be in (0, 1), got {cfg.clip_ratio!r}")
    if not cfg.target_kl > 0:
        raise ValueError(f"target_kl must be > 0, got {cfg.target_kl!r}")


def clipped_surrogate(ratio: torch.Tensor, adv: torch.Tensor, eps: float) -> torch.Tensor:
    """``E[min(rho A, clip(rho, 1-eps, 1+eps) A)]`` (PPO Eq. 7), to be maximized."""
    return torch.min(ratio * adv, ratio.clamp(1 - eps, 1 + eps) * adv).mean()


class PPOUpdate(PolicyUpdate):
    """Minibatch Adam on the clipped surrogate with KL early stopping."""

    def __init__(self, model: ActorCritic, cfg: PPOConfig, costs: CostSpec):
        check_ppo(cfg)
        super().__init__(model, cfg, costs)
        self.optimizer = torch.optim.Adam(model.actor.parameters(), lr=cfg.actor_lr)

    def advantages(self, batch: Batch, episode_cost: np.ndarray, episode_length: float):
        """The advantage the surrogate ascends, plus values to log."""
        return normalize(batch.adv), {}

    def policy_loss(self, ratio: torch.Tensor, adv: torch.Tensor, batch: Batch, idx: torch.Tensor):
        return -clipped_surrogate(ratio, adv, self.cfg.clip_ratio)

    def update(self, batch, episode_cost, episode_length, rng) -> dict[str, float]:
        actor = self.model.actor
        adv, logs = self.advantages(batch, episode_cost, episode_length)
        loss = kl = torch.tensor(0.0)
        for _ in range(self.cfg.update_epochs):
            for idx in batch.minibatches(self.cfg.minibatch_size, rng):
                dist = actor.distribution(batch.obs[idx])
                log_ratio = actor.log_prob(dist, batch.act[idx]) - batch.logp[idx]
                loss = self.policy_loss(log_ratio.exp(), adv[idx], batch, idx)
                loss = loss - self.cfg.entropy_coef * actor.entropy(dist).mean()
                clip_step(self.optimizer, loss, actor.parameters(), self.cfg.max_grad_norm)
            with torch.no_grad():
                dist = actor.distribution(batch.obs)
                log_ratio = actor.log_prob(dist, batch.act) - batch.logp
                kl = ((log_ratio.exp() - 1) - log_ratio).mean()
            if kl > self.cfg.target_kl:
                break
        return {"loss_pi": float(loss.detach()), "kl": float(kl), **logs}

    def state_dict(self):
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state):
        self.optimizer.load_state_dict(state["optimizer"])


def train(
    env_fn: Callable[[], gym.Env],
    cfg: PPOConfig,
    run_dir: str | Path,
    progress: Progress | None = None,
) -> ActorPolicy:
    """Train PPO in ``run_dir`` (resuming from its checkpoint); the deterministic policy."""
    return train_onpolicy(env_fn, cfg, run_dir, PPOUpdate, progress)


SPEC = AgentSpec("ppo", PPOConfig, train, load_policy, action_mode="box", constrained=False)

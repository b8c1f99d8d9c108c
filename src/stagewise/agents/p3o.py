"""Penalized Proximal Policy Optimization (Zhang et al. 2022, Eq. 10): exact-penalty PPO.

Loss minimized by minibatch Adam:
``L^P3O = L^CLIP_R + kappa sum_i max(0, L^CLIP_Ci)`` with
``L^CLIP_R = -E[min(rho A_R, clip(rho) A_R)]`` (the PPO surrogate) and the
pessimistic cost surrogate
``L^CLIP_Ci = E[max(rho A_Ci, clip(rho) A_Ci)] + (1 - gamma)(J_Ci - d_i)``.

The paper's ``(1 - gamma)`` turns a discounted return into a per-step rate;
stagewise limits the undiscounted episode cost, so the per-step violation
used here is ``(J_Ci - d_i) / L`` with ``L`` the mean episode length. Reward
advantages are normalized; cost advantages are only centred, so that both
terms of ``L^CLIP_Ci`` stay in per-step cost units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import torch

from stagewise.agents import AgentSpec
from stagewise.agents.common.actor_critic import ActorPolicy
from stagewise.agents.common.onpolicy import load_policy, normalize, train_onpolicy
from stagewise.agents.ppo import PPOConfig, PPOUpdate


@dataclass
class P3OConfig(PPOConfig):
    """Hyper-parameters of P3O."""

    kappa: float = 20.0
    """Penalty factor ``kappa`` of the exact penalty (larger than the optimal multiplier)."""


class P3OUpdate(PPOUpdate):
    """PPO with the exact ReLU penalty on each clipped cost surrogate."""

    def __init__(self, model, cfg: P3OConfig, costs):
        if not cfg.kappa > 0:
            raise ValueError(f"kappa must be > 0, got {cfg.kappa!r}")
        super().__init__(model, cfg, costs)

    def advantages(self, batch, episode_cost, episode_length):
        excess = (episode_cost - self.limits) / max(episode_length, 1.0)
        self.violation = torch.as_tensor(excess, dtype=torch.float32)
        self.cost_adv = batch.cost_adv - batch.cost_adv.mean(0)
        logs = {f"violation_{n}": float(v) for n, v in zip(self.costs.names, excess, strict=True)}
        return normalize(batch.adv), logs

    def policy_loss(self, ratio, adv, batch, idx):
        eps = self.cfg.clip_ratio
        reward_loss = -torch.min(ratio * adv, ratio.clamp(1 - eps, 1 + eps) * adv).mean()
        cadv = self.cost_adv[idx]
        r = ratio.unsqueeze(-1)
        cost_surrogate = torch.max(r * cadv, r.clamp(1 - eps, 1 + eps) * cadv).mean(0)
        penalty = torch.relu(cost_surrogate + self.violation).sum()
        return reward_loss + self.cfg.kappa * penalty


def train(
    env_fn: Callable[[], gym.Env],
    cfg: P3OConfig,
    run_dir: str | Path,
    progress: Callable[[int], None] | None = None,
) -> ActorPolicy:
    """Train P3O in ``run_dir`` (resuming from its checkpoint); the deterministic policy."""
    return train_onpolicy(env_fn, cfg, run_dir, P3OUpdate, progress)


SPEC = AgentSpec("p3o", P3OConfig, train, load_policy, action_mode="box")

"""PPO-Lagrangian (Ray, Achiam, Amodei 2019, Sec. 5): PPO on the Lagrangian advantage.

Before each actor update the multipliers take a dual step on the episode
cost estimates (``lambda_i <- [lambda_i + eta (J_Ci - d_i)]_+`` through their own
Adam, :mod:`~stagewise.agents.common.lagrange`). The actor then ascends the
clipped surrogate (PPO Eq. 7) of the Lagrangian advantage
``A = (A_R - sum_i lambda_i A_Ci) / (1 + sum_i lambda_i)``, normalized after
mixing so that ``lambda`` keeps the units of the Lagrangian (reward per cost).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from stagewise.agents import AgentSpec
from stagewise.agents.common.actor_critic import ActorPolicy
from stagewise.agents.common.lagrange import LagrangeConfig, make_multipliers
from stagewise.agents.common.onpolicy import load_policy, normalize, train_onpolicy
from stagewise.agents.ppo import PPOConfig, PPOUpdate


@dataclass
class PPOLagConfig(PPOConfig, LagrangeConfig):
    """Hyper-parameters of PPO-Lag (multipliers: :class:`LagrangeConfig`)."""


def lagrangian_advantage(batch, lam: np.ndarray) -> torch.Tensor:
    """``(A_R - sum_i lambda_i A_Ci) / (1 + sum_i lambda_i)``."""
    weights = torch.as_tensor(lam, dtype=torch.float32)
    return (batch.adv - batch.cost_adv @ weights) / (1.0 + weights.sum())


def multiplier_logs(names, lam: np.ndarray) -> dict[str, float]:
    return {f"lambda_{n}": float(v) for n, v in zip(names, lam, strict=True)}


class PPOLagUpdate(PPOUpdate):
    """Dual step on ``lambda``, then PPO on the Lagrangian advantage."""

    def __init__(self, model, cfg: PPOLagConfig, costs):
        super().__init__(model, cfg, costs)
        self.multipliers = make_multipliers(costs.k, cfg)

    def advantages(self, batch, episode_cost, episode_length):
        lam = self.multipliers.update(episode_cost, self.limits)
        return normalize(lagrangian_advantage(batch, lam)), multiplier_logs(self.costs.names, lam)

    def state_dict(self):
        return {**super().state_dict(), "multipliers": self.multipliers.state_dict()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.multipliers.load_state_dict(state["multipliers"])


def train(
    env_fn: Callable[[], gym.Env],
    cfg: PPOLagConfig,
    run_dir: str | Path,
    progress: Callable[[int], None] | None = None,
) -> ActorPolicy:
    """Train PPO-Lag in ``run_dir`` (resuming from its checkpoint); the deterministic policy."""
    return train_onpolicy(env_fn, cfg, run_dir, PPOLagUpdate, progress)


SPEC = AgentSpec("ppo-lag", PPOLagConfig, train, load_policy, action_mode="box")

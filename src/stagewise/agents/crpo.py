"""Constraint-Rectified Policy Optimization (Xu, Liang, Lan 2021, Algorithm 1), on-policy PPO form.

Each update first checks every constraint on the episode cost estimates: if
``J_Ci <= d_i + eta`` for all ``i`` the actor takes a reward step (clipped
surrogate of ``A_R``); otherwise it takes a cost step on one violated
constraint, the one with the largest excess ``J_Ci - d_i - eta`` (Algorithm 1
allows any violated one), ascending the clipped surrogate of ``-A_Ci``. No
multipliers: the switch itself is the constraint handling. This is the
"OnCRPO" of the SafeOR-Gym study (PPO steps instead of the paper's natural
policy gradient steps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

from stagewise.agents import AgentSpec
from stagewise.agents.common.actor_critic import ActorPolicy
from stagewise.agents.common.onpolicy import load_policy, normalize, train_onpolicy
from stagewise.agents.ppo import PPOConfig, PPOUpdate


@dataclass
class CRPOConfig(PPOConfig):
    """Hyper-parameters of CRPO."""

    tolerance: float = 0.0
    """``eta``: a constraint counts as violated when ``J_C > d + eta`` (episode-cost units)."""


def rectified_target(episode_cost: np.ndarray, limits: np.ndarray, tolerance: float) -> int | None:
    """Index of the constraint to decrease, or ``None`` when all hold (take a reward step)."""
    excess = np.asarray(episode_cost) - limits - tolerance
    return int(np.argmax(excess)) if (excess > 0).any() else None


class CRPOUpdate(PPOUpdate):
    """PPO on ``A_R`` when all constraints hold, else on ``-A_Ci`` of the most violated."""

    def __init__(self, model, cfg: CRPOConfig, costs):
        if cfg.tolerance < 0:
            raise ValueError(f"tolerance must be >= 0, got {cfg.tolerance!r}")
        super().__init__(model, cfg, costs)

    def advantages(self, batch, episode_cost, episode_length):
        target = rectified_target(
            episode_cost, self.limits, self.cfg.tolerance * self.cfg.cost_scale
        )
        if target is None:
            return normalize(batch.adv), {"crpo_cost_step": -1}
        return normalize(-batch.cost_adv[:, target]), {"crpo_cost_step": target}


def train(
    env_fn: Callable[[], gym.Env],
    cfg: CRPOConfig,
    run_dir: str | Path,
    progress: Callable[[int], None] | None = None,
) -> ActorPolicy:
    """Train CRPO in ``run_dir`` (resuming from its checkpoint); the deterministic policy."""
    return train_onpolicy(env_fn, cfg, run_dir, CRPOUpdate, progress)


SPEC = AgentSpec("crpo", CRPOConfig, train, load_policy, action_mode="box")

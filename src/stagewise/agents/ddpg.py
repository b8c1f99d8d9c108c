"""Deep Deterministic Policy Gradient (Lillicrap et al. 2016, Algorithm 1).

DDPG is the off-policy core of :mod:`~stagewise.agents.common.offpolicy` without
costs: critic on ``y = r + gamma Q'(s', mu'(s'))``, actor ascending ``Q(s, mu(s))``,
Polyak-averaged targets, Gaussian exploration noise, uniform replay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym

from stagewise.agents import AgentSpec
from stagewise.agents.common.offpolicy import (
    DeterministicPolicy,
    OffPolicyConfig,
    load_policy,
    train_offpolicy,
)


@dataclass
class DDPGConfig(OffPolicyConfig):
    """Hyper-parameters of DDPG (those of the off-policy core)."""


def train(
    env_fn: Callable[[], gym.Env],
    cfg: DDPGConfig,
    run_dir: str | Path,
    progress: Callable[[int], None] | None = None,
) -> DeterministicPolicy:
    """Train DDPG in ``run_dir`` (resuming from its checkpoint); the deterministic actor."""
    return train_offpolicy(env_fn, cfg, run_dir, None, progress)


SPEC = AgentSpec("ddpg", DDPGConfig, train, load_policy, action_mode="box", constrained=False)

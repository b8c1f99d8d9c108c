"""Deep Deterministic Policy Gradient (Lillicrap et al. 2016, Algorithm 1).

DDPG is the off-policy core of :mod:`~stagewise.agents.common.offpolicy` without
costs: critic on ``y = r + gamma Q'(s', mu'(s'))``, actor ascending ``Q(s, mu(s))``,
Polyak-averaged targets, Gaussian exploration noise, uniform replay.
"""

from __future__ import annotations

from dataclasses import dataclass

from stagewise.agents import AgentSpec
from stagewise.agents.common.offpolicy import OffPolicyConfig, load_policy, train_offpolicy


@dataclass
class DDPGConfig(OffPolicyConfig):
    """Hyper-parameters of DDPG (those of the off-policy core)."""


def train(env_fn, cfg: DDPGConfig, run_dir, progress=None):
    """Train DDPG in ``run_dir`` (resuming from its checkpoint); the deterministic actor."""
    return train_offpolicy(env_fn, cfg, run_dir, None, progress)


SPEC = AgentSpec("ddpg", DDPGConfig, train, load_policy, action_mode="box")

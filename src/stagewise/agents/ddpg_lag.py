"""DDPG-Lagrangian: DDPG with a cost critic and a learned multiplier per constraint.

The actor minimizes ``(-Q(s, mu(s)) + sum_i lambda_i Q_Ci(s, mu(s))) / (1 + sum_i lambda_i)``
(the Lagrangian relaxation of Ray, Achiam, Amodei 2019, Sec. 5, with the
off-policy critics of DDPG, as in OmniSafe's DDPGLag); each cost critic
regresses on ``y_C = c + gamma_C Q_C'(s', mu'(s'))``; the multipliers take one dual
step per epoch on the mean episode cost (``lambda_i <- [lambda_i + eta (J_Ci - d_i)]_+``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym

from stagewise.agents import AgentSpec
from stagewise.agents.common.lagrange import LagrangeConfig, make_multipliers
from stagewise.agents.common.offpolicy import (
    DeterministicPolicy,
    OffPolicyConfig,
    load_policy,
    train_offpolicy,
)


@dataclass
class DDPGLagConfig(OffPolicyConfig, LagrangeConfig):
    """Hyper-parameters of DDPG-Lag (multipliers: :class:`LagrangeConfig`)."""


def train(
    env_fn: Callable[[], gym.Env],
    cfg: DDPGLagConfig,
    run_dir: str | Path,
    progress: Callable[[int], None] | None = None,
) -> DeterministicPolicy:
    """Train DDPG-Lag in ``run_dir`` (resuming from its checkpoint); the deterministic actor."""

    def multipliers(k: int):
        return make_multipliers(k, cfg)

    return train_offpolicy(env_fn, cfg, run_dir, multipliers, progress)


SPEC = AgentSpec("ddpg-lag", DDPGLagConfig, train, load_policy, action_mode="box")

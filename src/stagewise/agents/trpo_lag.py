"""TRPO-Lagrangian (Ray, Achiam, Amodei 2019, Sec. 5): a TRPO step on the Lagrangian advantage.

Each update: a dual step on the multipliers (as in PPO-Lag), then one TRPO
step (Schulman et al. 2015, Sec. 6 and Appendix C) on the surrogate
``L(theta) = E[rho_t A_t]`` of the normalized Lagrangian advantage
``A = (A_R - sum_i lambda_i A_Ci) / (1 + sum_i lambda_i)``:
``x = sqrt(2 delta / (g^T F^{-1} g)) F^{-1} g`` by conjugate gradient, then a
backtracking line search that accepts the first step with
``KL(pi_old || pi_new) <= delta`` and ``L`` improved; if none is accepted the
actor is left unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import torch

from stagewise.agents import AgentSpec
from stagewise.agents.common.actor_critic import ActorPolicy
from stagewise.agents.common.lagrange import LagrangeConfig, make_multipliers
from stagewise.agents.common.onpolicy import (
    OnPolicyConfig,
    PolicyUpdate,
    load_policy,
    normalize,
    train_onpolicy,
)
from stagewise.agents.common.trust_region import (
    FisherProduct,
    backtracking_line_search,
    conjugate_gradient,
    detached_distribution,
    flat_grad,
    flat_params,
    mean_kl,
    set_flat_params,
)
from stagewise.agents.ppo_lag import lagrangian_advantage, multiplier_logs


@dataclass
class TrustRegionConfig(OnPolicyConfig):
    """Hyper-parameters of the natural-gradient step (TRPO-Lag and CPO)."""

    target_kl: float = 0.01
    """Trust-region radius ``delta`` on the mean KL divergence."""
    cg_iters: int = 15
    """Conjugate-gradient iterations per solve."""
    cg_damping: float = 0.1
    """Damping added to the Fisher matrix."""
    backtracks: int = 15
    """Maximum line-search halvings (factor ``backtrack_decay`` each)."""
    backtrack_decay: float = 0.8
    """Step shrink factor of the line search."""
    fisher_subsample: int = 1
    """Fisher-vector products on every n-th sample of the batch (1: all of them)."""


@dataclass
class TRPOLagConfig(TrustRegionConfig, LagrangeConfig):
    """Hyper-parameters of TRPO-Lag (multipliers: :class:`LagrangeConfig`)."""


class TrustRegionUpdate(PolicyUpdate):
    """Shared pieces of the natural-gradient methods: surrogates, Fisher products, steps."""

    def __init__(self, model, cfg: TrustRegionConfig, costs):
        if not isinstance(cfg.fisher_subsample, int) or cfg.fisher_subsample < 1:
            raise ValueError(
                f"fisher_subsample must be an integer >= 1, got {cfg.fisher_subsample!r}"
            )
        if not cfg.target_kl > 0 or not cfg.cg_damping >= 0 or not 0 < cfg.backtrack_decay < 1:
            raise ValueError(
                "need target_kl > 0, cg_damping >= 0 and 0 < backtrack_decay < 1, got "
                f"{cfg.target_kl!r}, {cfg.cg_damping!r}, {cfg.backtrack_decay!r}"
            )
        super().__init__(model, cfg, costs)
        self.params = list(model.actor.parameters())

    def ratio(self, batch) -> torch.Tensor:
        actor = self.model.actor
        return (actor.log_prob(actor.distribution(batch.obs), batch.act) - batch.logp).exp()

    def solve(self, fvp: FisherProduct, vectors: torch.Tensor) -> torch.Tensor:
        """``(F + damping I)^{-1}`` times ``vectors`` (one ``[n]`` or rows ``[m, n]``) by CG."""
        return conjugate_gradient(fvp, vectors, self.cfg.cg_iters)

    def fisher(self, batch) -> FisherProduct:
        """``V -> (F + damping I) V`` at the current (old) policy.

        With ``fisher_subsample = n`` the Fisher matrix is estimated on every n-th
        sample: the products dominate an update's cost and a quarter of a large
        batch estimates the curvature as well (the gradient still uses all samples).
        """
        obs = batch.obs[:: self.cfg.fisher_subsample]
        return FisherProduct(self.model.actor, obs, self.cfg.cg_damping)

    def try_step(self, step: torch.Tensor, accept) -> float:
        """Line search along ``step`` from the current parameters; 0 if rejected (restored)."""
        start = flat_params(self.model.actor)

        def trial(fraction: float) -> bool:
            set_flat_params(self.model.actor, start + fraction * step)
            with torch.no_grad():
                return accept()

        fraction = backtracking_line_search(trial, self.cfg.backtracks, self.cfg.backtrack_decay)
        if fraction is None:
            set_flat_params(self.model.actor, start)
            return 0.0
        return fraction


class TRPOLagUpdate(TrustRegionUpdate):
    """Dual step on ``lambda``, then a TRPO step on the Lagrangian advantage."""

    def __init__(self, model, cfg: TRPOLagConfig, costs):
        super().__init__(model, cfg, costs)
        self.multipliers = make_multipliers(costs.k, cfg)

    def update(self, batch, episode_cost, episode_length, rng):
        lam = self.multipliers.update(episode_cost, self.limits)
        adv = normalize(lagrangian_advantage(batch, lam))
        old = detached_distribution(self.model.actor, batch.obs)
        surrogate = (self.ratio(batch) * adv).mean()
        g = flat_grad(surrogate, self.params)
        fvp = self.fisher(batch)
        x = self.solve(fvp, g)
        step = torch.sqrt(2 * self.cfg.target_kl / (x @ fvp(x) + 1e-12)) * x
        before = float(surrogate.detach())

        def accept() -> bool:
            kl = mean_kl(self.model.actor, batch.obs, old)
            return (
                bool(kl <= self.cfg.target_kl) and float((self.ratio(batch) * adv).mean()) > before
            )

        fraction = self.try_step(step, accept)
        with torch.no_grad():
            kl = float(mean_kl(self.model.actor, batch.obs, old))
        logs = {"step_fraction": fraction, "kl": kl, **multiplier_logs(self.costs.names, lam)}
        return logs

    def state_dict(self):
        return {"multipliers": self.multipliers.state_dict()}

    def load_state_dict(self, state):
        self.multipliers.load_state_dict(state["multipliers"])


def train(
    env_fn: Callable[[], gym.Env],
    cfg: TRPOLagConfig,
    run_dir: str | Path,
    progress: Callable[[int], None] | None = None,
) -> ActorPolicy:
    """Train TRPO-Lag in ``run_dir`` (resuming from its checkpoint); the deterministic policy."""
    return train_onpolicy(env_fn, cfg, run_dir, TRPOLagUpdate, progress)


SPEC = AgentSpec("trpo-lag", TRPOLagConfig, train, load_policy, action_mode="box")

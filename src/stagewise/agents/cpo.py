"""Constrained Policy Optimization (Achiam, Held, Tamar, Abbeel 2017).

Each update solves the linearized trust-region problem (Eq. 12 / Sec. 6.1)

    max_x g^T x   s.t.  b_i^T x + c_i <= 0 (i = 1..k),  1/2 x^T H x <= delta

with ``g`` the gradient of the reward surrogate ``E[rho A_R]``, ``b_i`` that of
the cost surrogate ``E[rho A_Ci]``, ``H`` the Fisher matrix and
``c_i = (J_Ci - d_i) / L``: the paper's constraint value, divided by the mean
episode length ``L`` because stagewise limits undiscounted episode costs while
``E[rho A_C]`` is a per-step rate (the paper's ``1 / (1 - gamma)`` factor).

Through its dual (Sec. 6.1, Eq. 10-11) with ``q = g^T H^-1 g``,
``r = B H^-1 g``, ``S = B H^-1 B^T``: ``x* = H^-1 (g - B^T nu*) / lambda*``,
where ``nu* >= 0`` minimizes ``sqrt(2 delta Q(nu)) - nu^T c`` with
``Q(nu) = q - 2 r^T nu + nu^T S nu`` and ``lambda* = sqrt(Q(nu*) / (2 delta))``. For
one constraint this is the paper's closed form; for several it is the same
dual with ``nu`` in ``R^k`` (a k-dimensional bound-constrained problem). When
no step inside the trust region satisfies the linearized constraints (the
smallest-norm feasible point ``-H^-1 B^T mu``, ``mu = argmin_{mu>=0} 1/2 mu^T S mu - mu^T c``,
lies outside it), CPO takes the recovery step along that point scaled to the
trust-region boundary, which for one constraint is ``-sqrt(2 delta / s) H^-1 b``
(Sec. 6.3). The line search (Sec. 6.3) accepts a step whose KL is within
``delta``, whose cost surrogate grows by at most ``max(-c_i, 0)`` and which, outside
recovery, improves the reward surrogate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from scipy.optimize import minimize

from stagewise.agents import AgentSpec
from stagewise.agents.common.actor_critic import ActorPolicy
from stagewise.agents.common.onpolicy import load_policy, normalize, train_onpolicy
from stagewise.agents.common.trust_region import detached_distribution, flat_grad, mean_kl
from stagewise.agents.trpo_lag import TrustRegionConfig, TrustRegionUpdate


@dataclass
class CPOConfig(TrustRegionConfig):
    """Hyper-parameters of CPO (the trust-region ones; CPO has no multipliers to tune)."""

    recovery_radius: float = 1.0
    """Share ``rho`` of the trust region a recovery step spends on the cost (1: the paper's)."""


def _nonnegative_argmin(fun, k: int) -> np.ndarray:
    """``argmin_{x >= 0} fun(x)`` for a smooth convex ``fun`` returning (value, gradient)."""
    result = minimize(
        fun,
        np.zeros(k),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None)] * k,
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 1000},
    )
    return result.x


def cpo_step(
    hinv_g: np.ndarray,
    hinv_b: np.ndarray,
    g: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    delta: float,
    recovery_radius: float = 1.0,
) -> tuple[np.ndarray, bool]:
    """The solution ``x*`` of the CPO subproblem and whether it is a recovery step.

    ``hinv_g = H^-1 g`` ``[n]``, ``hinv_b = H^-1 b_i`` ``[k, n]``, ``g`` ``[n]``,
    ``b`` ``[k, n]``, ``c`` ``[k]``.

    When no step in the trust region satisfies the linearized constraints, the
    paper's recovery (``recovery_radius`` 1) spends the whole step on the cost and
    none on the reward, so a policy just above its limit stops improving. With
    ``recovery_radius = rho < 1`` the constraint values are scaled down to
    ``t c``, ``t = rho sqrt(2 delta / s_min)``, the most a step of radius ``rho`` in
    the trust region can achieve (``s_min`` is the squared H-norm of the smallest
    feasible step); the regular CPO step then decreases the linearized cost by
    that share of the violation and spends the rest of the trust region on the reward.
    """
    q = float(g @ hinv_g)
    r = b @ hinv_g
    s = b @ hinv_b.T
    s = 0.5 * (s + s.T)
    k = len(c)

    def feasibility(mu: np.ndarray) -> tuple[float, np.ndarray]:
        return 0.5 * mu @ s @ mu - mu @ c, s @ mu - c

    mu = _nonnegative_argmin(feasibility, k)
    smallest = float(mu @ s @ mu)
    recovery = bool(np.any(c > 0) and 0.5 * smallest > delta)
    if recovery and recovery_radius >= 1.0:
        return -np.sqrt(2 * delta / smallest) * (mu @ hinv_b), True
    if recovery:
        c = c * recovery_radius * np.sqrt(2 * delta / smallest)

    def dual(nu: np.ndarray) -> tuple[float, np.ndarray]:
        quad = max(q - 2 * r @ nu + nu @ s @ nu, 1e-16)
        root = np.sqrt(2 * delta * quad)
        return root - nu @ c, delta * (2 * s @ nu - 2 * r) / root - c

    nu = _nonnegative_argmin(dual, k)
    quad = max(q - 2 * r @ nu + nu @ s @ nu, 1e-16)
    lam = np.sqrt(quad / (2 * delta))
    return (hinv_g - nu @ hinv_b) / lam, recovery


class CPOUpdate(TrustRegionUpdate):
    """One CPO step per epoch."""

    def __init__(self, model, cfg: CPOConfig, costs):
        if not 0 < cfg.recovery_radius <= 1:
            raise ValueError(f"recovery_radius must be in (0, 1], got {cfg.recovery_radius!r}")
        super().__init__(model, cfg, costs)

    def update(self, batch, episode_cost, episode_length, rng):
        actor = self.model.actor
        adv = normalize(batch.adv)
        cost_adv = batch.cost_adv - batch.cost_adv.mean(0)
        c = (np.asarray(episode_cost) - self.limits) / max(episode_length, 1.0)
        old = detached_distribution(actor, batch.obs)
        ratio = self.ratio(batch)
        reward_surrogate = (ratio * adv).mean()
        cost_surrogates = (ratio.unsqueeze(-1) * cost_adv).mean(0)
        g = flat_grad(reward_surrogate, self.params)
        b = torch.stack([flat_grad(cs, self.params) for cs in cost_surrogates])
        fvp = self.fisher(batch, old)
        hinv_g = self.solve(fvp, g)
        hinv_b = torch.stack([self.solve(fvp, bi) for bi in b])
        x, recovery = cpo_step(
            hinv_g.double().numpy(),
            hinv_b.double().numpy(),
            g.double().numpy(),
            b.double().numpy(),
            c,
            self.cfg.target_kl,
            self.cfg.recovery_radius,
        )
        allowed = torch.as_tensor(np.maximum(-c, 0.0), dtype=torch.float32)
        before = float(reward_surrogate.detach())

        def accept() -> bool:
            if mean_kl(actor, batch.obs, old) > self.cfg.target_kl:
                return False
            ratio = self.ratio(batch)
            if torch.any((ratio.unsqueeze(-1) * cost_adv).mean(0) > allowed):
                return False
            return recovery or float((ratio * adv).mean()) >= before

        fraction = self.try_step(torch.as_tensor(x, dtype=torch.float32), accept)
        with torch.no_grad():
            kl = float(mean_kl(actor, batch.obs, old))
        logs = {"step_fraction": fraction, "kl": kl, "recovery": int(recovery)}
        logs |= {f"violation_{n}": float(v) for n, v in zip(self.costs.names, c, strict=True)}
        return logs


def train(
    env_fn: Callable[[], gym.Env],
    cfg: CPOConfig,
    run_dir: str | Path,
    progress: Callable[[int], None] | None = None,
) -> ActorPolicy:
    """Train CPO in ``run_dir`` (resuming from its checkpoint); the deterministic policy."""
    return train_onpolicy(env_fn, cfg, run_dir, CPOUpdate, progress)


SPEC = AgentSpec("cpo", CPOConfig, train, load_policy, action_mode="box")

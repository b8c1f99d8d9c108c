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
dual with ``nu`` in ``R^k``, a k-dimensional bound-constrained problem solved
exactly by trying each support of ``nu`` (:func:`dual_multipliers`; ``2^k - 1``
small linear systems, for the few cost families a problem has). When
no step inside the trust region satisfies the linearized constraints (the
smallest-norm feasible point ``-H^-1 B^T mu``, ``mu = argmin_{mu>=0} 1/2 mu^T S mu - mu^T c``,
lies outside it), CPO takes the recovery step along that point scaled to the
trust-region boundary, which for one constraint is ``-sqrt(2 delta / s) H^-1 b``
(Sec. 6.3). The line search (Sec. 6.3) accepts a step whose KL is within
``delta``, whose cost surrogate grows by at most ``max(-c_i, 0)`` and which, outside
recovery, improves the reward surrogate.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

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


def _supports(k: int) -> list[list[int]]:
    """Every non-empty subset of the ``k`` constraints (the candidate supports)."""
    return [list(a) for size in range(1, k + 1) for a in itertools.combinations(range(k), size)]


def smallest_feasible_multipliers(s: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``mu = argmin_{mu >= 0} 1/2 mu^T S mu - mu^T c``, ``S`` ``[k, k]`` positive semidefinite.

    The minimizer of this convex problem is, on its support ``A``, the solution of
    ``S_AA mu_A = c_A``; among these stationary points with ``mu_A >= 0`` (one per
    subset, ``2^k`` for ``k`` constraints: a handful) it is the one of least value.
    """
    best, best_value = np.zeros(len(c)), 0.0
    for a in _supports(len(c)):
        mu_a = _solve(s[np.ix_(a, a)], c[a])
        if mu_a is None or np.any(mu_a < 0):
            continue
        value = -0.5 * float(mu_a @ c[a])  # 1/2 mu S mu - mu c at S_AA mu_A = c_A
        if value < best_value:
            best, best_value = np.zeros(len(c)), value
            best[a] = mu_a
    return best


def dual_multipliers(
    q: float, r: np.ndarray, s: np.ndarray, c: np.ndarray, delta: float
) -> tuple[np.ndarray, float]:
    """``nu* = argmin_{nu >= 0} sqrt(2 delta Q(nu)) - nu^T c`` and ``lambda*``.

    ``lambda* = sqrt(Q(nu*) / 2 delta)``, ``Q(nu) = q - 2 r^T nu + nu^T S nu``. On a
    support ``A`` stationarity gives
    ``S_AA nu_A = r_A + lambda c_A`` and then ``Q = 2 delta lambda^2``, so
    ``lambda = sqrt((q - r_A^T S_AA^-1 r_A) / (2 delta - c_A^T S_AA^-1 c_A))``: for one
    constraint the paper's closed form (Appendix 10.2, its ``A`` and ``B``). The dual
    is convex, so its minimum is the least value among these stationary points with
    ``nu_A >= 0``, one per subset of the constraints.
    """
    k = len(c)

    def objective(nu: np.ndarray) -> float:
        return float(np.sqrt(2 * delta * _quad(q, r, s, nu)) - nu @ c)

    best = np.zeros(k)
    best_value = objective(best)
    for a in _supports(k):
        s_aa = s[np.ix_(a, a)]
        sinv_r, sinv_c = _solve(s_aa, r[a]), _solve(s_aa, c[a])
        if sinv_r is None or sinv_c is None:
            continue
        slack = 2 * delta - float(c[a] @ sinv_c)
        if slack <= 0:
            continue
        lam = np.sqrt(max(q - float(r[a] @ sinv_r), 1e-16) / slack)
        nu_a = sinv_r + lam * sinv_c
        if np.any(nu_a < 0):
            continue
        nu = np.zeros(k)
        nu[a] = nu_a
        value = objective(nu)
        if value < best_value:
            best, best_value = nu, value
    return best, float(np.sqrt(_quad(q, r, s, best) / (2 * delta)))


def _quad(q: float, r: np.ndarray, s: np.ndarray, nu: np.ndarray) -> float:
    """``Q(nu) = q - 2 r^T nu + nu^T S nu``, kept positive against round-off."""
    return max(q - 2 * float(r @ nu) + float(nu @ s @ nu), 1e-16)


def within_trust_region(kl: float, target_kl: float) -> bool:
    """Whether a trial step's mean KL is finite and at most ``target_kl``.

    A step so long that the policy's outputs overflow gives a NaN KL; ``NaN >
    target_kl`` is false, so a test written that way would accept such a step.
    """
    return bool(np.isfinite(kl)) and kl <= target_kl


def finite_directions(*arrays: np.ndarray) -> bool:
    """Whether every gradient and natural-gradient direction of an update is finite."""
    return all(bool(np.all(np.isfinite(a))) for a in arrays)


def _solve(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray | None:
    """``matrix^-1 rhs``, or ``None`` for a (numerically) singular ``matrix``."""
    if np.linalg.cond(matrix) > 1e12:
        return None
    return np.linalg.solve(matrix, rhs)


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
    mu = smallest_feasible_multipliers(s, c)
    smallest = float(mu @ s @ mu)
    recovery = bool(np.any(c > 0) and 0.5 * smallest > delta)
    if recovery and recovery_radius >= 1.0:
        return -np.sqrt(2 * delta / smallest) * (mu @ hinv_b), True
    if recovery:
        c = c * recovery_radius * np.sqrt(2 * delta / smallest)
    nu, lam = dual_multipliers(q, r, s, c, delta)
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
        hinv = self.solve(self.fisher(batch), torch.cat([g.unsqueeze(0), b]))
        hinv_g, hinv_b = hinv[0].double().numpy(), hinv[1:].double().numpy()
        directions = (hinv_g, hinv_b, g.double().numpy(), b.double().numpy())
        violations = {f"violation_{n}": float(v) for n, v in zip(self.costs.names, c, strict=True)}
        skipped = {"step_fraction": 0.0, "kl": 0.0, "recovery": 0, "skipped": 1} | violations
        if not finite_directions(*directions):
            return skipped
        x, recovery = cpo_step(*directions, c, self.cfg.target_kl, self.cfg.recovery_radius)
        allowed = torch.as_tensor(np.maximum(-c, 0.0), dtype=torch.float32)
        before = float(reward_surrogate.detach())

        def accept() -> bool:
            if not within_trust_region(float(mean_kl(actor, batch.obs, old)), self.cfg.target_kl):
                return False
            ratio = self.ratio(batch)
            if torch.any((ratio.unsqueeze(-1) * cost_adv).mean(0) > allowed):
                return False
            return recovery or float((ratio * adv).mean()) >= before

        if not finite_directions(x):
            return skipped
        fraction = self.try_step(torch.as_tensor(x, dtype=torch.float32), accept)
        with torch.no_grad():
            kl = float(mean_kl(actor, batch.obs, old))
        return {
            "step_fraction": fraction,
            "kl": kl,
            "recovery": int(recovery),
            "skipped": 0,
        } | violations


def train(
    env_fn: Callable[[], gym.Env],
    cfg: CPOConfig,
    run_dir: str | Path,
    progress: Callable[[int], None] | None = None,
) -> ActorPolicy:
    """Train CPO in ``run_dir`` (resuming from its checkpoint); the deterministic policy."""
    return train_onpolicy(env_fn, cfg, run_dir, CPOUpdate, progress)


SPEC = AgentSpec("cpo", CPOConfig, train, load_policy, action_mode="box")

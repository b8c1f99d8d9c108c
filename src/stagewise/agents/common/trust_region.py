"""Trust-region machinery for TRPO-Lag and CPO.

The natural-gradient step solves ``F x = g`` with conjugate gradient (Nocedal
& Wright, Alg. 5.2) using Fisher-vector products ``F v = grad((grad KL) . v)``
(Schulman et al. 2015, Appendix C), and scales it to the KL radius ``delta``:
``x = sqrt(2 delta / (g^T F^{-1} g)) F^{-1} g``. A backtracking line search then
shrinks the step until the new policy is accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn


def flat_params(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.data.reshape(-1) for p in model.parameters()])


def set_flat_params(model: nn.Module, flat: torch.Tensor) -> None:
    offset = 0
    for p in model.parameters():
        n = p.numel()
        p.data.copy_(flat[offset : offset + n].view_as(p))
        offset += n


def flat_grad(
    y: torch.Tensor, params: Sequence[torch.Tensor], create_graph: bool = False
) -> torch.Tensor:
    grads = torch.autograd.grad(y, params, create_graph=create_graph, retain_graph=True)
    return torch.cat([g.reshape(-1) for g in grads])


def conjugate_gradient(
    avp: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    iters: int = 10,
    residual_tol: float = 1e-10,
) -> torch.Tensor:
    """Approximate ``A^{-1} b`` for symmetric positive definite ``A`` given ``v -> A v``."""
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rr = r @ r
    for _ in range(iters):
        if rr <= residual_tol:
            break
        ap = avp(p)
        alpha = rr / (p @ ap)
        x += alpha * p
        r -= alpha * ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def fisher_vector_product(
    kl: Callable[[], torch.Tensor], params: Sequence[torch.Tensor], damping: float
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``v -> (F + damping I) v``, ``F`` the Hessian of ``kl()`` at the current parameters."""
    grad_kl = flat_grad(kl(), params, create_graph=True)

    def product(v: torch.Tensor) -> torch.Tensor:
        return flat_grad(grad_kl @ v, params) + damping * v

    return product


def backtracking_line_search(
    accept: Callable[[float], bool], max_backtracks: int = 15, decay: float = 0.8
) -> float | None:
    """The first fraction ``decay^j`` (``j = 0, 1, ...``) that ``accept`` approves, or ``None``."""
    fraction = 1.0
    for _ in range(max_backtracks):
        if accept(fraction):
            return fraction
        fraction *= decay
    return None


def detached_distribution(actor, obs: torch.Tensor):
    """``pi_old(.|s)`` with gradients cut, the fixed end of the KL."""
    with torch.no_grad():
        return actor.distribution(obs)


def mean_kl(actor, obs: torch.Tensor, old) -> torch.Tensor:
    """``E_s[KL(pi_old(.|s) || pi_theta(.|s))]``."""
    kl = torch.distributions.kl_divergence(old, actor.distribution(obs))
    return kl.sum(-1).mean() if kl.ndim > 1 else kl.mean()

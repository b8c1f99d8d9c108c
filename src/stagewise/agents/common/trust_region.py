"""Trust-region machinery for TRPO-Lag and CPO.

The natural-gradient step solves ``F x = g`` with conjugate gradient (Nocedal
& Wright, Alg. 5.2) and scales it to the KL radius ``delta``:
``x = sqrt(2 delta / (g^T F^{-1} g)) F^{-1} g``. A backtracking line search then
shrinks the step until the new policy is accepted.

``F`` is the Hessian of the mean KL divergence at the old policy (Schulman et
al. 2015, Appendix C), which is the Fisher matrix
``F = E_s[J(s)^T M(s) J(s)]`` with ``J`` the Jacobian of the network output
(Gaussian mean or categorical logits) with respect to the parameters and
``M`` the Fisher matrix of the distribution in that output: ``diag(1/sigma^2)``
for the mean of a Gaussian (``diag(h^2/sigma^2)`` for the squashed mean's
``tanh`` output, ``mu = c + h tanh``), ``diag(p) - p p^T`` for logits, and ``2 I`` for a
state-independent ``log sigma`` (Martens 2020, Sec. 9.2). :class:`FisherProduct`
multiplies by it with one forward-mode and one reverse-mode pass through the
actor's network written on whole arrays, for several vectors at once, instead
of differentiating the KL twice with autograd per vector: the conjugate
gradient's products were most of a TRPO-Lag or CPO update's time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from stagewise.agents.common.actor_critic import CategoricalActor, GaussianActor


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
    """Approximate ``A^{-1} b`` for symmetric positive definite ``A`` given ``v -> A v``.

    ``b`` is one right-hand side ``[n]`` or several ``[m, n]``; several are solved
    together, each row its own conjugate-gradient run (its own step sizes, stopped
    once its residual is below ``residual_tol``), with one call ``avp(P)`` ``[m, n]``
    per iteration for all rows.
    """
    rows = b.reshape(-1, b.shape[-1])
    x = torch.zeros_like(rows)
    r = rows.clone()
    p = rows.clone()
    rr = (r * r).sum(-1)
    for _ in range(iters):
        active = rr > residual_tol
        if not bool(active.any()):
            break
        ap = avp(p)
        alpha = torch.where(active, rr / (p * ap).sum(-1), torch.zeros_like(rr)).unsqueeze(-1)
        x += alpha * p
        r -= alpha * ap
        rr_new = (r * r).sum(-1)
        beta = torch.where(active, rr_new / torch.where(active, rr, 1.0), torch.zeros_like(rr))
        p = r + beta.unsqueeze(-1) * p
        rr = rr_new
    return x.reshape(b.shape)


class FisherProduct:
    """``V -> (F + damping I) V`` for the rows of ``V`` ``[m, n]`` (or one ``[n]``).

    ``F`` is the Fisher matrix of ``actor`` (a :class:`GaussianActor` or
    :class:`CategoricalActor` over an MLP of ``Linear`` and ``Tanh`` layers) at its
    current parameters, averaged over the observations ``obs`` ``[B, d]``, in the
    order of ``actor.parameters()``. The forward pass is done once here; each
    product is ``J^T M J V`` by a forward-mode pass (``J V``, the output's change
    along each row) and a reverse-mode pass (``J^T U``), both on whole arrays.
    """

    def __init__(self, actor: nn.Module, obs: torch.Tensor, damping: float):
        self.damping = float(damping)
        self.gaussian = isinstance(actor, GaussianActor)
        if not self.gaussian and not isinstance(actor, CategoricalActor):
            raise TypeError(f"no Fisher product for {type(actor).__name__}")
        net = actor.mean if self.gaussian else actor.logits
        self.linears, tanh_after = _mlp_layers(net)
        expected = [q for lin in self.linears for q in (lin.weight, lin.bias)]
        if self.gaussian:
            expected.insert(0, actor.log_std)  # a module's own parameters come first
        if [id(q) for q in expected] != [id(q) for q in actor.parameters()]:
            raise ValueError("actor parameters are not (log_std and) the MLP's layers")
        self.sizes = [q.numel() for q in expected]
        with torch.no_grad():
            # inputs of each Linear and the derivative 1 - tanh^2 after it (None: no tanh)
            self.inputs: list[torch.Tensor] = []
            self.slopes: list[torch.Tensor | None] = []
            h = obs
            for lin, tanh in zip(self.linears, tanh_after, strict=True):
                self.inputs.append(h)
                h = lin(h)
                if tanh:
                    h = torch.tanh(h)
                    self.slopes.append(1.0 - h * h)
                else:
                    self.slopes.append(None)
            self.batch = obs.shape[0]
            if self.gaussian:
                # 1 / sigma^2, times h^2 for a mean c + h tanh(f) squashed into the Box
                self.precision = torch.exp(-2.0 * actor.log_std.detach())
                if actor.squashed:
                    self.precision = self.precision * actor.half_range**2
            else:
                self.probs = torch.softmax(h, -1)

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        rows = v.reshape(-1, v.shape[-1])
        parts = list(torch.split(rows, self.sizes, dim=-1))
        log_std = parts.pop(0) if self.gaussian else None
        out = self._jvp(parts)
        # U = M (J V) / B: the distribution's Fisher in the output, averaged over samples
        if self.gaussian:
            u = out * (self.precision / self.batch)
        else:
            p = self.probs.unsqueeze(1)
            u = p * (out - (out * p).sum(-1, keepdim=True)) / self.batch
        grads = self._vjp(u)
        if log_std is not None:
            grads.insert(0, 2.0 * log_std)  # KL'' in log sigma, summed over action entries
        product = torch.cat(grads, dim=-1) + self.damping * rows
        return product.reshape(v.shape)

    def _jvp(self, parts: list[torch.Tensor]) -> torch.Tensor:
        """``J V``: the change of the network output along each row of ``V``, ``[B, m, out]``.

        Samples first, rows second: each layer is then one matrix product for all rows.
        """
        m = parts[0].shape[0]
        d = None
        for i, (lin, x, slope) in enumerate(
            zip(self.linears, self.inputs, self.slopes, strict=True)
        ):
            out_dim, in_dim = lin.weight.shape
            dw = parts[2 * i].reshape(m * out_dim, in_dim)
            pre = (x @ dw.T).view(-1, m, out_dim) + parts[2 * i + 1]
            if d is not None:
                pre = pre + d @ lin.weight.detach().T
            d = pre * slope.unsqueeze(1) if slope is not None else pre
        return d

    def _vjp(self, u: torch.Tensor) -> list[torch.Tensor]:
        """``J^T U`` for ``U`` ``[B, m, out]``: flat gradients ``[m, size]`` in parameter order."""
        batch, m = u.shape[0], u.shape[1]
        grads: list[torch.Tensor] = []
        for i in range(len(self.linears) - 1, -1, -1):
            lin, x, slope = self.linears[i], self.inputs[i], self.slopes[i]
            if slope is not None:
                u = u * slope.unsqueeze(1)
            grads.append(u.sum(0))
            grads.append((u.reshape(batch, -1).T @ x).view(m, -1))
            if i > 0:
                u = u @ lin.weight.detach()
        return grads[::-1]


def _mlp_layers(net: nn.Module) -> tuple[list[nn.Linear], list[bool]]:
    """The ``Linear`` layers of ``net`` and whether a ``Tanh`` follows each."""
    layers = list(net.children()) if isinstance(net, nn.Sequential) else [net]
    linears: list[nn.Linear] = []
    tanh_after: list[bool] = []
    for layer in layers:
        if isinstance(layer, nn.Linear):
            linears.append(layer)
            tanh_after.append(False)
        elif isinstance(layer, nn.Tanh) and linears and not tanh_after[-1]:
            tanh_after[-1] = True
        else:
            raise ValueError(f"Fisher product: expected Linear and Tanh layers, got {layer}")
    return linears, tanh_after


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

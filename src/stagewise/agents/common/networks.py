"""Network building blocks."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn


def mlp(
    in_dim: int,
    out_dim: int,
    hidden: Sequence[int] = (64, 64),
    activation: type[nn.Module] = nn.ReLU,
    out_activation: type[nn.Module] | None = None,
) -> nn.Sequential:
    """A fully connected network ``in_dim -> hidden... -> out_dim``."""
    layers: list[nn.Module] = []
    sizes = [in_dim, *hidden]
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), activation()]
    layers.append(nn.Linear(sizes[-1], out_dim))
    if out_activation is not None:
        layers.append(out_activation())
    return nn.Sequential(*layers)


def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """Polyak averaging ``theta' <- tau theta + (1 - tau) theta'``."""
    with torch.no_grad():
        targets, sources = list(target.parameters()), list(source.parameters())
        if len(targets) != len(sources):
            raise ValueError("soft_update: target and source differ in their parameters")
        # one fused call per list: the same arithmetic as a loop of mul_/add_
        torch._foreach_mul_(targets, 1.0 - tau)
        torch._foreach_add_(targets, sources, alpha=tau)

"""Lagrange multipliers for constrained policy optimization, one per constraint signal.

The Lagrangian relaxation of ``max_pi J_R(pi) s.t. J_Ci(pi) <= d_i`` is
``min_{lambda >= 0} max_pi J_R(pi) - sum_i lambda_i (J_Ci(pi) - d_i)``
(Ray, Achiam, Amodei 2019, "Benchmarking safe exploration", Sec. 5; Stooke et
al. 2020, Eq. 4). The dual step descends ``-lambda_i (J_Ci - d_i)`` with the
multipliers' own optimizer (Adam by default) and projects onto ``lambda >= 0``:
a violated constraint (``J_Ci > d_i``) raises its multiplier, a slack one lowers it.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}


class LagrangeMultipliers:
    """``lambda in R^k_{>=0}`` with its own optimizer."""

    def __init__(self, k: int, init: float = 0.0, lr: float = 0.035, optimizer: str = "adam"):
        if k < 1:
            raise ValueError(f"need at least one constraint, got k={k}")
        if init < 0 or lr <= 0:
            raise ValueError(f"multiplier init must be >= 0 and lr > 0, got {init}, {lr}")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"multiplier optimizer must be one of {sorted(OPTIMIZERS)}")
        self.lam = torch.nn.Parameter(torch.full((k,), float(init)))
        self.optimizer = OPTIMIZERS[optimizer]([self.lam], lr=lr)

    @property
    def value(self) -> np.ndarray:
        """Current ``lambda`` ``[k]`` (a copy)."""
        return self.lam.detach().numpy().copy()

    def update(self, episode_costs: np.ndarray, limits: np.ndarray) -> np.ndarray:
        """One dual step on ``-lambda . (J_C - d)``; returns the new ``lambda``."""
        violation = torch.as_tensor(np.asarray(episode_costs) - limits, dtype=torch.float32)
        self.optimizer.zero_grad()
        loss = -(self.lam * violation).sum()
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            self.lam.clamp_(min=0.0)
        return self.value

    def state_dict(self) -> dict[str, Any]:
        return {
            "lam": self.lam.detach().clone(),
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.lam.copy_(state["lam"])
        self.optimizer.load_state_dict(state["optimizer"])

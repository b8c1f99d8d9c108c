"""Lagrange multipliers for constrained policy optimization, one per constraint signal.

The Lagrangian relaxation of ``max_pi J_R(pi) s.t. J_Ci(pi) <= d_i`` is
``min_{lambda >= 0} max_pi J_R(pi) - sum_i lambda_i (J_Ci(pi) - d_i)``
(Ray, Achiam, Amodei 2019, "Benchmarking safe exploration", Sec. 5; Stooke et
al. 2020, Eq. 4). The dual step descends ``-lambda_i (J_Ci - d_i)`` with the
multipliers' own optimizer (Adam by default) and projects onto ``lambda >= 0``:
a violated constraint (``J_Ci > d_i``) raises its multiplier, a slack one lowers it.

:class:`PIDLagrangeMultipliers` is the PID update of Stooke, Achiam, Abbeel
2020 (Algorithm 2): ``lambda = [K_P e + K_I I + K_D (J_C - J_C,prev)_+]_+`` with
``e = J_C - d`` and the integral ``I <- [I + e]_+``. The plain update is the
integral term alone; the proportional and derivative terms react to the cost
as it rises, which damps the overshoot and oscillation of the plain update.
Both take the violation in the units the agent's advantages use (costs
multiplied by ``cost_scale``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
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


class PIDLagrangeMultipliers:
    """``lambda in R^k_{>=0}`` from a PID controller on the constraint violation."""

    def __init__(self, k: int, kp: float, ki: float, kd: float, init: float = 0.0):
        if k < 1:
            raise ValueError(f"need at least one constraint, got k={k}")
        if min(kp, ki, kd) < 0 or init < 0:
            raise ValueError(f"PID gains and the initial multiplier must be >= 0, got {kp, ki, kd}")
        self.kp, self.ki, self.kd = float(kp), float(ki), float(kd)
        # the integral starts where it yields the initial multiplier
        self.integral = np.full(k, init / ki if ki > 0 else 0.0)
        self.previous_cost = np.full(k, np.nan)
        self.lam = np.full(k, float(init))

    @property
    def value(self) -> np.ndarray:
        """Current ``lambda`` ``[k]`` (a copy)."""
        return self.lam.copy()

    def update(self, episode_costs: np.ndarray, limits: np.ndarray) -> np.ndarray:
        """One controller step on ``J_C - d``; returns the new ``lambda``."""
        cost = np.asarray(episode_costs, dtype=np.float64)
        error = cost - limits
        self.integral = np.maximum(self.integral + error, 0.0)
        rise = np.where(
            np.isnan(self.previous_cost), 0.0, np.maximum(cost - self.previous_cost, 0.0)
        )
        self.previous_cost = cost.copy()
        self.lam = np.maximum(self.kp * error + self.ki * self.integral + self.kd * rise, 0.0)
        return self.value

    def state_dict(self) -> dict[str, Any]:
        return {"integral": self.integral, "previous_cost": self.previous_cost, "lam": self.lam}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.integral = np.array(state["integral"], dtype=np.float64)
        self.previous_cost = np.array(state["previous_cost"], dtype=np.float64)
        self.lam = np.array(state["lam"], dtype=np.float64)


METHODS = ("gradient", "pid")


@dataclass
class LagrangeConfig:
    """Hyper-parameters of the Lagrange multipliers (PPO-Lag, TRPO-Lag, DDPG-Lag)."""

    lambda_init: float = 0.0
    """Initial value of every Lagrange multiplier."""
    lambda_lr: float = 0.035
    """Learning rate of the multipliers' optimizer (``lambda_method="gradient"``)."""
    lambda_optimizer: str = "adam"
    """Optimizer of the multipliers (``adam`` or ``sgd``; ``lambda_method="gradient"``)."""
    lambda_method: str = "gradient"
    """``gradient``: a dual step per epoch; ``pid``: the PID update of Stooke et al. 2020."""
    pid_kp: float = 0.1
    """Proportional gain of the PID multiplier update."""
    pid_ki: float = 0.01
    """Integral gain of the PID multiplier update."""
    pid_kd: float = 0.01
    """Derivative gain of the PID multiplier update (on rises of the episode cost)."""

    def __post_init__(self) -> None:
        if self.lambda_method not in METHODS:
            raise ValueError(f"lambda_method must be one of {METHODS}, got {self.lambda_method!r}")
        if min(self.pid_kp, self.pid_ki, self.pid_kd) < 0:
            raise ValueError("pid_kp, pid_ki and pid_kd must be >= 0")


def make_multipliers(k: int, cfg: LagrangeConfig) -> LagrangeMultipliers | PIDLagrangeMultipliers:
    """The multipliers ``cfg.lambda_method`` names, for ``k`` constraints."""
    if cfg.lambda_method == "gradient":
        return LagrangeMultipliers(k, cfg.lambda_init, cfg.lambda_lr, cfg.lambda_optimizer)
    if cfg.lambda_method == "pid":
        return PIDLagrangeMultipliers(k, cfg.pid_kp, cfg.pid_ki, cfg.pid_kd, cfg.lambda_init)
    raise ValueError(f"lambda_method must be one of {METHODS}, got {cfg.lambda_method!r}")

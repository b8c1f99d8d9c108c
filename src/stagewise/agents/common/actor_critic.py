"""Stochastic actors and the reward/cost critics of the on-policy agents.

For a ``Box`` action space the actor is a diagonal Gaussian with a
state-independent log standard deviation; its unbounded sample ``u`` is what the
likelihood is computed on, and the environment receives ``clip(u, low, high)``,
so no action leaves its space (stagewise charges out-of-range actions to the
``action_range`` cost family). The deterministic action is ``clip(mean)``; with
``squash_mean`` the mean itself is bounded to the Box by a tanh. For a
``Discrete`` space the actor is categorical and the deterministic action is the
arg-max.

With ``normalize_obs`` the model carries an
:class:`~stagewise.agents.common.normalize.ObservationNormalizer`: the training
loop updates it and feeds the networks normalized observations, and
:class:`ActorPolicy` applies it (frozen) to the raw observations it acts on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Normal

from stagewise.agents.common.networks import mlp
from stagewise.agents.common.normalize import ObservationNormalizer


def check_spaces(obs_space: gym.Space, act_space: gym.Space, *, discrete_ok: bool) -> None:
    """Reject spaces the agents cannot handle with a clear message."""
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise ValueError(f"observation space must be a 1-D Box, got {obs_space}")
    allowed = (gym.spaces.Box, gym.spaces.Discrete) if discrete_ok else (gym.spaces.Box,)
    if not isinstance(act_space, allowed):
        names = " or ".join(t.__name__ for t in allowed)
        raise ValueError(f"action space must be {names}, got {act_space}")
    if isinstance(act_space, gym.spaces.Box) and not (
        np.all(np.isfinite(act_space.low)) and np.all(np.isfinite(act_space.high))
    ):
        raise ValueError(f"action space must be bounded, got {act_space}")


class GaussianActor(nn.Module):
    """``pi(u|s) = N(mu_theta(s), diag(exp(2 log_std)))``.

    With ``bounds = (low, high)`` the mean is squashed into the action Box,
    ``mu_theta(s) = c + h tanh(f_theta(s))`` with centre ``c = (low + high) / 2`` and
    half-range ``h = (high - low) / 2``: the noise still reaches past the bounds
    (the environment gets the clipped sample), but the mean cannot drift out of
    the Box to where the clipped samples no longer change the action.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden: Sequence[int],
        init_log_std: float,
        bounds: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        super().__init__()
        self.squashed = bounds is not None
        self.mean = mlp(obs_dim, act_dim, hidden, nn.Tanh, nn.Tanh if self.squashed else None)
        self.log_std = nn.Parameter(torch.full((act_dim,), float(init_log_std)))
        if bounds is not None:
            low, high = (torch.as_tensor(b, dtype=torch.float32).flatten() for b in bounds)
            self.register_buffer("centre", (low + high) / 2)
            self.register_buffer("half_range", (high - low) / 2)

    def mean_action(self, obs: torch.Tensor) -> torch.Tensor:
        """``mu_theta(s)``."""
        if self.squashed:
            return self.centre + self.half_range * self.mean(obs)
        return self.mean(obs)

    def distribution(self, obs: torch.Tensor) -> Distribution:
        return Normal(self.mean_action(obs), self.log_std.exp(), validate_args=False)

    def log_prob(self, dist: Distribution, act: torch.Tensor) -> torch.Tensor:
        return dist.log_prob(act).sum(-1)

    def entropy(self, dist: Distribution) -> torch.Tensor:
        return dist.entropy().sum(-1)

    def mode(self, obs: torch.Tensor) -> torch.Tensor:
        return self.mean_action(obs)


class CategoricalActor(nn.Module):
    """``pi(a|s) = softmax(logits_theta(s))``."""

    def __init__(self, obs_dim: int, n: int, hidden: Sequence[int]):
        super().__init__()
        self.logits = mlp(obs_dim, n, hidden, nn.Tanh)

    def distribution(self, obs: torch.Tensor) -> Distribution:
        return Categorical(logits=self.logits(obs), validate_args=False)

    def log_prob(self, dist: Distribution, act: torch.Tensor) -> torch.Tensor:
        return dist.log_prob(act.long())

    def entropy(self, dist: Distribution) -> torch.Tensor:
        return dist.entropy()

    def mode(self, obs: torch.Tensor) -> torch.Tensor:
        return self.logits(obs).argmax(-1)


class ActorCritic(nn.Module):
    """Actor ``pi_theta``, reward critic ``V_r`` and one cost critic head ``V_c^i`` per signal."""

    def __init__(
        self,
        obs_space: gym.spaces.Box,
        act_space: gym.Space,
        n_costs: int,
        hidden: Sequence[int] = (64, 64),
        init_log_std: float = -0.5,
        normalize_obs: bool = False,
        squash_mean: bool = False,
    ):
        super().__init__()
        check_spaces(obs_space, act_space, discrete_ok=True)
        obs_dim = int(np.prod(obs_space.shape))
        self.act_space = act_space
        self.obs_norm = ObservationNormalizer(obs_dim) if normalize_obs else None
        self.actor: GaussianActor | CategoricalActor
        if isinstance(act_space, gym.spaces.Discrete):
            self.actor = CategoricalActor(obs_dim, int(act_space.n), hidden)
            self.act_shape: tuple[int, ...] = ()
        else:
            act_dim = int(np.prod(act_space.shape))
            bounds = (act_space.low, act_space.high) if squash_mean else None
            self.actor = GaussianActor(obs_dim, act_dim, hidden, init_log_std, bounds)
            self.act_shape = (act_dim,)
        self.reward_critic = mlp(obs_dim, 1, hidden, nn.Tanh)
        self.cost_critic = mlp(obs_dim, n_costs, hidden, nn.Tanh)

    @torch.no_grad()
    def step(self, obs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Sample ``u ~ pi(.|s)``; return ``u``, ``log pi(u|s)``, ``V_r(s)``, ``V_c(s)`` [n, k]."""
        dist = self.actor.distribution(obs)
        u = dist.sample()
        return u, self.actor.log_prob(dist, u), self.values(obs), self.cost_critic(obs)

    def values(self, obs: torch.Tensor) -> torch.Tensor:
        return self.reward_critic(obs).squeeze(-1)

    def network_input(self, obs: np.ndarray, update: bool = False) -> torch.Tensor:
        """What the networks see for raw observations ``obs`` ``[n, obs_dim]``.

        With ``update`` the running normalisation first takes these observations in.
        """
        if self.obs_norm is None:
            return torch.as_tensor(obs, dtype=torch.float32)
        if update:
            self.obs_norm.update(obs)
        return torch.from_numpy(self.obs_norm.normalize(obs))

    def to_env(self, u: np.ndarray) -> np.ndarray:
        """The environment action for the actor output ``u`` (clipped into the Box)."""
        if isinstance(self.act_space, gym.spaces.Discrete):
            return u.astype(np.int64)
        low, high = self.act_space.low.flatten(), self.act_space.high.flatten()
        return (
            np.clip(u, low, high).reshape((-1, *self.act_space.shape)).astype(self.act_space.dtype)
        )


class ActorPolicy:
    """Deterministic policy of a trained actor: clipped Gaussian mean or categorical arg-max."""

    def __init__(self, model: ActorCritic):
        self.model = model.eval()

    def reset(self, env: gym.Env) -> None:
        """Nothing to reset: the policy is stationary and deterministic."""

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        with torch.no_grad():
            x = self.model.network_input(np.asarray(obs, dtype=np.float32).reshape(1, -1))
            u = self.model.actor.mode(x).numpy()
        action = self.model.to_env(u)[0]
        return int(action) if action.ndim == 0 else action

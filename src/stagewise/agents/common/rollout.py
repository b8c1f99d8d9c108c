"""On-policy rollout storage and generalized advantage estimation (GAE).

GAE (Schulman et al. 2016, Eq. 16): ``delta_t = r_t + gamma (1 - d_t) V(s_{t+1}) - V(s_t)``,
``A_t = delta_t + gamma lambda (1 - d_t) A_{t+1}``; the value target is
``A_t + V(s_t)``. The same recursion runs on each cost signal with its own
``gamma_c, lambda_c``. A time-limit truncation is not a termination: the
loop adds ``gamma V(final_obs)`` to that step's reward before calling
:func:`gae` and marks the step done, which bootstraps the cut-off tail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    last_values: np.ndarray,
    dones: np.ndarray,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Advantages and value targets for ``[T, N, ...]`` arrays.

    ``dones[t]`` is 1 where the episode ended at step ``t`` (so ``V(s_{t+1})`` of
    the next episode is not used); ``last_values`` is ``V`` of the observation
    after the last step.
    """
    if rewards.shape != values.shape or rewards.shape[1:] != last_values.shape:
        raise ValueError(
            f"gae: shapes differ: rewards {rewards.shape}, values {values.shape}, "
            f"last_values {last_values.shape}"
        )
    dones = dones.reshape(dones.shape + (1,) * (rewards.ndim - dones.ndim))
    advantages = np.zeros_like(rewards, dtype=np.float64)
    running = np.zeros_like(last_values, dtype=np.float64)
    next_values = last_values
    for t in range(rewards.shape[0] - 1, -1, -1):
        keep = 1.0 - dones[t]
        delta = rewards[t] + gamma * keep * next_values - values[t]
        running = delta + gamma * lam * keep * running
        advantages[t] = running
        next_values = values[t]
    return advantages, advantages + values


@dataclass
class Batch:
    """A flattened rollout as tensors (``B = T * N`` samples; ``k`` cost signals)."""

    obs: torch.Tensor
    act: torch.Tensor
    logp: torch.Tensor
    adv: torch.Tensor
    ret: torch.Tensor
    cost_adv: torch.Tensor
    cost_ret: torch.Tensor

    def __len__(self) -> int:
        return self.obs.shape[0]

    def minibatches(self, size: int, rng: np.random.Generator):
        """Shuffled index tensors of ``size`` samples (the last may be shorter)."""
        order = torch.as_tensor(rng.permutation(len(self)))
        for start in range(0, len(self), size):
            yield order[start : start + size]


class RolloutBuffer:
    """``T`` steps of ``N`` environments: observations, actor outputs, rewards, costs, values."""

    def __init__(self, steps: int, num_envs: int, obs_dim: int, act_shape: tuple, k: int):
        self.steps, self.num_envs, self.k = steps, num_envs, k
        self.obs = np.zeros((steps, num_envs, obs_dim), dtype=np.float32)
        self.act = np.zeros((steps, num_envs, *act_shape), dtype=np.float32)
        self.logp = np.zeros((steps, num_envs), dtype=np.float32)
        self.reward = np.zeros((steps, num_envs))
        self.cost = np.zeros((steps, num_envs, k))
        self.done = np.zeros((steps, num_envs))
        self.value = np.zeros((steps, num_envs))
        self.cost_value = np.zeros((steps, num_envs, k))
        self.t = 0

    def add(self, obs, act, logp, reward, cost, done, value, cost_value) -> None:
        if self.t >= self.steps:
            raise RuntimeError("rollout buffer is full; call finish() first")
        t = self.t
        self.obs[t], self.act[t], self.logp[t] = obs, act, logp
        self.reward[t], self.cost[t], self.done[t] = reward, cost, done
        self.value[t], self.cost_value[t] = value, cost_value
        self.t += 1

    def finish(
        self,
        last_value: np.ndarray,
        last_cost_value: np.ndarray,
        gamma: float,
        lam: float,
        cost_gamma: float,
        cost_lam: float,
    ) -> Batch:
        """GAE for reward and costs; the flattened batch. Empties the buffer."""
        if self.t != self.steps:
            raise RuntimeError(f"rollout holds {self.t} of {self.steps} steps")
        adv, ret = gae(self.reward, self.value, last_value, self.done, gamma, lam)
        cadv, cret = gae(
            self.cost, self.cost_value, last_cost_value, self.done, cost_gamma, cost_lam
        )
        self.t = 0
        n = self.steps * self.num_envs

        def flat(x: np.ndarray, *tail: int) -> torch.Tensor:
            return torch.as_tensor(x.reshape(n, *tail), dtype=torch.float32)

        return Batch(
            obs=flat(self.obs, self.obs.shape[-1]),
            act=flat(self.act, *self.act.shape[2:]),
            logp=flat(self.logp),
            adv=flat(adv),
            ret=flat(ret),
            cost_adv=flat(cadv, self.k),
            cost_ret=flat(cret, self.k),
        )

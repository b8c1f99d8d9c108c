"""A uniform replay memory of transitions with reward and per-signal costs (off-policy agents)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class TransitionBuffer:
    """Ring buffer of ``(s, a, r, c, s', terminated)``; ``c`` has one entry per cost signal."""

    def __init__(self, capacity: int, obs_dim: int, act_dim: int, k: int):
        if capacity < 1:
            raise ValueError(f"buffer capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.act = np.zeros((capacity, act_dim), dtype=np.float32)
        self.reward = np.zeros(capacity, dtype=np.float32)
        self.cost = np.zeros((capacity, k), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.ptr = 0
        self.size = 0

    def add(self, obs, act, reward, cost, next_obs, terminated) -> None:
        """Store a batch of ``n`` transitions (leading axis ``n``)."""
        for i in range(len(reward)):
            j = self.ptr
            self.obs[j], self.act[j], self.reward[j] = obs[i], act[i], reward[i]
            self.cost[j], self.next_obs[j], self.terminated[j] = cost[i], next_obs[i], terminated[i]
            self.ptr = (self.ptr + 1) % self.capacity
            self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """``batch_size`` transitions drawn uniformly with replacement."""
        if self.size == 0:
            raise RuntimeError("cannot sample from an empty buffer")
        idx = rng.integers(0, self.size, size=batch_size)
        return {
            "obs": torch.as_tensor(self.obs[idx]),
            "act": torch.as_tensor(self.act[idx]),
            "reward": torch.as_tensor(self.reward[idx]),
            "cost": torch.as_tensor(self.cost[idx]),
            "next_obs": torch.as_tensor(self.next_obs[idx]),
            "terminated": torch.as_tensor(self.terminated[idx]),
        }

    def state_dict(self) -> dict[str, Any]:
        n = self.size
        return {
            "obs": self.obs[:n].copy(),
            "act": self.act[:n].copy(),
            "reward": self.reward[:n].copy(),
            "cost": self.cost[:n].copy(),
            "next_obs": self.next_obs[:n].copy(),
            "terminated": self.terminated[:n].copy(),
            "ptr": self.ptr,
            "size": n,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n = state["size"]
        for name in ("obs", "act", "reward", "cost", "next_obs", "terminated"):
            getattr(self, name)[:n] = state[name]
        self.ptr, self.size = state["ptr"], n

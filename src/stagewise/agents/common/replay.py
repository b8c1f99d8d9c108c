"""Experience replay: a fixed-capacity ring buffer of transitions in NumPy arrays.

Shared by the off-policy agents (DQN, DDPG, DDPG-Lag, DAH-DDPG). A transition is
``(obs, action, reward, cost, next_obs, done)`` plus, when the buffer is built
with ``n_actions``, the feasibility mask of the *next* state's discrete actions
(used by DQN to restrict the max in its target to feasible actions). ``cost`` is
a scalar or, with ``cost_shape=(k,)``, one entry per constraint family.

``done`` means *terminated* (no bootstrapping from ``next_obs``); a time-limit
truncation is stored with ``done=False`` so the target still bootstraps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_FIELDS = ("obs", "action", "reward", "cost", "next_obs", "done", "next_action_mask")


@dataclass
class ReplayBatch:
    """A minibatch; every array has the batch axis first."""

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    cost: np.ndarray
    next_obs: np.ndarray
    done: np.ndarray
    next_action_mask: np.ndarray | None


class ReplayBuffer:
    """Ring buffer holding the last ``capacity`` transitions.

    Args:
        capacity: maximum number of transitions; the oldest is overwritten first.
        obs_shape: shape of one observation.
        action_shape: shape of one action (``()`` for a discrete action).
        action_dtype: ``np.int64`` for discrete actions, ``np.float32`` for continuous ones.
        n_actions: if given, also store the next state's action mask (``[n_actions]`` bool).
        obs_dtype: dtype of stored observations.
        cost_shape: shape of one transition's cost (``()``: a scalar; ``(k,)``: per family).
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        action_shape: tuple[int, ...] = (),
        action_dtype: Any = np.float32,
        n_actions: int | None = None,
        obs_dtype: Any = np.float32,
        cost_shape: tuple[int, ...] = (),
    ):
        if capacity < 1:
            raise ValueError(f"replay buffer capacity must be >= 1, got {capacity}")
        if n_actions is not None and n_actions < 1:
            raise ValueError(f"n_actions must be >= 1 when given, got {n_actions}")
        self.capacity = int(capacity)
        self.obs_shape = tuple(obs_shape)
        self.action_shape = tuple(action_shape)
        self.n_actions = n_actions
        self.obs = np.zeros((capacity, *self.obs_shape), dtype=obs_dtype)
        self.next_obs = np.zeros((capacity, *self.obs_shape), dtype=obs_dtype)
        self.action = np.zeros((capacity, *self.action_shape), dtype=action_dtype)
        self.reward = np.zeros(capacity, dtype=np.float32)
        self.cost = np.zeros((capacity, *cost_shape), dtype=np.float32)
        self.done = np.zeros(capacity, dtype=bool)
        self.next_action_mask = (
            np.ones((capacity, n_actions), dtype=bool) if n_actions is not None else None
        )
        self.pos = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(
        self,
        obs: np.ndarray,
        action: Any,
        reward: float,
        cost: float,
        next_obs: np.ndarray,
        done: bool,
        next_action_mask: np.ndarray | None = None,
    ) -> None:
        """Store one transition (overwriting the oldest once full)."""
        obs = np.asarray(obs)
        action = np.asarray(action)
        if obs.shape != self.obs_shape:
            raise ValueError(f"observation shape {obs.shape} != buffer's {self.obs_shape}")
        if action.shape != self.action_shape:
            raise ValueError(f"action shape {action.shape} != buffer's {self.action_shape}")
        i = self.pos
        self.obs[i] = obs
        self.action[i] = action
        self.reward[i] = reward
        self.cost[i] = cost
        self.next_obs[i] = next_obs
        self.done[i] = done
        if self.next_action_mask is not None:
            self.next_action_mask[i] = True if next_action_mask is None else next_action_mask
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def add_batch(
        self,
        obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        cost: np.ndarray,
        next_obs: np.ndarray,
        done: np.ndarray,
    ) -> None:
        """Store ``n`` transitions given with a leading axis ``n``, in order (as ``n`` adds)."""
        n = len(reward)
        rows = (self.pos + np.arange(n)) % self.capacity
        last = slice(max(0, n - self.capacity), n)  # a batch larger than the buffer keeps its end
        rows = rows[last]
        self.obs[rows] = np.reshape(obs, (n, *self.obs_shape))[last]
        self.action[rows] = np.reshape(action, (n, *self.action_shape))[last]
        self.reward[rows] = np.asarray(reward)[last]
        self.cost[rows] = np.reshape(cost, (n, *self.cost.shape[1:]))[last]
        self.next_obs[rows] = np.reshape(next_obs, (n, *self.obs_shape))[last]
        self.done[rows] = np.asarray(done)[last]
        if self.next_action_mask is not None:
            self.next_action_mask[rows] = True
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> ReplayBatch:
        """``batch_size`` transitions drawn uniformly with replacement using ``rng``."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = rng.integers(0, self.size, size=batch_size)
        # np.take: the same rows as fancy indexing, several times faster on 2-D arrays

        def rows(array: np.ndarray) -> np.ndarray:
            return np.take(array, idx, axis=0)

        return ReplayBatch(
            obs=rows(self.obs),
            action=rows(self.action),
            reward=rows(self.reward),
            cost=rows(self.cost),
            next_obs=rows(self.next_obs),
            done=rows(self.done),
            next_action_mask=None if self.next_action_mask is None else rows(self.next_action_mask),
        )

    def state_dict(self) -> dict[str, Any]:
        """The filled part of the buffer and its write position, for checkpoints."""
        arrays = {
            name: getattr(self, name)[: self.size].copy()
            for name in _FIELDS
            if getattr(self, name) is not None
        }
        return {"capacity": self.capacity, "pos": self.pos, "size": self.size, **arrays}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved (into a buffer of the same layout)."""
        if state["capacity"] != self.capacity:
            raise ValueError(
                f"checkpointed buffer capacity {state['capacity']} != this buffer's {self.capacity}"
            )
        size = int(state["size"])
        for name in _FIELDS:
            target = getattr(self, name)
            if target is None:
                continue
            if name not in state:
                raise ValueError(f"checkpointed replay buffer has no {name!r} field")
            saved = np.asarray(state[name])
            if saved.shape[1:] != target.shape[1:] or saved.shape[0] != size:
                raise ValueError(
                    f"checkpointed {name!r} has shape {saved.shape}, expected "
                    f"({size}, {', '.join(map(str, target.shape[1:]))})"
                )
            target[:size] = saved
        self.size = size
        self.pos = int(state["pos"])

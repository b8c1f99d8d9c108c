"""Policies and their evaluation.

Learned agents, replayed optimal plans, dynamic-programming policies and rule
baselines all implement :class:`Policy`, so one :func:`evaluate` measures them
alike. Episode ``k`` of an evaluation uses seed ``seed + k``: two policies
evaluated with the same seed face the same random draws wherever their
decisions do not change what is drawn (common random numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from stagewise.core.safety import PROJECTION


@runtime_checkable
class Policy(Protocol):
    """Chooses actions in an environment's action space."""

    def reset(self, env: gym.Env) -> None:
        """Called at the start of each episode with the environment it will act in."""

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        """The action for observation ``obs``; ``info`` is the last ``reset``/``step`` info."""


class RandomPolicy:
    """Uniform random actions from the action space (its own seeded generator)."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self._space: gym.Space | None = None
        self._episodes = 0

    def reset(self, env: gym.Env) -> None:
        self._space = env.action_space
        self._space.seed(self.seed + self._episodes)
        self._episodes += 1

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        assert self._space is not None, "reset() first"
        return self._space.sample()


@dataclass
class EpisodeRecord:
    """Totals of one episode (undiscounted sums of per-step values)."""

    reward: float
    cost: float
    costs: dict[str, float]
    reward_terms: dict[str, float]
    length: int


@dataclass
class Evaluation:
    """Per-episode records and their aggregates."""

    episodes: list[EpisodeRecord] = field(default_factory=list)

    def _values(self, pick: Callable[[EpisodeRecord], float]) -> np.ndarray:
        return np.array([pick(e) for e in self.episodes], dtype=np.float64)

    def summary(self) -> dict[str, Any]:
        """Mean, standard deviation and standard error of reward and cost, per family too,
        the constraint cost (the cost apart from a safety layer's projection distance, which
        moves a decision but breaks no constraint) and the mean of each reward term."""
        rewards = self._values(lambda e: e.reward)
        costs = self._values(lambda e: e.cost)
        constraint = self._values(lambda e: e.cost - e.costs.get(PROJECTION, 0.0))
        n = max(len(self.episodes), 1)
        families = sorted({k for e in self.episodes for k in e.costs})
        per_family = {
            fam: {
                "mean": float(self._values(lambda e, f=fam: e.costs.get(f, 0.0)).mean()),
                "std": float(self._values(lambda e, f=fam: e.costs.get(f, 0.0)).std()),
            }
            for fam in families
        }
        terms = sorted({k for e in self.episodes for k in e.reward_terms})
        reward_terms = {
            term: float(self._values(lambda e, k=term: e.reward_terms.get(k, 0.0)).mean())
            for term in terms
        }
        return {
            "episodes": len(self.episodes),
            "reward_mean": float(rewards.mean()) if rewards.size else float("nan"),
            "reward_std": float(rewards.std()) if rewards.size else float("nan"),
            "reward_se": float(rewards.std(ddof=1) / np.sqrt(n)) if rewards.size > 1 else 0.0,
            "cost_mean": float(costs.mean()) if costs.size else float("nan"),
            "cost_std": float(costs.std()) if costs.size else float("nan"),
            "constraint_cost_mean": float(constraint.mean()) if costs.size else float("nan"),
            "constraint_cost_std": float(constraint.std()) if costs.size else float("nan"),
            "costs": per_family,
            "reward_terms": reward_terms,
        }


def run_episode(policy: Policy, env: gym.Env, seed: int | None = None) -> EpisodeRecord:
    """Play one episode of ``policy`` in ``env`` from ``reset(seed=seed)``."""
    obs, info = env.reset(seed=seed)
    policy.reset(env)
    total_reward, total_cost, length = 0.0, 0.0, 0
    costs: dict[str, float] = {}
    terms: dict[str, float] = {}
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy.act(obs, info))
        total_reward += float(reward)
        total_cost += float(info.get("cost", 0.0))
        for k, v in info.get("costs", {}).items():
            costs[k] = costs.get(k, 0.0) + float(v)
        for k, v in info.get("reward_terms", {}).items():
            terms[k] = terms.get(k, 0.0) + float(v)
        length += 1
        done = terminated or truncated
    return EpisodeRecord(total_reward, total_cost, costs, terms, length)


def evaluate(
    policy: Policy,
    env: gym.Env,
    episodes: int = 100,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Evaluation:
    """Run ``episodes`` episodes (episode ``k`` from seed ``seed + k``)."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    result = Evaluation()
    for k in range(episodes):
        result.episodes.append(run_episode(policy, env, seed + k))
        if progress is not None:
            progress(1)
    return result

"""Side-by-side evaluation of policies on common random numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from stagewise.core.policy import Evaluation, Policy, evaluate


@dataclass
class Entry:
    """One policy's evaluation and the time it took to obtain the policy."""

    name: str
    evaluation: Evaluation
    seconds: float

    @property
    def rewards(self) -> np.ndarray:
        return np.array([e.reward for e in self.evaluation.episodes])


def evaluate_all(
    policies: dict[str, tuple[Policy, float]],
    env_fn: Callable[[], gym.Env],
    episodes: int,
    seed: int,
    advance: Callable[[int], None] | None = None,
) -> list[Entry]:
    """Evaluate each ``name -> (policy, seconds)`` on episodes ``seed .. seed+episodes-1``."""
    return [
        Entry(name, evaluate(policy, env_fn(), episodes, seed, advance), seconds)
        for name, (policy, seconds) in policies.items()
    ]


def comparison_rows(entries: list[Entry], reference: Entry, optimum: float) -> list[dict[str, Any]]:
    """Table rows: mean reward with its standard error, and the gap to the optimum.

    ``reference`` is the optimal policy's evaluation. The gap is measured on
    the paired per-episode differences to it (same seeds, so same draws),
    whose standard error is far smaller than either mean's, and expressed as
    a percentage of ``optimum`` (the optimizer's exact expected value).
    """
    rows = []
    for entry in entries:
        summary = entry.evaluation.summary()
        diff = reference.rewards - entry.rewards
        se_diff = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else 0.0
        rows.append(
            {
                "policy": entry.name,
                "expected reward": summary["reward_mean"],
                "s.e.": summary["reward_se"],
                "gap to optimum %": 100.0 * float(diff.mean()) / abs(optimum),
                "gap s.e. %": 100.0 * se_diff / abs(optimum),
                "cost mean": summary["cost_mean"],
                "time (s)": entry.seconds,
            }
        )
    return rows

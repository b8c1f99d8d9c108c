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


def gap_percent(reference: float, value: float) -> float | None:
    """Gap to the optimum in percent: ``100 (R_ref - R) / |R_ref|``.

    The one definition stagewise uses everywhere (demo, ``evaluate``, ``report``):
    ``R_ref`` is the optimal policy's mean reward and ``R`` the policy's, both
    sample means over the same episodes (common random numbers), so a policy that
    earns nothing (reward 0) is 100 % from the optimum. ``None`` when ``R_ref`` is 0.
    """
    if reference == 0.0:
        return None
    return 100.0 * (reference - value) / abs(reference)


def comparison_rows(entries: list[Entry], reference: Entry) -> list[dict[str, Any]]:
    """Table rows: sampled mean reward with its standard error, and the gap to the optimum.

    ``reference`` is the optimal policy's evaluation. The gap (:func:`gap_percent`) is
    measured on the paired per-episode differences to it (same seeds, so same draws),
    whose standard error is far smaller than either mean's.
    """
    ref_mean = float(reference.rewards.mean())
    rows = []
    for entry in entries:
        summary = entry.evaluation.summary()
        diff = reference.rewards - entry.rewards
        se_diff = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else 0.0
        gap = gap_percent(ref_mean, ref_mean - float(diff.mean()))
        rows.append(
            {
                "policy": entry.name,
                "sampled mean reward": summary["reward_mean"],
                "s.e.": summary["reward_se"],
                "gap to optimum %": gap,
                "gap s.e. %": None if gap is None else 100.0 * se_diff / abs(ref_mean),
                "cost mean": summary["cost_mean"],
                "time (s)": entry.seconds,
            }
        )
    return rows

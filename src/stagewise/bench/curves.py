"""Training curves from ``progress.csv``, whichever agent wrote it.

On- and off-policy agents log ``steps``, ``ep_reward_mean`` and ``ep_cost_mean``
per epoch; DQN logs ``step``, ``episode_return_mean`` and ``episode_cost_mean``;
DAH-DDPG logs ``step`` and ``train_return_mean``. :func:`training_curve` reads
any of them as arrays of steps, episode reward and episode cost (NaN where a
row has no episode or the agent logs no cost).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

STEP_COLUMNS = ("steps", "step")
REWARD_COLUMNS = ("ep_reward_mean", "episode_return_mean", "train_return_mean")
COST_COLUMNS = ("ep_cost_mean", "episode_cost_mean")


@dataclass(frozen=True)
class Curve:
    """One run's training curve: environment steps and per-episode reward and cost means."""

    steps: np.ndarray
    reward: np.ndarray
    cost: np.ndarray

    def final(self) -> tuple[float, float]:
        """The last logged episode reward and cost (the paper's "training result")."""
        reward = self.reward[np.isfinite(self.reward)]
        cost = self.cost[np.isfinite(self.cost)]
        return (
            float(reward[-1]) if reward.size else float("nan"),
            float(cost[-1]) if cost.size else float("nan"),
        )


def training_curve(progress: str | Path) -> Curve | None:
    """The curve in ``progress`` (``None`` if the file is missing, empty or unknown)."""
    path = Path(progress)
    if not path.is_file():
        return None
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return None
    step = _first_column(rows[0], STEP_COLUMNS)
    reward = _first_column(rows[0], REWARD_COLUMNS)
    if step is None or reward is None:
        return None
    cost = _first_column(rows[0], COST_COLUMNS)
    return Curve(
        steps=np.array([_number(r[step]) for r in rows]),
        reward=np.array([_number(r[reward]) for r in rows]),
        cost=np.array([_number(r[cost]) if cost else np.nan for r in rows]),
    )


def _first_column(row: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((name for name in names if name in row), None)


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else float("nan")
    except ValueError:
        return float("nan")

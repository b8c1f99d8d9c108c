"""Monte-Carlo value of a capacity-expansion policy on the native vector environment."""

from __future__ import annotations

from typing import Any

import numpy as np

from stagewise.core.config import load_config
from stagewise.problems.capacity_expansion.baselines import StatePolicy
from stagewise.problems.capacity_expansion.config import CapacityExpansionConfig
from stagewise.problems.capacity_expansion.env import CapacityExpansionEnv


def monte_carlo_value(
    policy: StatePolicy, config: Any = None, paths: int = 100_000, seed: int = 0
) -> tuple[float, float]:
    """Mean and standard error of the profit (sum of rewards) over ``paths`` simulated paths.

    Runs ``paths`` episodes at once in ``CapacityExpansionEnv.make_vector``
    (``"discrete"`` mode). The draws depend only on ``seed`` (never on the
    decisions), so two policies evaluated with the same seed face the same
    price and demand paths (common random numbers).
    """
    if not hasattr(policy, "decide"):
        raise TypeError(
            f"monte_carlo_value needs a batched policy with decide(t, price, demand, capacity); "
            f"got {type(policy).__name__}"
        )
    if isinstance(paths, bool) or not isinstance(paths, int) or paths < 2:
        raise ValueError(f"paths must be an integer >= 2, got {paths!r}")
    cfg = load_config(CapacityExpansionConfig, config)
    venv = CapacityExpansionEnv.make_vector(paths, cfg, action_mode="discrete")
    _, infos = venv.reset(seed=seed)
    profit = np.zeros(paths)
    for t in range(1, cfg.T + 1):
        state = infos["state"]
        units = policy.decide(t, state["price"], state["demand"], state["capacity"])
        _, reward, terminated, _, infos = venv.step(np.asarray(units, dtype=np.int64))
        profit += reward
    if not terminated.all():
        raise RuntimeError("episodes did not end after T stages")
    return float(profit.mean()), float(profit.std(ddof=1) / np.sqrt(paths))

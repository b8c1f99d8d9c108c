"""``stagewise demo``: the exact optimum against a learning agent on the default instance.

On capacity expansion (K = 2, T = 3, Eq. 10) it solves the stochastic DP,
trains DQN briefly, evaluates both (and the never-expand baseline) on the same
Monte-Carlo episodes, prints the comparison and writes the DP policy maps.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import gymnasium as gym
from rich.console import Console
from rich.table import Table

from stagewise.agents import get_agent
from stagewise.bench.compare import comparison_rows, evaluate_all
from stagewise.problems.capacity_expansion.baselines import never_expand
from stagewise.problems.capacity_expansion.config import CapacityExpansionConfig
from stagewise.problems.capacity_expansion.dp import solve
from stagewise.problems.capacity_expansion.plots import plot_policy_maps

ENV_ID = "stagewise/CapacityExpansion-v0"
ProgressBar = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]


def run_demo(
    out: Path,
    episodes: int,
    console: Console,
    progress_bar: ProgressBar,
    seed: int = 0,
    steps: int | None = None,
) -> list[dict[str, Any]]:
    """Run the demo, print the table, write ``out/demo.json`` and the policy maps.

    ``steps`` overrides DQN's training budget (its default suits K = 2, T = 3).
    """
    config = CapacityExpansionConfig()
    out.mkdir(parents=True, exist_ok=True)
    with console.status("exact stochastic DP ..."):
        solution = solve(config)
    console.print(
        f"DP optimum {solution.objective:.4f} (exact expected value) in "
        f"{solution.solve_time:.2f} s (K={config.K}, T={config.T})"
    )

    dqn = get_agent("dqn")
    settings = dqn.config(seed=seed, **({} if steps is None else {"total_steps": steps}))
    start = time.perf_counter()
    with progress_bar("train DQN", settings.total_steps) as advance:
        learned = dqn.train(
            lambda: gym.make(ENV_ID, config=config, action_mode="discrete"),
            settings,
            out / "dqn",
            progress=advance,
        )
    train_seconds = time.perf_counter() - start

    def env_fn() -> gym.Env:
        return gym.make(ENV_ID, config=config, action_mode="discrete")

    policies = {
        "exact DP": (solution.policy, solution.solve_time),
        "DQN": (learned, train_seconds),
        "never expand": (never_expand(env_fn()), 0.0),
    }
    with progress_bar("evaluate (common random numbers)", episodes * len(policies)) as advance:
        entries = evaluate_all(policies, env_fn, episodes, seed=10_000, advance=advance)
    rows = comparison_rows(entries, reference=entries[0])

    table = Table(
        title=f"capacity expansion K={config.K} T={config.T}: sampled means over {episodes} "
        "episodes (the exact DP row estimates the exact optimum above)"
    )
    for key in rows[0]:
        table.add_column(key)
    for row in rows:
        table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()))
    console.print(table)
    for path in plot_policy_maps(solution, config, out / "policy_maps"):
        console.print(f"wrote {path}")
    payload = {"config": config.model_dump(), "dp_objective": solution.objective, "rows": rows}
    (out / "demo.json").write_text(json.dumps(payload, indent=2))
    console.print(f"wrote {out / 'demo.json'}")
    return rows

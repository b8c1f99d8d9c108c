"""Figures of a benchmark report: per case, the evaluation bars (reward with the optimum,
cost on a symmetric-log axis so a random policy's thousands do not hide the agents' tens,
gap to the optimum) and the training curves (mean and one-std band over seeds per agent,
as the SafeOR-Gym paper's Figure 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from stagewise.bench.curves import Curve

GRID_POINTS = 100  # steps at which the seeds' curves are interpolated and averaged


def plot_case(case: str, rows: list[dict[str, Any]], path: Path) -> Path:
    """Evaluation reward (error bar: std over seeds x episodes), cost and gap per method."""
    names = [r["method"] for r in rows]
    fig, (reward_ax, cost_ax, gap_ax) = plt.subplots(1, 3, figsize=(15, 4.2))
    reward_ax.bar(names, [r["reward mean"] for r in rows], yerr=[r["reward std"] for r in rows])
    optimum = next((r["reward mean"] for r in rows if r["method"] == "optimal"), None)
    if optimum is not None:
        reward_ax.axhline(optimum, color="black", linestyle="--", linewidth=1, label="optimal")
        reward_ax.legend(loc="best")
    reward_ax.set_title("evaluation reward")
    plot_costs(cost_ax, names, np.array([r["cost mean"] for r in rows]))
    gaps = [r.get("gap to optimum %") for r in rows]
    if any(g is not None for g in gaps):
        gap_ax.bar(names, [g if g is not None else 0.0 for g in gaps], color="tab:gray")
        gap_ax.set_title("gap to the optimum (%)")
    else:
        gap_ax.text(0.5, 0.5, "no optimum in this folder", ha="center", transform=gap_ax.transAxes)
        gap_ax.set_yticks([])
    for ax in (reward_ax, cost_ax, gap_ax):
        ax.tick_params(axis="x", rotation=30)
    fig.suptitle(case)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_costs(ax: plt.Axes, names: list[str], costs: np.ndarray) -> None:
    """The cost panel: a symmetric-log axis, or, when every cost is 0, a linear axis
    that says so instead of an empty log scale."""
    ax.bar(names, costs, color="tab:red")
    ax.set_title("constraint cost per episode")
    if costs.any():
        ax.set_yscale("symlog", linthresh=1.0)
    else:
        ax.text(0.5, 0.5, "every method: cost 0", ha="center", transform=ax.transAxes)
        ax.set_yticks([])


def plot_training(case: str, curves: dict[str, list[Curve]], path: Path) -> Path:
    """Training reward and cost against environment steps, mean +- one std over seeds."""
    fig, (reward_ax, cost_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    for method, runs in sorted(curves.items()):
        if not runs:
            continue
        for ax, field in ((reward_ax, "reward"), (cost_ax, "cost")):
            steps, mean, std = _band(runs, field)
            if steps is None:
                continue
            (line,) = ax.plot(steps, mean, label=f"{method} ({len(runs)} seeds)")
            ax.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    reward_ax.set_title("training episode reward")
    cost_ax.set_title("training episode cost")
    for ax in (reward_ax, cost_ax):
        ax.set_xlabel("environment steps")
        if ax.has_data():
            ax.legend(loc="best", fontsize="small")
    fig.suptitle(f"{case}: training")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _band(runs: list[Curve], field: str) -> tuple[Any, Any, Any]:
    """Mean and std over seeds of ``field`` on a common step grid (``None`` if empty)."""
    series = []
    for curve in runs:
        values = getattr(curve, field)
        keep = np.isfinite(values) & np.isfinite(curve.steps)
        if keep.sum() >= 1:
            series.append((curve.steps[keep], values[keep]))
    if not series:
        return None, None, None
    last = min(s[-1] for s, _ in series)
    first = max(s[0] for s, _ in series)
    grid = np.linspace(first, max(last, first), GRID_POINTS)
    stacked = np.stack([np.interp(grid, s, v) for s, v in series])
    return grid, stacked.mean(axis=0), stacked.std(axis=0)

"""Turn a run folder into tables (Markdown, CSV) and plots (PNG).

Reads every ``evaluation.json`` below the folder, groups them by problem and
method (agent or baseline policy), aggregates over seeds, and puts each method
beside the ``optimal`` baseline when there is one: gap to the optimum in
percent and mean constraint cost per episode.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from stagewise.bench.compare import gap_percent
from stagewise.bench.grid import EVALUATION
from stagewise.core.files import read_json

REFERENCE = "optimal"


def collect(root: Path) -> list[dict[str, Any]]:
    """Every evaluation record below ``root``."""
    if not root.is_dir():
        raise ValueError(f"{root} is not a directory of runs")
    records = [read_json(p, "evaluation record") for p in sorted(root.rglob(EVALUATION))]
    if not records:
        raise ValueError(f"no {EVALUATION} below {root}: run `stagewise bench` first")
    return records


def summarize(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (problem, method): means and spreads over seeds, gap to the optimum."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[(r["problem"], r["method"])].append(r)
    optimum = {p: rs[0]["reward_mean"] for (p, m), rs in groups.items() if m == REFERENCE}
    rows = []
    for (problem, method), rs in sorted(groups.items()):
        rewards = np.array([r["reward_mean"] for r in rs])
        costs = np.array([r["cost_mean"] for r in rs])
        ref = optimum.get(problem)
        gap = None if ref is None else gap_percent(ref, float(rewards.mean()))
        rows.append(
            {
                "problem": problem,
                "method": method,
                "runs": len(rs),
                "reward mean": float(rewards.mean()),
                "reward std over seeds": float(rewards.std()),
                "gap to optimum %": gap,
                "cost mean": float(costs.mean()),
                "episodes per run": rs[0]["episodes"],
                "time (s)": float(np.mean([r["seconds"] for r in rs])),
            }
        )
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.5g}"
    return str(value)


def to_markdown(rows: list[dict[str, Any]]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_cell(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], out: Path) -> list[Path]:
    """A bar chart of reward (error bar: std over seeds) and cost per method, per problem."""
    paths = []
    for problem in sorted({r["problem"] for r in rows}):
        mine = [r for r in rows if r["problem"] == problem]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        names = [r["method"] for r in mine]
        left.bar(
            names, [r["reward mean"] for r in mine], yerr=[r["reward std over seeds"] for r in mine]
        )
        left.set_title("expected reward")
        costs = [r["cost mean"] for r in mine]
        right.bar(names, costs, color="tab:red")
        right.set_title("constraint cost per episode")
        if not any(costs):
            right.text(0.5, 0.5, "every method: cost 0", ha="center", transform=right.transAxes)
            right.set_ylim(0.0, 1.0)
        for ax in (left, right):
            ax.tick_params(axis="x", rotation=30)
        fig.suptitle(problem)
        fig.tight_layout()
        path = out / f"{problem}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def write_report(root: Path, out: Path | None = None) -> tuple[list[dict[str, Any]], list[Path]]:
    """Write ``report.md``, ``report.csv`` and one PNG per problem; return rows and paths."""
    out = out or root
    out.mkdir(parents=True, exist_ok=True)
    rows = summarize(collect(root))
    (out / "report.md").write_text(to_markdown(rows))
    with (out / "report.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows, [out / "report.md", out / "report.csv", *plot(rows, out)]

"""``stagewise report``: tables and figures of a benchmark folder.

Reads every ``evaluation.json`` (and ``failed.json``) below the folder and writes, per
case study (a grid's problem entry): the optimum, every method's evaluation reward and
cost (mean and spread over seeds x evaluation episodes), the gap to the optimum, the cost
of each constraint family, training budget and cost limit, wall and CPU seconds of
training (or solving) and evaluation apart, the paper's best and worst agent by its own
rules (:mod:`stagewise.bench.paper`) with the train/evaluation-gap flags, and the
paper's numbers beside ours. Outputs: ``report.md``, ``report.csv``, ``report.tex`` and,
per case, ``<case>.png`` (reward, cost, gap) and ``<case>_training.png`` (curves).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from stagewise.bench.compare import gap_percent
from stagewise.bench.curves import training_curve
from stagewise.bench.figures import plot_case, plot_training
from stagewise.bench.jobs import EVALUATION, FAILED
from stagewise.bench.paper import best, paper_case, paper_results, significant_gap, worst
from stagewise.core.files import read_json, write_text_atomic

REFERENCES = ("clairvoyant", "optimal")  # the per-episode bound first, where a grid has it
AGENT_KINDS = {"agent"}


def collect(root: Path) -> list[dict[str, Any]]:
    """Every evaluation record below ``root`` (with ``run_dir``), failed runs included."""
    if not root.is_dir():
        raise ValueError(f"{root} is not a directory of runs")
    records = []
    for path in sorted(root.rglob(EVALUATION)):
        records.append({**read_json(path, "evaluation record"), "run_dir": str(path.parent)})
    for path in sorted(root.rglob(FAILED)):
        if not (path.parent / EVALUATION).exists():
            records.append(_failed_record(path, root))
    if not any(r.get("kind") != "failed" for r in records):
        raise ValueError(f"no {EVALUATION} below {root}: run `stagewise bench` first")
    return records


def _failed_record(path: Path, root: Path) -> dict[str, Any]:
    parts = path.parent.relative_to(root).parts
    case, method = (parts[0], parts[1]) if len(parts) >= 2 else (parts[0], parts[0])
    error = read_json(path, "failure record").get("error", "")
    return {"case": case, "problem": case, "method": method, "kind": "failed", "error": error}


def summarize(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (case, method), agents judged by the paper's rules within each case."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[(r.get("case", r["problem"]), r["method"])].append(r)
    rows = [_row(case, method, rs) for (case, method), rs in sorted(groups.items())]
    for case in {row["case"] for row in rows}:
        mine = [row for row in rows if row["case"] == case]
        _judge(mine)
    return rows


def _row(case: str, method: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    done = [r for r in records if r.get("kind") in ("agent", "baseline")]
    failed = [r for r in records if r.get("kind") == "failed"]
    unsupported = [r for r in records if r.get("kind") == "unsupported"]
    row: dict[str, Any] = {
        "case": case,
        "problem": records[0].get("problem", case),
        "method": method,
        "kind": done[0]["kind"] if done else records[0].get("kind"),
        "runs": len(done),
        "failed runs": len(failed),
        "note": unsupported[0]["reason"] if unsupported else (failed[0]["error"] if failed else ""),
    }
    if not done:
        return row
    rewards = np.array([r["reward_mean"] for r in done])
    cost = _cost_key(done)
    costs = np.array([r[f"{cost}_mean"] for r in done])
    row |= {
        "steps": done[0].get("steps"),
        "cost limit": done[0].get("cost_limit"),
        "reward mean": float(rewards.mean()),
        "reward std": _pooled_std(done, "reward"),
        "reward std over seeds": float(rewards.std()),
        "cost mean": float(costs.mean()),
        "cost std": _pooled_std(done, cost),
        "episodes per run": done[0]["episodes"],
        "train s": _mean(done, "train_seconds", "seconds"),
        "train CPU s": _mean(done, "train_cpu_seconds"),
        "eval s": _mean(done, "eval_seconds"),
        "train reward": _mean(done, "train_final_reward"),
        "train cost": _mean(done, "train_final_cost"),
        "run_dirs": [r["run_dir"] for r in done if "run_dir" in r],
    }
    families = sorted({f for r in done for f in r.get("costs", {})})
    for family in families:
        row[f"cost {family}"] = float(
            np.mean([r.get("costs", {}).get(family, {}).get("mean", 0.0) for r in done])
        )
    return row


def _cost_key(records: list[dict[str, Any]]) -> str:
    """``constraint_cost``: the cost apart from a safety layer's projection distance (its
    own column), where every record has it; else ``cost`` (records written before it)."""
    return "constraint_cost" if all("constraint_cost_mean" in r for r in records) else "cost"


def _pooled_std(records: list[dict[str, Any]], what: str) -> float:
    """Standard deviation over every evaluation episode of every run (seeds x episodes)."""
    means = np.array([r[f"{what}_mean"] for r in records])
    stds = np.array([r[f"{what}_std"] for r in records])
    return float(np.sqrt(max(np.mean(stds**2 + means**2) - means.mean() ** 2, 0.0)))


def _mean(records: list[dict[str, Any]], key: str, fallback: str | None = None) -> float | None:
    values = [r.get(key, r.get(fallback) if fallback else None) for r in records]
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else None


def _judge(rows: list[dict[str, Any]]) -> None:
    """Gap to the optimum, the paper's best/worst among agents, train/evaluation flags."""
    reference = next(
        (r for name in REFERENCES for r in rows if r["method"] == name and r["runs"]), None
    )
    optimum = None if reference is None else reference["reward mean"]
    agents = {
        r["method"]: (r["reward mean"], r["cost mean"])
        for r in rows
        if r["kind"] in AGENT_KINDS and r["runs"]
    }
    best_agents, worst_agents = best(agents), worst(agents) if len(agents) > 1 else []
    for row in rows:
        if not row["runs"]:
            row["gap to optimum %"] = None
            continue
        row["gap to optimum %"] = (
            None if optimum is None else gap_percent(optimum, row["reward mean"])
        )
        row["gap reference"] = None if reference is None else reference["method"]
        flags = []
        if row["method"] in best_agents:
            flags.append("best")
        if row["method"] in worst_agents:
            flags.append("worst")
        for what in ("reward", "cost"):
            train = row.get(f"train {what}")
            if train is not None and significant_gap(train, row[f"{what} mean"]):
                flags.append(f"{what} train/eval gap")
        row["flags"] = ", ".join(flags)


# ----------------------------------------------------------------- formats
def fmt(value: Any) -> str:
    """A number as the paper prints its tables: no exponent below a billion."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or (value.is_integer() and abs(value) < 1e9):
        return str(int(value))
    magnitude = abs(value)
    if magnitude >= 1e9 or (0 < magnitude < 1e-3):
        return f"{value:.3e}"
    if magnitude >= 1e4:
        return f"{value:.0f}"
    if magnitude >= 100:
        return f"{value:.2f}"
    return f"{value:.4g}"


MAIN_COLUMNS = (
    "method",
    "runs",
    "steps",
    "cost limit",
    "reward mean",
    "reward std",
    "gap to optimum %",
    "cost mean",
    "cost std",
    "train s",
    "train CPU s",
    "eval s",
    "flags",
)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return lines


def to_markdown(rows: list[dict[str, Any]], root: Path) -> str:
    lines = [f"# Benchmark report: {root}", ""]
    lines += [
        "Reward and cost: mean over seeds x evaluation episodes, std over the same. Gap to "
        "optimum: 100 (R_opt - R) / |R_opt| on sampled means, R_opt the perfect-information "
        "bound (clairvoyant) where the case has one, else the optimal policy. best / worst: "
        "the SafeOR-Gym "
        "paper's selection rules among the agents; train/eval gap: its significance flag. "
        "Cost of a `+safety` row (an agent through the safety layer): its constraint cost; "
        "the projection distance is its own column.",
        "",
    ]
    for case in sorted({r["case"] for r in rows}):
        mine = [r for r in rows if r["case"] == case]
        lines += [f"## {case}", ""]
        done = [r for r in mine if r["runs"]]
        lines += [*_table(done, list(MAIN_COLUMNS)), ""]
        families = sorted({k for r in done for k in r if k.startswith("cost ") and k != "cost std"})
        families = [k for k in families if k not in ("cost mean", "cost limit")]
        if families:
            lines += ["Cost per constraint family (mean per episode):", ""]
            lines += [*_table(done, ["method", *families]), ""]
        for r in mine:
            if r["failed runs"] or not r["runs"]:
                what = "cannot run" if r["kind"] == "unsupported" else f"{r['failed runs']} failed"
                lines.append(f"- {r['method']}: {what}: {r['note']}")
        lines += [*_paper_lines(case), ""]
    return "\n".join(lines) + "\n"


def _paper_lines(case: str) -> list[str]:
    paper = paper_case(case)
    if paper is None:
        return []
    names = paper_results()["agents"]
    lines = [
        "",
        f"Paper (Table {paper['table']}): optimal {fmt(paper['optimal'])}; "
        f"best {', '.join(paper['best'])}, worst {', '.join(paper['worst'])}.",
        "",
        "| paper algorithm (ours) | reward | cost | gap to optimal % | training hours |",
        "|---|---|---|---|---|",
    ]
    for name, result in paper["results"].items():
        gap = gap_percent(paper["optimal"], result["reward"])
        lines.append(
            f"| {name} ({names[name]}) | {fmt(result['reward'])} | {fmt(result['cost'])} | "
            f"{fmt(gap)} | {fmt(paper['hours'][name])} |"
        )
    return lines


def to_csv(rows: list[dict[str, Any]]) -> str:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys and k != "run_dirs"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def to_latex(rows: list[dict[str, Any]]) -> str:
    """One ``tabular`` per case: method, reward, cost, gap, flags (booktabs rules)."""
    out = []
    for case in sorted({r["case"] for r in rows}):
        done = [r for r in rows if r["case"] == case and r["runs"]]
        out += [
            f"% {case}",
            r"\begin{tabular}{lrrrrl}",
            r"\toprule",
            r"method & reward & $\pm$ & cost & gap (\%) & flags \\",
            r"\midrule",
        ]
        for r in done:
            cells = [
                r["method"],
                fmt(r["reward mean"]),
                fmt(r["reward std"]),
                fmt(r["cost mean"]),
                fmt(r["gap to optimum %"]),
                r.get("flags", ""),
            ]
            out.append(" & ".join(_latex_escape(c) for c in cells) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(out)


def _latex_escape(text: str) -> str:
    return re.sub(r"([%&_#$])", r"\\\1", text)


def write_report(root: Path, out: Path | None = None) -> tuple[list[dict[str, Any]], list[Path]]:
    """Write the Markdown, CSV and LaTeX tables and the PNG figures; return rows and paths."""
    out = out or root
    out.mkdir(parents=True, exist_ok=True)
    rows = summarize(collect(root))
    paths = [
        write_text_atomic(out / "report.md", to_markdown(rows, root)),
        write_text_atomic(out / "report.csv", to_csv(rows)),
        write_text_atomic(out / "report.tex", to_latex(rows)),
    ]
    for case in sorted({r["case"] for r in rows}):
        mine = [r for r in rows if r["case"] == case and r["runs"]]
        if not mine:
            continue
        paths.append(plot_case(case, mine, out / f"{case}.png"))
        curves = {
            r["method"]: [
                c for d in r["run_dirs"] if (c := training_curve(Path(d) / "progress.csv"))
            ]
            for r in mine
            if r["kind"] in AGENT_KINDS
        }
        if any(curves.values()):
            paths.append(plot_training(case, curves, out / f"{case}_training.png"))
    return rows, paths

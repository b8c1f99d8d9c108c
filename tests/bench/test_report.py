"""`stagewise report` on a fixture run folder: per-case tables with gaps, the paper's rules,
per-family costs, failed and unsupported runs, the paper's numbers, LaTeX and figures."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from stagewise.bench.figures import plot_costs
from stagewise.bench.report import fmt, write_report

EVALUATION = {"episodes": 10, "seed": 100}


def run(root: Path, case: str, method: str, seed: int | None, reward: float, cost: float) -> None:
    folder = root / case / method / (f"seed{seed}" if seed is not None else "")
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "problem": "gtep",
        "case": case,
        "method": method,
        "kind": "agent" if seed is not None else "baseline",
        "seed": seed,
        "evaluation": EVALUATION,
        "episodes": 10,
        "reward_mean": reward,
        "reward_std": 2.0,
        "reward_se": 0.6,
        "cost_mean": cost,
        "cost_std": 1.0,
        "costs": {"demand_balance": {"mean": cost, "std": 1.0}, "action_range": {"mean": 0.0}},
        "reward_terms": {},
        "train_seconds": 30.0,
        "train_cpu_seconds": 29.0,
        "eval_seconds": 0.5,
        "steps": 100_000 if seed is not None else None,
        "cost_limit": 1.0 if seed is not None else None,
        "train_final_reward": reward - 1.0,
        "train_final_cost": cost,
    }
    (folder / "evaluation.json").write_text(json.dumps(record))
    if seed is not None:
        rows = ["epoch,steps,episodes,ep_reward_mean,ep_cost_mean"]
        rows += [f"{k},{k * 1000},100,{reward - 50 + 5 * k},{cost + 10 - k}" for k in range(1, 11)]
        (folder / "progress.csv").write_text("\n".join(rows) + "\n")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "exp"
    run(root, "gtep", "optimal", None, -267.7, 0.0)
    run(root, "gtep", "random", None, -5000.0, 8866.0)
    for seed in (0, 1):
        run(root, "gtep", "crpo", seed, -290.0 - seed, 0.0)
        run(root, "gtep", "cpo", seed, -280.0, 30.0 + seed)
        run(root, "gtep", "ddpg-lag", seed, -20.0, 600_000.0)
    failed = root / "gtep" / "p3o" / "seed0"
    failed.mkdir(parents=True)
    (failed / "failed.json").write_text(json.dumps({"job": "gtep/p3o/seed0", "error": "boom"}))
    unsupported = root / "gtep" / "dqn"
    unsupported.mkdir(parents=True)
    (unsupported / "evaluation.json").write_text(
        json.dumps(
            {
                "problem": "gtep",
                "case": "gtep",
                "method": "dqn",
                "kind": "unsupported",
                "reason": "dqn needs discrete actions; gtep offers box",
            }
        )
    )
    return root


def test_report_tables_judge_agents_by_the_papers_rules(folder: Path) -> None:
    rows, paths = write_report(folder)
    by = {r["method"]: r for r in rows}
    assert by["crpo"]["flags"] == "best"  # cost 0; cpo's 30.5 exceeds the 25 allowance
    assert "worst" in by["ddpg-lag"]["flags"]
    assert by["crpo"]["gap to optimum %"] == pytest.approx(100 * (290.5 - 267.7) / 267.7)
    assert by["crpo"]["runs"] == 2 and by["p3o"]["failed runs"] == 1
    assert by["cpo"]["cost demand_balance"] == pytest.approx(30.5)
    assert by["crpo"]["steps"] == 100_000 and by["crpo"]["cost limit"] == 1.0
    # std over seeds x episodes: within-run 2.0 and means -290, -291
    assert by["crpo"]["reward std"] == pytest.approx((4.0 + 0.25) ** 0.5)
    report = (folder / "report.md").read_text()
    assert "| crpo | 2 | 100000 | 1 | -290.50 |" in report
    assert "cost demand_balance" in report and "- p3o: 1 failed: boom" in report
    assert "- dqn: cannot run: dqn needs discrete actions" in report
    assert "Paper (Table 1): optimal -267.70; best OnCRPO, worst DDPGLag." in report
    assert "| OnCRPO (crpo) | -298 | 0 | 11.32 | 0.31 |" in report
    assert "-1.97e+05" not in report and "e+0" not in report.split("Paper")[0]
    assert r"\begin{tabular}" in (folder / "report.tex").read_text()
    names = {p.name for p in paths}
    assert {"gtep.png", "gtep_training.png", "report.csv"} <= names
    assert all(p.stat().st_size > 0 for p in paths)


def test_train_and_evaluation_gap_is_flagged(folder: Path) -> None:
    record = folder / "gtep" / "cpo" / "seed0" / "evaluation.json"
    data = json.loads(record.read_text())
    data["train_final_reward"] = -1000.0
    record.write_text(json.dumps(data))
    rows, _ = write_report(folder)
    assert "reward train/eval gap" in next(r for r in rows if r["method"] == "cpo")["flags"]


def test_numbers_print_without_exponents_as_the_paper_prints_them() -> None:
    assert fmt(-197258.88) == "-197259" and fmt(363.94) == "363.94" and fmt(0.04) == "0.04"
    assert fmt(None) == "-" and fmt(float("nan")) == "-" and fmt(7598.66) == "7598.66"
    assert fmt(240000) == "240000" and fmt(1800.0) == "1800" and fmt(0.5) == "0.5"


def test_the_perfect_information_bound_is_the_reference_where_a_case_has_it(folder: Path) -> None:
    run(folder, "gtep", "clairvoyant", None, -250.0, 0.0)
    rows, _ = write_report(folder)
    crpo = next(r for r in rows if r["method"] == "crpo")
    assert crpo["gap reference"] == "clairvoyant"
    assert crpo["gap to optimum %"] == pytest.approx(100 * (290.5 - 250.0) / 250.0)


def test_an_all_zero_cost_panel_says_so_on_a_linear_axis() -> None:
    fig, (zero_ax, cost_ax) = plt.subplots(1, 2)
    plot_costs(zero_ax, ["optimal", "ppo"], np.zeros(2))
    plot_costs(cost_ax, ["optimal", "ppo"], np.array([0.0, 120.0]))
    texts = [t.get_text() for t in zero_ax.texts]
    low, high = zero_ax.get_ylim()
    assert zero_ax.get_yscale() == "linear" and np.isfinite([low, high]).all() and low <= 0 < high
    assert texts == ["every method: cost 0"] and list(zero_ax.get_yticks()) == []
    assert cost_ax.get_yscale() == "symlog" and not cost_ax.texts
    plt.close(fig)

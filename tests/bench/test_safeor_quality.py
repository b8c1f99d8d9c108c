"""benchmarks/safeor_quality.py: the paper's best result per case and the cut-down grid."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import pytest

from stagewise.agents.defaults import problem_defaults
from stagewise.bench.grid import grid_jobs

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "safeor_quality.py"
NEW_PROBLEMS = ("rtn", "stn", "blending", "inventory", "grid-storage", "sched-maint", "asu")


def _script():
    spec = importlib.util.spec_from_file_location("safeor_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _args(case: str, **over) -> argparse.Namespace:
    values = {
        "case": case,
        "grid": str(ROOT / "benchmarks" / "safeor_table1.yaml"),
        "agents": ["ppo-lag"],
        "seeds": [0],
        "max_steps": None,
        "hp": [],
        "tag": None,
    }
    return argparse.Namespace(**(values | over))


@pytest.mark.parametrize(
    ("case", "algorithm", "gap"),
    [
        ("inventory", "OnCRPO", 32.55),  # 100 (11265.97 - 7598.66) / 11265.97
        ("stn", "TRPOLag", 103.12),  # the text's best, -11.34 / 71 (the rule picks DDPGLag)
        ("sched-maint", "TRPOLag", 4.154),
        ("blending", "P3O", 99.998),
    ],
)
def test_paper_target_is_the_papers_best_against_its_optimum(case, algorithm, gap) -> None:
    target = _script().paper_target(case)
    assert target["algorithm"] == algorithm
    assert target["gap"] == pytest.approx(gap, abs=5e-3)


def test_quality_grid_is_one_case_with_the_optimum_and_the_overrides(tmp_path: Path) -> None:
    grid = _script().quality_grid(_args("inventory", hp=["actor_lr=0.002"], tag="t"))
    assert grid.experiment == "quality-inventory-t" and grid.baselines == ["optimal"]
    jobs = grid_jobs(grid, tmp_path)
    train = [j for j in jobs if j.fn.__name__ == "train_and_evaluate"]
    assert [j.label for j in jobs if j not in train] == ["inventory/optimal"]
    (job,) = train
    assert job.kwargs["settings"]["actor_lr"] == 0.002
    # the grid's budget, 30,000 steps, lowered to whole 512-step epochs
    assert job.kwargs["settings"]["total_steps"] == 29696


def test_quality_grid_never_raises_the_budget() -> None:
    with pytest.raises(SystemExit, match="exceeds the budget"):
        _script().quality_grid(_args("inventory", max_steps=30001))


@pytest.mark.parametrize("problem", NEW_PROBLEMS)
def test_every_new_safeor_problem_has_scales_for_every_safe_agent(problem: str) -> None:
    for agent in ("ppo-lag", "trpo-lag", "cpo", "crpo", "p3o", "ddpg-lag"):
        values = problem_defaults(agent, problem)
        assert values["reward_scale"] < 1 and values["cost_scale"] < 1

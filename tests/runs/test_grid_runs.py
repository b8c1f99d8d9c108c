"""`stagewise bench` skips a run only when its stored fingerprint matches the grid."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.runs.helpers import cli, error_line

GRID = {
    "experiment": "edited",
    "problems": [{"name": "capacity-expansion", "config": {"K": 2, "T": 3}}],
    "agents": [{"name": "dqn", "steps": 200, "hp": {"learning_starts": 50}}],
    "seeds": [0],
    "baselines": ["optimal"],
    "evaluation": {"episodes": 20, "seed": 100},
}


def write_grid(folder: Path, grid: dict) -> Path:
    path = folder / "grid.yaml"
    path.write_text(yaml.safe_dump(grid))
    return path


def bench(folder: Path, grid: dict) -> tuple[int, str]:
    return cli("bench", write_grid(folder, grid), "--root", folder / "runs", "--backend", "inline")


def test_grid_trains_evaluates_and_skips_the_same_grid(tmp_path: Path) -> None:
    code, output = bench(tmp_path, GRID)
    assert code == 0 and "2 job(s)" in output, output
    run = tmp_path / "runs" / "edited" / "capacity-expansion" / "dqn" / "seed0"
    record = json.loads((run / "evaluation.json").read_text())
    assert record["episodes"] == 20 and record["evaluation"] == GRID["evaluation"]
    assert json.loads((run / "run.json").read_text())["method_config"]["total_steps"] == 200
    code, output = bench(tmp_path, GRID)
    assert code == 0 and "0 job(s)" in output


def test_an_edited_grid_is_refused_naming_the_changed_fields(tmp_path: Path) -> None:
    assert bench(tmp_path, GRID)[0] == 0
    edited = {**GRID, "agents": [{"name": "dqn", "steps": 300, "hp": {"learning_starts": 50}}]}
    edited["problems"] = [{"name": "capacity-expansion", "config": {"K": 3, "T": 3}}]
    code, output = bench(tmp_path, edited)
    assert code == 2
    line = error_line(output)
    assert "method_config.total_steps: stored 200, now 300" in line
    assert "config.K: stored 2, now 3" in line and "optimal" in line


def test_a_new_evaluation_setting_reevaluates_without_retraining(tmp_path: Path) -> None:
    assert bench(tmp_path, GRID)[0] == 0
    run = tmp_path / "runs" / "edited" / "capacity-expansion" / "dqn" / "seed0"
    policy = (run / "policy.pt").read_bytes()
    more = {**GRID, "evaluation": {"episodes": 30, "seed": 100}}
    code, output = bench(tmp_path, more)
    assert code == 0 and "2 job(s)" in output, output
    assert json.loads((run / "evaluation.json").read_text())["episodes"] == 30
    assert (run / "policy.pt").read_bytes() == policy


def test_unknown_agent_setting_is_rejected_before_any_job(tmp_path: Path) -> None:
    bad = {**GRID, "agents": [{"name": "dqn", "steps": 200, "hp": {"lr": 0.001}}]}
    code, output = bench(tmp_path, bad)
    assert code == 2
    line = error_line(output)
    assert "no setting(s) lr" in line and "learning_rate" in line
    assert not (tmp_path / "runs" / "edited" / "capacity-expansion").exists()


def test_wrongly_typed_agent_setting_is_rejected_before_any_job(tmp_path: Path) -> None:
    bad = {**GRID, "agents": [{"name": "dqn", "steps": 200, "hp": {"learning_rate": "fast"}}]}
    line = error_line(bench(tmp_path, bad)[1])
    assert "learning_rate = 'fast' must be float" in line

"""Grids with the safety layer as an agent option: labels, fingerprints, the report."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stagewise.bench.grid import grid_jobs, load_grid, run_grid
from stagewise.bench.report import collect, summarize, write_report
from stagewise.bench.runs import read_run_record
from stagewise.core.config import ConfigError

PPO = {"steps_per_epoch": 256, "num_envs": 4, "update_epochs": 1, "cost_limit": 1.0}


def write_grid(tmp_path: Path, **changes: object) -> Path:
    grid = {
        "experiment": "safe",
        "problems": [{"name": "gtep", "config": {"T": 3}}],
        "agents": [
            {"name": "ppo-lag", "steps": 256, "hp": PPO},
            {"name": "ppo-lag", "steps": 256, "hp": PPO, "safety_layer": True},
        ],
        "baselines": ["optimal"],
        "evaluation": {"episodes": 3, "seed": 100},
    }
    grid.update(changes)
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(grid))
    return path


def test_the_same_agent_with_and_without_the_layer_runs_side_by_side(tmp_path: Path) -> None:
    grid = load_grid(write_grid(tmp_path))
    records = run_grid(grid, tmp_path / "runs", backend="inline")
    by_method = {r["method"]: r for r in records}
    assert set(by_method) == {"optimal", "ppo-lag", "ppo-lag+safety"}
    safe = by_method["ppo-lag+safety"]
    assert safe["costs"]["projection"]["mean"] > 0.0
    assert all(v["mean"] == 0.0 for k, v in safe["costs"].items() if k != "projection")
    folder = tmp_path / "runs" / "safe" / "gtep"
    stored = read_run_record(folder / "ppo-lag+safety" / "seed0")
    assert stored["method_config"]["safety_layer"] == {"projection_weight": 0.0}
    assert "safety_layer" not in read_run_record(folder / "ppo-lag" / "seed0")["method_config"]
    assert grid_jobs(grid, tmp_path / "runs") == []
    write_report(tmp_path / "runs" / "safe")
    report = (tmp_path / "runs" / "safe" / "report.md").read_text()
    assert "| ppo-lag |" in report and "| ppo-lag+safety |" in report


def test_the_report_cost_of_a_layer_row_is_its_constraint_cost(tmp_path: Path) -> None:
    # The projection distance moves a decision but breaks no constraint: the report's
    # cost (and the paper's selection rules on it) leaves it out; it has its own column.
    grid = load_grid(write_grid(tmp_path))
    run_grid(grid, tmp_path / "runs", backend="inline")
    rows = {r["method"]: r for r in summarize(collect(tmp_path / "runs" / "safe"))}
    safe, plain = rows["ppo-lag+safety"], rows["ppo-lag"]
    assert safe["cost projection"] > 0.0
    assert safe["cost mean"] == 0.0 and safe["cost std"] == 0.0
    assert plain["cost mean"] > 0.0  # without the layer the same agent breaks constraints


def test_layer_options_are_part_of_the_fingerprint(tmp_path: Path) -> None:
    grid = load_grid(write_grid(tmp_path))
    run_grid(grid, tmp_path / "runs", backend="inline")
    agents = [
        {"name": "ppo-lag", "steps": 256, "hp": PPO},
        {"name": "ppo-lag", "steps": 256, "hp": PPO, "safety_layer": True, "projection_weight": 1},
    ]
    edited = load_grid(write_grid(tmp_path, agents=agents))
    with pytest.raises(ConfigError, match="safety_layer"):
        grid_jobs(edited, tmp_path / "runs")


def test_bad_layer_entries_are_named(tmp_path: Path) -> None:
    twice = [{"name": "ppo-lag", "safety_layer": True}, {"name": "ppo-lag", "safety_layer": True}]
    with pytest.raises(ConfigError, match="appear twice"):
        load_grid(write_grid(tmp_path, agents=twice))
    negative = [{"name": "ppo-lag", "safety_layer": True, "projection_weight": -1}]
    with pytest.raises(ConfigError, match="projection_weight"):
        load_grid(write_grid(tmp_path, agents=negative))


def test_a_problem_without_rows_gets_a_record_saying_so(tmp_path: Path) -> None:
    path = write_grid(
        tmp_path,
        problems=[{"name": "capacity-expansion", "config": {"K": 1, "T": 2}}],
        agents=[{"name": "dqn", "steps": 100, "safety_layer": True}],
        baselines=[],
    )
    records = run_grid(load_grid(path), tmp_path / "runs", backend="inline")
    assert records[0]["kind"] == "unsupported" and "no safety-layer rows" in records[0]["reason"]
    assert records[0]["method"] == "dqn+safety"

"""The command line with the safety layer: train, evaluate, fingerprint, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from stagewise.bench.runs import read_run_record
from stagewise.cli import app

runner = CliRunner()
PPO = ["--hp", "steps_per_epoch=256", "--hp", "num_envs=4", "--hp", "update_epochs=1"]


def test_train_and_evaluate_through_the_layer(tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["train", "gtep", "--agent", "ppo-lag", "--safety-layer", "--steps", "256", *PPO]
    result = runner.invoke(app, [*args, "--run-dir", str(run), "--T", "3"])
    assert result.exit_code == 0, result.output
    assert "ppo-lag+safety" in result.output
    stored = read_run_record(run)
    assert stored["method_config"]["safety_layer"] == {"projection_weight": 0.0}
    out = tmp_path / "eval.json"
    evaluate = ["evaluate", "gtep", "--run", str(run), "--policy", "random", "--safety-layer"]
    result = runner.invoke(
        app, [*evaluate, "--episodes", "3", "--T", "3", "--out", str(out)], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"optimal", "random+safety", str(run)}
    for name in ("random+safety", str(run)):
        costs = results[name]["costs"]
        assert costs["projection"]["mean"] > 0
        assert all(v["mean"] == 0.0 for k, v in costs.items() if k != "projection")
    # the layer is part of the fingerprint: the same folder without it is refused
    result = runner.invoke(
        app, [*args[:4], "--steps", "256", *PPO, "--run-dir", str(run), "--T", "3"]
    )
    assert result.exit_code == 2 and "safety_layer" in result.output


def test_a_problem_without_rows_is_one_error_line() -> None:
    args = ["train", "capacity-expansion", "--agent", "dqn", "--safety-layer", "--steps", "10"]
    result = runner.invoke(app, args, terminal_width=400)
    assert result.exit_code == 2
    assert result.output.startswith("error: capacity-expansion has no safety-layer rows")
    assert "Traceback" not in result.output

"""A run folder is fingerprinted when it starts; resumes and reruns must match it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.runs.helpers import cli, error_line

DQN = [
    "train",
    "capacity-expansion",
    "--T",
    "3",
    "--K",
    "2",
    "--agent",
    "dqn",
    "--steps",
    "300",
    "--hp",
    "learning_starts=50",
    "--hp",
    "checkpoint_interval=100",
]


def test_run_json_holds_the_fingerprint(tmp_path: Path) -> None:
    code, output = cli(*DQN, "--run-dir", tmp_path / "run")
    assert code == 0, output
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["problem"] == "capacity-expansion" and record["method"] == "dqn"
    assert record["seed"] == 0 and record["config"]["T"] == 3
    assert record["method_config"]["total_steps"] == 300 and record["code_version"]


def test_resume_with_a_changed_problem_config_is_refused_and_run_json_kept(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli(*DQN, "--run-dir", run)[0] == 0
    before = (run / "run.json").read_bytes()
    policy = (run / "policy.pt").read_bytes()
    code, output = cli(*DQN, "--c_om", "900", "--run-dir", run)
    assert code == 2
    line = error_line(output)
    assert "config.c_om: stored 300.0, now 900.0" in line and "--new" in line
    assert (run / "run.json").read_bytes() == before
    assert (run / "policy.pt").read_bytes() == policy


def test_changed_steps_and_seed_are_named(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli(*DQN, "--run-dir", run)[0] == 0
    steps = [a if a != "300" else "400" for a in DQN]
    assert "method_config.total_steps: stored 300, now 400" in error_line(
        cli(*steps, "--run-dir", run)[1]
    )
    assert "seed: stored 0, now 1" in error_line(cli(*DQN, "--seed", "1", "--run-dir", run)[1])


def test_rerun_with_the_same_fingerprint_resumes_without_rewriting_run_json(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli(*DQN, "--run-dir", run)[0] == 0
    before = (run / "run.json").read_bytes()
    stamp = (run / "run.json").stat().st_mtime_ns
    code, output = cli(*DQN, "--run-dir", run)
    assert code == 0 and "resuming" in output
    assert (run / "run.json").read_bytes() == before
    assert (run / "run.json").stat().st_mtime_ns == stamp


def test_new_starts_a_fresh_folder_beside_the_old_one(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli(*DQN, "--run-dir", run)[0] == 0
    code, output = cli(*DQN, "--c_om", "900", "--run-dir", run, "--new")
    assert code == 0, output
    assert json.loads((tmp_path / "run-2" / "run.json").read_text())["config"]["c_om"] == 900
    assert json.loads((run / "run.json").read_text())["config"]["c_om"] == 300


def test_files_without_run_json_are_not_adopted(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"someone else's")
    line = error_line(cli(*DQN, "--run-dir", run)[1])
    assert "no run.json" in line and "checkpoint.pt" in line

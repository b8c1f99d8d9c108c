"""A job that raises or whose process is killed fails alone: the others finish, the driver
writes its failure record, and no partial file is left."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from stagewise.bench.executor import Job, JobError, JobFailure, run_jobs
from stagewise.bench.grid import record_outcome


def _write_then(run_dir: str, outcome: str) -> str:
    (Path(run_dir) / "progress.csv").write_text("epoch\n1\n")
    if outcome == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if outcome == "raise":
        raise RuntimeError("diverged")
    return outcome


@pytest.mark.parametrize("backend", ["local", "inline"])
def test_failed_jobs_are_recorded_and_the_rest_finish(tmp_path: Path, backend: str) -> None:
    outcomes = ["ok", "raise", "ok"] + (["kill"] if backend == "local" else [])
    jobs = []
    for k, outcome in enumerate(outcomes):
        run_dir = tmp_path / f"run{k}"
        run_dir.mkdir()
        jobs.append(Job(_write_then, {"run_dir": str(run_dir), "outcome": outcome}, f"run{k}"))
    results = run_jobs(jobs, backend=backend, workers=2, on_done=record_outcome, failures="record")
    assert results[0] == "ok" and results[2] == "ok"
    assert isinstance(results[1], JobFailure) and "RuntimeError: diverged" in results[1].error
    failed = json.loads((tmp_path / "run1" / "failed.json").read_text())
    assert failed == {"job": "run1", "error": "RuntimeError: diverged"}
    assert not (tmp_path / "run0" / "failed.json").exists()
    if backend == "local":
        assert "died (exit code -9)" in results[3].error
        assert (tmp_path / "run3" / "failed.json").exists()
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_success_clears_an_old_failure_record(tmp_path: Path) -> None:
    (tmp_path / "failed.json").write_text("{}")
    record_outcome(Job(_write_then, {"run_dir": str(tmp_path)}, "run"), {"reward_mean": 1.0})
    assert not (tmp_path / "failed.json").exists()


def test_failures_can_stop_the_run_instead(tmp_path: Path) -> None:
    job = Job(_write_then, {"run_dir": str(tmp_path), "outcome": "raise"}, "run")
    with pytest.raises(JobError, match="job run failed: RuntimeError: diverged"):
        run_jobs([job], backend="local")

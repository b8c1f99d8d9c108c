"""Benchmark grids: validation, execution on local processes, skipping of complete runs, reports."""

from pathlib import Path

import pytest
import yaml

from stagewise.bench.executor import Job, run_jobs
from stagewise.bench.grid import grid_jobs, load_grid, run_grid
from stagewise.bench.report import write_report
from stagewise.core.config import ConfigError


def write_grid(tmp_path: Path, **changes: object) -> Path:
    grid = {
        "experiment": "tiny",
        "problems": [{"name": "capacity-expansion", "config": {"K": 1, "T": 2}}],
        "baselines": ["optimal", "never-expand", "random"],
        "evaluation": {"episodes": 200, "seed": 5},
    }
    grid.update(changes)
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(grid))
    return path


def test_grid_errors_name_the_bad_entry(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no-such-problem"):
        load_grid(write_grid(tmp_path, problems=[{"name": "no-such-problem"}]))
    with pytest.raises(ConfigError, match="has no policy"):
        load_grid(write_grid(tmp_path, baselines=["clairvoyant"]))
    with pytest.raises(ConfigError, match=r"evaluation\.episodes"):
        load_grid(write_grid(tmp_path, evaluation={"episodes": 0}))


def test_grid_runs_baselines_then_skips_complete_runs_and_reports(tmp_path: Path) -> None:
    grid = load_grid(write_grid(tmp_path))
    records = run_grid(grid, tmp_path / "runs", backend="inline")
    by_method = {r["method"]: r for r in records}
    assert set(by_method) == {"optimal", "never-expand", "random"}
    assert by_method["never-expand"]["reward_mean"] == 0.0
    assert by_method["optimal"]["reward_mean"] > by_method["random"]["reward_mean"]
    assert grid_jobs(grid, tmp_path / "runs") == []  # every run is complete now

    rows, paths = write_report(tmp_path / "runs" / "tiny")
    gaps = {r["method"]: r["gap to optimum %"] for r in rows}
    assert gaps["optimal"] == 0.0 and gaps["never-expand"] == pytest.approx(100.0)
    assert all(p.exists() for p in paths)
    report = (tmp_path / "runs" / "tiny" / "report.md").read_text()
    assert "## capacity-expansion" in report and "| optimal | 1 |" in report


def _square(x: int) -> int:
    return x * x


def test_local_process_backend_returns_results_in_order() -> None:
    done: list[str] = []
    jobs = [Job(_square, {"x": i}, f"job{i}") for i in range(4)]
    assert run_jobs(
        jobs, backend="local", workers=2, on_done=lambda j, _r: done.append(j.label)
    ) == [
        0,
        1,
        4,
        9,
    ]
    assert sorted(done) == ["job0", "job1", "job2", "job3"]


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        run_jobs([Job(_square, {"x": 1})], backend="slurm")  # type: ignore[arg-type]

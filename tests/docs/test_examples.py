"""Every shipped grid in ``examples/`` runs end to end: ``stagewise bench`` then
``stagewise report`` (through typer's CliRunner, jobs in spawned worker processes
as a user runs them), into a scratch root."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stagewise.agents import get_agent
from stagewise.bench.grid import load_grid
from tests.docs.pages import BENCHMARKS, EXAMPLES

GRIDS = sorted(EXAMPLES.glob("*.yaml"))
SHIPPED_GRIDS = GRIDS + sorted(BENCHMARKS.glob("*.yaml"))


def test_the_promised_examples_exist() -> None:
    names = {p.name for p in GRIDS}
    assert {"capacity_quick.yaml", "uc_gtep_quick.yaml"} <= names


@pytest.mark.parametrize("path", SHIPPED_GRIDS, ids=lambda p: p.stem)
def test_every_shipped_grid_has_a_quick_profile(path: Path) -> None:
    """``stagewise bench GRID --quick`` resolves for every grid (no job runs)."""
    full, quick = load_grid(path), load_grid(path, "quick")
    assert quick.experiment == f"{full.experiment}-quick"
    assert {p.name for p in quick.problems} <= {p.name for p in full.problems}


@pytest.mark.parametrize("path", GRIDS, ids=lambda p: p.stem)
def test_example_settings_are_agent_fields(path: Path) -> None:
    """``hp`` keys are fields of the agent's config dataclass (checked without training)."""
    grid = load_grid(path)
    for agent in grid.agents:
        config = get_agent(agent.name).config
        fields = {f.name for f in dataclasses.fields(config)}
        unknown = set(agent.hp) - fields
        assert not unknown, f"{path.name}: {agent.name} has no setting(s) {sorted(unknown)}"
        config(**{**agent.hp, "total_steps": agent.steps or 1})  # values the agent accepts


@pytest.mark.parametrize("path", GRIDS, ids=lambda p: p.stem)
def test_example_grid_runs(path: Path, tmp_path: Path) -> None:
    from stagewise.cli import app

    grid = load_grid(path)
    runner = CliRunner()
    result = runner.invoke(app, ["bench", str(path), "--root", str(tmp_path), "--workers", "1"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / grid.experiment
    records = [json.loads(p.read_text()) for p in folder.rglob("evaluation.json")]
    expected = len(grid.problems) * (len(grid.baselines) + len(grid.agents) * len(grid.seeds))
    assert len(records) == expected
    assert all(r["episodes"] == grid.evaluation.episodes for r in records)

    result = runner.invoke(app, ["report", str(folder)])
    assert result.exit_code == 0, result.output
    report = (folder / "report.md").read_text()
    for problem in {r["problem"] for r in records}:
        assert (folder / f"{problem}.png").is_file(), problem
    methods = {r["method"] for r in records}
    assert all(m in report for m in methods)
    if "optimal" in grid.baselines:
        assert "gap to optimum" in report

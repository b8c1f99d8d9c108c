"""The README's main job and the capacity reproduction run end to end (tiny budgets)."""

import json
from contextlib import contextmanager
from pathlib import Path

import pytest
from rich.console import Console

from stagewise.bench.capacity_expansion import Cell, reproduce
from stagewise.bench.compare import gap_percent
from stagewise.bench.demo import run_demo
from stagewise.problems.capacity_expansion.config import CapacityExpansionConfig


@contextmanager
def no_bar(description: str, total: int):
    yield lambda n=1: None


def test_demo_writes_the_comparison_and_policy_maps(tmp_path: Path) -> None:
    rows = run_demo(
        tmp_path, episodes=300, console=Console(quiet=True), progress_bar=no_bar, steps=600
    )
    by_policy = {r["policy"]: r for r in rows}
    assert set(by_policy) == {"exact DP", "DQN", "never expand"}
    assert by_policy["exact DP"]["gap to optimum %"] == 0.0
    # never expanding earns 0 in every episode: exactly 100 % from the optimum (gap_percent)
    assert by_policy["never expand"]["sampled mean reward"] == 0.0
    assert by_policy["never expand"]["gap to optimum %"] == pytest.approx(100.0)
    assert len(list((tmp_path / "policy_maps").glob("*.png"))) == 3
    assert json.loads((tmp_path / "demo.json").read_text())["dp_objective"] > 33.0


def test_reproduction_writes_table_thresholds_and_figures(tmp_path: Path) -> None:
    cells = reproduce(
        tmp_path, Console(quiet=True), no_bar, cells="example1", episodes=300, dqn_episodes=100
    )
    assert [round(c.dp_value, 2) for c in cells] == [7.25, 32.74]
    table = (tmp_path / "table1.md").read_text()
    assert "Eq.8 K=1 T=2" in table and "7.38" in table
    assert "0.10959" in (tmp_path / "thresholds.md").read_text()
    assert (tmp_path / "dqn_training.png").exists()


def test_the_table_gap_is_compare_gap_percent_of_the_sampled_means() -> None:
    cell = Cell("c", CapacityExpansionConfig(), paper=0.0, dp_value=80.0)
    cell.dp_mc, cell.dqn_mc, cell.paired_gap = 50.0, 45.0, -5.0
    assert cell.row()["DQN gap to DP %"] == gap_percent(50.0, 45.0) == 10.0

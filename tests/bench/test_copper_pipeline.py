"""The copper reproduction runs end to end on one cell (tiny budgets) with the bound beside it."""

import csv
from contextlib import contextmanager
from pathlib import Path

import pytest
from rich.console import Console

from stagewise.bench import copper


@contextmanager
def no_bar(description: str, total: int):
    yield lambda n=1: None


def test_one_cell_reproduction_writes_tables_figures_and_the_bound_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(copper, "TUNING_EPISODES", 2)
    results = copper.reproduce(
        tmp_path,
        Console(quiet=True),
        no_bar,
        repeats=1,
        episodes=3,
        backend="inline",
        steps=200,
        open_loop="rule",
        scales="5E24M",
        mixes="LH",
    )
    (result,) = results
    rho = result["rho"]
    assert rho["ccp"] == pytest.approx(1.0)
    # every method's mean cost sits above the perfect-information floor on the same draws
    assert all(rho["bound"] < value for name, value in rho.items() if name != "bound")
    with (tmp_path / "cells.csv").open() as f:
        (row,) = list(csv.DictReader(f))
    assert float(row["rho_bound"]) == pytest.approx(rho["bound"], abs=1e-4)
    # DAH-DDPG's default two restarts (seeds 0 and 1): the kept one is recorded
    assert result["selected_seed"]["drl"] in {0, 1}
    assert int(row["seed_drl"]) == result["selected_seed"]["drl"]
    assert result["train_cpu_seconds"]["drl"] > 0
    assert "bound mean" in (tmp_path / "summary.md").read_text()
    for figure in ("fig6_rho_mean", "fig7_costs", "fig8_violation_radar", "fig9_open_loop"):
        assert (tmp_path / f"{figure}.png").exists(), figure

"""The stochastic-variant grid: every SafeOR-Gym problem with uncertainty="forecast", four
safe agents, 3 seeds, beside mpc and the clairvoyant bound."""

from __future__ import annotations

from pathlib import Path

from stagewise.bench.grid import grid_jobs, load_grid

GRID = Path(__file__).resolve().parents[2] / "benchmarks" / "safeor_stochastic.yaml"
SAFEOR = {
    "inventory",
    "unit-commitment",
    "gtep",
    "grid-storage",
    "rtn",
    "stn",
    "sched-maint",
    "blending",
    "asu",
}


def test_every_problem_runs_its_stochastic_variant_beside_mpc_and_the_bound(tmp_path: Path):
    grid = load_grid(GRID)  # validates that every problem has every baseline
    assert {p.name for p in grid.problems} == SAFEOR
    assert all(p.config["uncertainty"] == "forecast" for p in grid.problems)
    assert {a.name for a in grid.agents} == {"ppo-lag", "trpo-lag", "cpo", "ddpg-lag"}
    assert grid.seeds == [0, 1, 2] and {"mpc", "clairvoyant"} <= set(grid.baselines)
    jobs = grid_jobs(grid, tmp_path)
    assert len(jobs) == len(grid.problems) * (4 * 3 + len(grid.baselines))


def test_quick_profile_is_one_seed_and_capped(tmp_path: Path):
    quick = load_grid(GRID, "quick")
    assert quick.experiment == "safeor-stochastic-quick" and quick.seeds == [0]
    train = [j for j in grid_jobs(quick, tmp_path) if j.fn.__name__ == "train_and_evaluate"]
    assert len(train) == len(quick.problems) * 4
    assert max(j.kwargs["settings"]["total_steps"] for j in train) == 20000

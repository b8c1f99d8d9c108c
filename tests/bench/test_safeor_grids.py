"""The study grids: every case study of the paper's Tables 1 and 2, the six safe agents
and PPO-Lag and TRPO-Lag through the safety layer, budgets within the paper's, and a
quick profile that runs apart from the full grid."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stagewise.bench.grid import grid_jobs, load_grid
from stagewise.bench.paper import paper_results
from stagewise.core.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
GRIDS = {
    1: ROOT / "benchmarks" / "safeor_table1.yaml",
    2: ROOT / "benchmarks" / "safeor_table2.yaml",
}
SAFE_AGENTS = {"cpo", "trpo-lag", "p3o", "crpo", "ddpg-lag", "ppo-lag"}
METHODS = SAFE_AGENTS | {"ppo-lag+safety", "trpo-lag+safety"}


def test_the_two_grids_cover_every_case_of_the_papers_tables() -> None:
    cases = {p.case for table in (1, 2) for p in load_grid(GRIDS[table]).problems}
    assert cases == set(paper_results()["cases"])


@pytest.mark.parametrize("table", [1, 2])
def test_grid_runs_the_safe_agents_with_and_without_the_layer_within_the_papers_budget(
    table: int, tmp_path: Path
) -> None:
    grid = load_grid(GRIDS[table])
    assert {a.label for a in grid.agents} == METHODS and grid.seeds == [0, 1, 2]
    assert grid.evaluation.episodes == 10 and "optimal" in grid.baselines
    paper = paper_results()["cases"]
    for problem in grid.problems:
        case = paper[problem.case]
        if "episodes_per_epoch" in case:
            assert problem.steps <= case["episodes_per_epoch"] * case["horizon"] * 100
    jobs = grid_jobs(grid, tmp_path)  # every agent setting validates before any job
    assert len(jobs) == len(grid.problems) * (8 * 3 + 2) + sum(
        len(p.baselines) for p in grid.problems
    )


def test_quick_profile_is_one_seed_capped_and_kept_apart(tmp_path: Path) -> None:
    quick = load_grid(GRIDS[1], "quick")
    assert quick.experiment == "safeor-table1-quick" and quick.seeds == [0]
    train = [j for j in grid_jobs(quick, tmp_path) if j.fn.__name__ == "train_and_evaluate"]
    assert len(train) == 9 * 8
    assert 10000 < max(j.kwargs["settings"]["total_steps"] for j in train) <= 20000


def test_an_unknown_profile_names_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "experiment": "x",
                "problems": [{"name": "gtep"}],
                "profiles": {"quick": {"seeds": [0]}},
            }
        )
    )
    with pytest.raises(ConfigError, match="no profile 'fast'; this grid has quick"):
        load_grid(path, "fast")


def test_grid_and_cli_start_from_the_per_problem_agent_defaults(tmp_path: Path) -> None:
    from stagewise.agents import get_agent
    from stagewise.agents.defaults import problem_defaults
    from stagewise.cli import _agent_settings

    gtep = problem_defaults("ppo-lag", "gtep", {"transmission": True})
    assert gtep["cost_limit"] == 1 and gtep["num_envs"] == 64
    jobs = grid_jobs(load_grid(GRIDS[1]), tmp_path)
    run = next(j for j in jobs if j.label == "gtep/ppo-lag/seed0")
    # the grid's per-problem settings (the paper's 1000-step epochs) win over the defaults
    assert run.kwargs["settings"]["cost_limit"] == 1 and run.kwargs["settings"]["num_envs"] == 10
    assert run.kwargs["settings"]["steps_per_epoch"] == 1000
    ddpg = next(j for j in jobs if j.label == "gtep/ddpg-lag/seed0")
    assert ddpg.kwargs["settings"]["num_envs"] == 32  # no grid entry: the off-policy default
    rtn = next(j for j in jobs if j.label == "rtn/ppo-lag/seed0")
    assert "cost_limit" not in rtn.kwargs["settings"]  # the agent's own default, 25
    settings = _agent_settings(
        get_agent("ppo-lag"), ["num_envs=8"], 8192, 3, None, ("gtep", {"transmission": True})
    )
    assert (settings.num_envs, settings.cost_limit, settings.total_steps) == (8, 1, 8192)


def test_grid_budgets_are_caps_never_rounded_up_to_whole_epochs(tmp_path: Path) -> None:
    from stagewise.agents import get_agent

    for job in grid_jobs(load_grid(GRIDS[1]), tmp_path):
        if job.fn.__name__ != "train_and_evaluate":
            continue
        settings = get_agent(job.kwargs["agent"]).settings(job.kwargs["settings"])
        problem = next(p for p in load_grid(GRIDS[1]).problems if p.case == job.kwargs["case"])
        assert settings.planned_steps() <= problem.steps, job.label

"""RTN and STN end to end from the command line: solve, write the plan, evaluate the optimum."""

import json

import pytest
from typer.testing import CliRunner

from stagewise.cli import app

runner = CliRunner()


@pytest.mark.parametrize("problem", ["rtn", "stn"])
def test_solve_writes_the_plan_and_evaluate_replays_the_optimum(problem: str, tmp_path) -> None:
    plan, out = tmp_path / "plan.json", tmp_path / "eval.json"
    result = runner.invoke(app, ["solve", problem, "--plan", str(plan)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "363.94" in result.output and "optimal" in result.output
    assert len(json.loads(plan.read_text())) == 30
    args = ["evaluate", problem, "--policy", "optimal", "--episodes", "1", "--out", str(out)]
    result = runner.invoke(app, [*args, "--decoding", "published"])
    assert result.exit_code == 0, result.output
    summary = json.loads(out.read_text())["results"]["optimal"]
    assert summary["reward_mean"] == pytest.approx(363.9401722, rel=1e-6)
    assert summary["cost_mean"] == 0.0


def test_a_bad_field_exits_2_naming_it() -> None:
    result = runner.invoke(app, ["solve", "stn", "--decoding", "middle"])
    assert result.exit_code == 2
    assert "decoding" in result.output

"""The command line: listing, info, evaluation output and error handling."""

import json

from typer.testing import CliRunner

from stagewise.cli import app, parse_overrides

runner = CliRunner()


def test_list_shows_capacity_expansion() -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    assert "capacity-expansion" in result.output


def test_info_shows_spaces_families_and_overridden_fields() -> None:
    result = runner.invoke(app, ["info", "capacity-expansion", "--K", "3"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Discrete(4)" in result.output
    assert "action_range" in result.output and "capacity" in result.output


def test_evaluate_writes_json_summary(tmp_path) -> None:
    out = tmp_path / "eval.json"
    args = ["evaluate", "capacity-expansion", "--policy", "random", "--episodes", "50"]
    result = runner.invoke(app, [*args, "--out", str(out), "--T", "2"])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["config"]["T"] == 2
    assert payload["results"]["random"]["episodes"] == 50


def test_bad_config_value_exits_2_naming_the_field() -> None:
    result = runner.invoke(app, ["info", "capacity-expansion", "--K", "-1"])
    assert result.exit_code == 2
    assert "K = -1" in result.output


def test_unknown_problem_and_policy_are_reported() -> None:
    result = runner.invoke(app, ["info", "no-such-problem"])
    assert result.exit_code == 2 and "registered problems" in result.output
    result = runner.invoke(app, ["evaluate", "capacity-expansion", "--policy", "clever"])
    assert result.exit_code == 2 and "unknown policy 'clever'" in result.output


def test_overrides_parse_yaml_values_and_both_spellings() -> None:
    assert parse_overrides(["--T", "4", "--c-om=250.5", "--uncertainty", "price"]) == {
        "T": 4,
        "c_om": 250.5,
        "uncertainty": "price",
    }


def test_solve_copper_prints_the_sampled_bound_and_rejects_sampling_options_elsewhere(
    tmp_path,
) -> None:
    out = tmp_path / "bound.json"
    args = ["solve", "copper-blending", "--instance", "5E24M-LH-0", "--episodes", "3"]
    result = runner.invoke(app, [*args, "--out", str(out)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "copper-blending: bound" in result.output and "rho_bound" in result.output
    payload = json.loads(out.read_text())
    assert payload["status"] == "bound" and payload["details"]["episodes"] == 3
    result = runner.invoke(app, ["solve", "capacity-expansion", "--episodes", "3"])
    assert result.exit_code == 2
    assert "--episodes and --seed do not apply" in result.output

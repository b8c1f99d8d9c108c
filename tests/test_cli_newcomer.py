"""What a newcomer meets on the command line (issue 13): one-line errors, notices for
ignored or rounded options, one gap definition, honest help and tables."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from stagewise.bench.compare import gap_percent
from tests.runs.helpers import cli, error_line

README = Path(__file__).resolve().parents[1] / "README.md"
TINY_PPO = ["train", "capacity-expansion", "--T", "2", "--K", "1", "--hp", "num_envs=2"]


def test_negative_cost_limit_is_one_line_naming_the_limit(tmp_path: Path) -> None:
    code, output = cli(*TINY_PPO, "--agent", "ppo-lag", "--cost-limit", "-1", "--run-dir", tmp_path)
    assert code == 2 and "cost limit for 'cost' must be a finite number >= 0" in error_line(output)


def test_wrongly_typed_setting_names_it_and_its_type(tmp_path: Path) -> None:
    code, output = cli(*TINY_PPO, "--agent", "ppo-lag", "--hp", "actor_lr=abc")
    assert code == 2 and "setting actor_lr = 'abc' must be float" in error_line(output)


def test_unknown_setting_lists_the_valid_ones() -> None:
    code, output = cli(*TINY_PPO, "--agent", "ppo", "--hp", "learning_rate=0.1")
    line = error_line(output)
    assert code == 2 and "no setting(s) learning_rate" in line and "actor_lr" in line


def test_ignored_cost_limit_and_rounded_budget_are_announced(tmp_path: Path) -> None:
    code, output = cli(
        *TINY_PPO,
        "--agent",
        "ppo",
        "--cost-limit",
        "1",
        "--steps",
        "100",
        "--hp",
        "steps_per_epoch=64",
        "--run-dir",
        tmp_path / "run",
    )
    assert code == 0, output
    assert "note: --cost-limit is ignored: ppo holds no cost limit" in output
    assert (
        "note: ppo trains whole epochs of steps_per_epoch=64: 128 steps for --steps 100" in output
    )
    assert "128/128" in output and "/100" not in output


def test_a_prefix_of_a_problem_name_is_announced() -> None:
    code, output = cli("info", "capacity")
    assert code == 0 and "note: 'capacity' taken as capacity-expansion" in output
    code, output = cli("info", "capacity-expansion")
    assert code == 0 and "taken as" not in output


def test_one_gap_definition_a_policy_that_earns_nothing_is_100_percent() -> None:
    assert gap_percent(33.46, 0.0) == pytest.approx(100.0)
    assert gap_percent(-200.0, -220.0) == pytest.approx(10.0)
    assert gap_percent(0.0, 1.0) is None


def test_evaluate_of_a_run_shows_the_gap_to_the_optimal_policy(tmp_path: Path) -> None:
    args = ["--T", "2", "--K", "1"]
    assert (
        cli(
            "train",
            "capacity-expansion",
            *args,
            "--agent",
            "dqn",
            "--steps",
            "200",
            "--run-dir",
            tmp_path / "run",
        )[0]
        == 0
    )
    code, output = cli(
        "evaluate",
        "capacity-expansion",
        *args,
        "--run",
        tmp_path / "run",
        "--policy",
        "never-expand",
        "--episodes",
        "30",
    )
    assert code == 0, output
    assert "gap to optimal %" in output and "sampled means over 30 episodes" in output
    never = next(line for line in output.splitlines() if line.startswith("│ never-expand"))
    assert re.search(r"│ 100\s+│\s*$", never), never


def test_reproduce_help_lists_options_and_expected_times() -> None:
    code, output = cli("reproduce", "--help")
    assert code == 0
    for option in ("--cells", "--dqn_episodes", "--repeats", "--open_loop", "--scales"):
        assert option in output
    assert output.count("time:") == 2 and "about 17 min" in output


def test_help_has_no_bool_metavar_and_info_shows_literal_choices() -> None:
    assert "<bool>" not in cli("train", "--help")[1]
    code, output = cli("info", "unit-commitment")
    assert code == 0 and "'v0' | 'v1'" in output and "PydanticUndefined" not in output


def test_long_solution_tables_are_summarised_unless_full() -> None:
    code, output = cli("solve", "capacity-expansion")
    assert code == 0 and "thresholds: first 20 of" in output
    code, full = cli("solve", "capacity-expansion", "--full")
    assert (
        code == 0
        and "first 20 of" not in full
        and len(full.splitlines()) > len(output.splitlines())
    )


def test_plan_file_location_is_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = cli("solve", "gtep", "--plan", "plan.json")
    assert code == 0, output
    assert f"wrote {tmp_path / 'plan.json'}" in output


def test_readme_python_snippet_prints_what_it_shows() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README shows Python usage"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(blocks[0], "README.md", "exec"), {})
    assert "capacity" in printed.getvalue() or printed.getvalue().strip()


def test_readme_says_how_to_reach_stagewise() -> None:
    text = README.read_text()
    assert "source .venv/bin/activate" in text and ".venv/bin/stagewise" in text


def test_policy_options_reach_the_policies_that_take_them() -> None:
    code, output = cli(
        "evaluate",
        "inventory",
        "--policy",
        "random",
        "--window",
        "3",
        "--episodes",
        "2",
        "--no-gap",
    )
    assert code == 0 and "note: --window is ignored: no policy given takes it" in output
    code, output = cli(
        "evaluate", "inventory", "--policy", "mpc", "--window", "3", "--episodes", "1", "--no-gap"
    )
    assert code == 0 and "ignored" not in output and "│ mpc" in output


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["capacity-expansion", "--episodes", "abc"], "option --episodes = 'abc' must be int"),
        (["copper-blending", "--repeats", "abc"], "option --repeats = 'abc' must be int"),
        (["copper-blending", "--scales", "5"], "option --scales = 5 must be str or None"),
        (["capacity-expansion", "--episode", "9"], "no option(s) --episode; its options are"),
        (["capacity-expansion", "--episodes", "1"], "episodes must be >= 2"),
        (["capacity-expansion", "--dqn-episodes", "0"], "dqn_episodes must be >= 1"),
        (["copper-blending", "--repeats", "0"], "repeats must be >= 1"),
    ],
)
def test_every_reproduce_option_error_is_one_line_naming_the_option(
    tmp_path: Path, args: list[str], named: str
) -> None:
    code, output = cli("reproduce", *args, "--out", tmp_path)
    assert code == 2 and named in error_line(output)
    assert not any(tmp_path.iterdir()), "nothing runs before the options are checked"


def test_dqn_meets_an_odd_budget_exactly(tmp_path: Path) -> None:
    code, output = cli(
        "train", "capacity-expansion", "--T", "2", "--K", "1", "--agent", "dqn",
        "--steps", "1001", "--run-dir", tmp_path,
    )  # fmt: skip
    assert code == 0 and "1001/1001" in output, output
    assert (tmp_path / "progress.csv").read_text().splitlines()[-1].startswith("1001,")


def test_dah_ddpg_says_each_restart_trains_the_budget_and_its_bar_totals_all(
    tmp_path: Path,
) -> None:
    hp = ["guided_episodes=2", "critic_warmup=0", "batch_size=4", "hidden_sizes=[4]"]
    hp += ["eval_interval=10", "eval_episodes=1", "selection_episodes=1", "restart_jobs=1"]
    code, output = cli(
        "train", "copper-blending", "--agent", "dah-ddpg", "--steps", "21",
        *[a for item in hp for a in ("--hp", item)], "--run-dir", tmp_path,
    )  # fmt: skip
    assert code == 0, output
    assert "note: dah-ddpg trains each of its restarts=2 for --steps 21: 42 steps in all" in output
    assert "42/42" in output

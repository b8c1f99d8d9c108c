"""Every command the README shows is a valid command, verbatim: the subcommand exists, its options
parse, the problem config fields it sets validate and the files it names are shipped; the quick
ones run."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import typer.main

from stagewise.cli import EXTRA, app, parse_overrides
from stagewise.core.config import load_config
from stagewise.core.registry import get_problem
from tests.runs.helpers import cli

ROOT = Path(__file__).resolve().parents[1]
COMMAND = typer.main.get_command(app)


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("stagewise ")]


COMMANDS = readme_commands()


def test_the_readme_shows_commands() -> None:
    assert len(COMMANDS) >= 10


@pytest.mark.parametrize("line", COMMANDS)
def test_readme_command_parses_verbatim(line: str) -> None:
    name, *args = shlex.split(line)[1:]
    if "--help" in args:  # run by test_quick_readme_commands_run
        assert COMMAND.get_command(click.Context(COMMAND), name) is not None
        return
    with click.Context(COMMAND) as parent:
        sub = COMMAND.get_command(parent, name)
        assert sub is not None, f"no command {name!r}"
        ctx = sub.make_context(name, list(args), parent=parent)
    if "problem" in ctx.params and sub.context_settings == EXTRA:
        spec = get_problem(ctx.params["problem"])
        if name != "reproduce":
            load_config(spec.env_class().config_model, None, parse_overrides(ctx.args))
    if name == "bench":
        assert (ROOT / ctx.params["grid_file"]).is_file()


@pytest.mark.parametrize(
    "line", [c for c in COMMANDS if c.split()[1] in {"list", "info"} or "--help" in c]
)
def test_quick_readme_commands_run(line: str) -> None:
    code, output = cli(*shlex.split(line)[1:])
    assert code == 0, output

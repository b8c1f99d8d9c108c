"""The tutorial runs as written: its Python blocks in order in one namespace, and
every ``stagewise`` command of its shell blocks through typer's CliRunner, in
page order, from a scratch directory holding a copy of ``examples/``."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.docs.pages import DOCS, EXAMPLES, code_blocks

TUTORIAL = DOCS / "tutorial.md"


def _steps() -> list[tuple[str, str]]:
    """``("python", code)`` and ``("shell", command line)`` in page order."""
    steps = []
    for lang, code in code_blocks(TUTORIAL):
        if lang == "python":
            steps.append(("python", code))
        elif lang == "bash":
            for line in code.splitlines():
                words = shlex.split(line, comments=True)
                if words:
                    steps.append(("shell", line))
    return steps


def test_tutorial_has_code_in_every_kind() -> None:
    kinds = [kind for kind, _ in _steps()]
    assert kinds.count("python") >= 4 and kinds.count("shell") >= 4


def test_tutorial_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stagewise.cli import app

    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    namespace: dict[str, object] = {"__name__": "tutorial"}
    for kind, code in _steps():
        if kind == "python":
            exec(compile(code, f"{TUTORIAL}:python block", "exec"), namespace)
            continue
        words = shlex.split(code, comments=True)
        assert words[0] == "stagewise", f"a tutorial shell line that is not stagewise: {code}"
        result = runner.invoke(app, words[1:])
        assert result.exit_code == 0, f"`{code}` exited {result.exit_code}:\n{result.output}"
    # the grid and the report the tutorial promises
    report = tmp_path / "runs" / "capacity-quick"
    assert (report / "report.md").is_file() and (report / "report.csv").is_file()
    assert len(list(report.rglob("evaluation.json"))) == 4
    assert "gap to optimum" in (report / "report.md").read_text()

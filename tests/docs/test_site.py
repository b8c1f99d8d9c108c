"""The documentation site builds with ``mkdocs build --strict`` (warnings are errors).

The build imports the live CLI (docs/hooks/cli_reference.py) and every documented
module (mkdocstrings), so a renamed command, a broken docstring or a dead link
in a page fails here.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.pages import DOCS, ROOT

MKDOCS_MISSING = (
    "!!! MKDOCS IS NOT INSTALLED: THE DOCUMENTATION SITE WAS NOT BUILT OR CHECKED. "
    "Install the dev extra: pip install -e '.[dev]' !!!"
)


def _require_mkdocs() -> None:
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        if importlib.util.find_spec(module.split(".")[0]) is None:
            pytest.skip(f"{MKDOCS_MISSING} (missing: {module})")


def test_site_builds_strict(tmp_path: Path) -> None:
    _require_mkdocs()
    site = tmp_path / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(site),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for page in (
        "getting-started",
        "tutorial",
        "grid-format",
        "reference/cli",
        "reference/api/core",
        "reference/api/agents",
    ):
        assert (site / page / "index.html").is_file(), page
    # every problem and agent page is in the site (the nav hook lists the folders)
    for folder in ("problems", "agents"):
        for page in (DOCS / folder).glob("*.md"):
            assert (site / folder / page.stem / "index.html").is_file(), page
    cli = (site / "reference/cli/index.html").read_text()
    assert "--cost-limit" in cli and "grid YAML" in cli


def test_cli_reference_lists_every_command_and_option() -> None:
    """The generated page is the live app's: every command and option appears."""
    pytest.importorskip("mkdocs", reason=MKDOCS_MISSING)
    import typer

    sys.path.insert(0, str(DOCS / "hooks"))
    try:
        from cli_reference import cli_markdown
    finally:
        sys.path.remove(str(DOCS / "hooks"))
    from stagewise.cli import app

    page = cli_markdown()
    group = typer.main.get_command(app)
    context = group.context_class(group, info_name="stagewise")
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert f"## {name}\n" in page
        for param in command.params:
            for flag in param.opts:
                if flag.startswith("--"):
                    assert f"`{flag}`" in page, (name, flag)


def test_nav_folder_lists_new_pages(tmp_path: Path) -> None:
    """A page added to docs/problems/ appears in the nav without editing mkdocs.yml."""
    sys.path.insert(0, str(DOCS / "hooks"))
    try:
        from nav_folders import expand
    finally:
        sys.path.remove(str(DOCS / "hooks"))
    (tmp_path / "problems").mkdir()
    for name in ("b_problem.md", "a_problem.md", "index.md"):
        (tmp_path / "problems" / name).write_text("# x\n")
    nav = [{"Home": "index.md"}, {"Problems": "problems/"}]
    assert expand(nav, tmp_path) == [
        {"Home": "index.md"},
        {"Problems": ["problems/index.md", "problems/a_problem.md", "problems/b_problem.md"]},
    ]
    with pytest.raises(ValueError, match="no Markdown page"):
        expand({"Empty": "missing/"}, tmp_path)

"""MkDocs hook: write ``reference/cli.md`` from the live ``stagewise`` typer app.

The page is built from click's own view of the app (``typer.main.get_command``),
so every command, argument, option, type and default in the site is the one the
installed CLI has: the reference cannot go stale. Nothing is written to disk;
the page exists only in the build.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

import click
from mkdocs.structure.files import File, Files

PAGE = "reference/cli.md"
PROGRAM = "stagewise"


def cli_markdown() -> str:
    """The CLI reference page, one section per command, in the app's order."""
    import typer

    from stagewise.cli import app

    group = typer.main.get_command(app)
    context = click.Context(group, info_name=PROGRAM)
    lines = [
        "# Command line",
        "",
        "Generated from the installed `stagewise` command at build time; "
        "`stagewise COMMAND --help` prints the same.",
        "",
        _escape(group.help or ""),
        "",
        "| command | what it does |",
        "| --- | --- |",
    ]
    commands = _commands(group, context)
    for name, command in commands:
        lines.append(f"| [`{name}`](#{_anchor(name)}) | {_escape(_first_line(command.help))} |")
    lines.append("")
    for name, command in commands:
        lines += _command_section(name, command, context)
    return "\n".join(lines) + "\n"


def _commands(group: click.Group, context: click.Context) -> list[tuple[str, click.Command]]:
    names = group.list_commands(context)
    found = [(n, group.get_command(context, n)) for n in names]
    return [(n, c) for n, c in found if c is not None and not c.hidden]


def _command_section(name: str, command: click.Command, parent: click.Context) -> list[str]:
    context = click.Context(command, info_name=name, parent=parent)
    usage = " ".join(command.collect_usage_pieces(context))
    lines = [
        f"## {name}",
        "",
        "```text",
        f"{PROGRAM} {name} {usage}".rstrip(),
        "```",
        "",
        _escape_block(command.help or ""),
        "",
    ]
    if command.context_settings.get("allow_extra_args"):
        lines += [
            "Extra options after the problem name set fields of the problem's config, e.g. "
            "`--T 4 --K 3` (values parsed as YAML; `stagewise info PROBLEM` lists the fields).",
            "",
        ]
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
    if arguments:
        lines += ["| argument | type | help |", "| --- | --- | --- |"]
        for param in arguments:
            required = "" if param.required else " (optional)"
            lines.append(
                f"| `{(param.name or '').upper()}`{required} | {_type(param)} "
                f"| {_escape(getattr(param, 'help', None) or '')} |"
            )
        lines.append("")
    if options:
        lines += ["| option | type | default | help |", "| --- | --- | --- | --- |"]
        for param in options:
            flags = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
            lines.append(
                f"| {flags} | {_type(param)} | {_default(param)} | {_escape(param.help or '')} |"
            )
        lines.append("")
    return lines


def _type(param: click.Parameter) -> str:
    kind = param.type
    if isinstance(param, click.Option) and param.is_flag:
        text = "flag"
    elif isinstance(kind, click.Choice):
        text = " \\| ".join(f"`{c}`" for c in kind.choices)
    elif isinstance(kind, click.types._NumberRangeBase):
        low = "" if kind.min is None else f"{kind.min} <= "
        high = "" if kind.max is None else f" <= {kind.max}"
        text = f"{low}{kind.name.split()[0]}{high}".replace("range", "").strip()
    else:
        text = kind.name
    if param.multiple:
        text += " (repeatable)"
    return text


def _default(param: click.Option) -> str:
    if param.required:
        return "required"
    value: Any = param.default
    if callable(value) or value is None:
        return ""
    if isinstance(param, click.Option) and param.is_flag:
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return "" if not value else ", ".join(f"`{v}`" for v in value)
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, Path):
        value = value.as_posix()
    return f"`{value}`"


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n")[0]


def _escape(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _escape_block(text: str) -> str:
    # click keeps the docstring's paragraphs; "\b" marks a paragraph click must not rewrap
    return "\n".join(line for line in text.replace("\b", "").strip().splitlines())


def _anchor(name: str) -> str:
    return name.lower().replace(" ", "-")


def on_files(files: Files, config: Any) -> Files:
    """Add the generated CLI page to the build."""
    files.append(File.generated(config, PAGE, content=cli_markdown()))
    return files

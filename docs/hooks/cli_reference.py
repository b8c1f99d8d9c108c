"""MkDocs hook: write ``reference/cli.md`` from the live ``stagewise`` typer app.

The page is built from click's own view of the app (``typer.main.get_command``),
so every command, argument, option, type and default in the site is the one the
installed CLI has: the reference cannot go stale. Nothing is written to disk;
the page exists only in the build. Parameters are told apart by click's
``param_type_name`` rather than ``isinstance``: recent typer releases carry their
own copy of click, whose classes are not the installed ``click``'s.
"""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files

PAGE = "reference/cli.md"
PROGRAM = "stagewise"


def cli_markdown() -> str:
    """The CLI reference page, one section per command, in the app's order."""
    import typer

    from stagewise.cli import app

    group = typer.main.get_command(app)
    context = group.context_class(group, info_name=PROGRAM)
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


def _commands(group: Any, context: Any) -> list[tuple[str, Any]]:
    names = group.list_commands(context)
    found = [(n, group.get_command(context, n)) for n in names]
    return [(n, c) for n, c in found if c is not None and not c.hidden]


def _command_section(name: str, command: Any, parent: Any) -> list[str]:
    context = command.context_class(command, info_name=name, parent=parent)
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
            "Takes extra `--NAME VALUE` options after its argument (values parsed as YAML): "
            "for a command on a problem, fields of the problem's config such as `--T 4 --K 3` "
            "(`stagewise info PROBLEM` lists them); for `reproduce`, the reproduction's settings.",
            "",
        ]
    rows = [_help_record(param, context) for param in command.get_params(context)]
    rows = [row for row in rows if row is not None and row[0] != "--help"]
    if rows:
        lines += ["| argument / option | value | help |", "| --- | --- | --- |"]
        for name, value, help_text in rows:
            lines.append(f"| `{name}` | {value} | {_escape(help_text)} |")
        lines.append("")
    return lines


def _help_record(param: Any, context: Any) -> tuple[str, str, str] | None:
    """``(flags, value type, help)`` as ``--help`` prints them (default and range included)."""
    if getattr(param, "hidden", False):
        return None
    record = param.get_help_record(context)
    if record is None:  # plain click arguments have no help record
        return (param.human_readable_name, "", "")
    declaration, help_text = record
    flags, _, value = declaration.partition(" ")
    value = f"`{value}`" if value else "flag"
    return flags, value, help_text


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

"""MkDocs hook: a nav entry that names a folder (``Problems: problems/``) lists its pages.

MkDocs' nav takes pages only. This hook replaces every entry whose value is a
string ending in ``/`` with the Markdown pages of that folder (not its
subfolders), sorted by file name, each titled by its first heading. Adding
``docs/problems/new_problem.md`` therefore adds it to the site's menu with no
edit to ``mkdocs.yml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def expand(nav: Any, docs_dir: Path) -> Any:
    """``nav`` with every folder entry replaced by the list of that folder's pages."""
    if isinstance(nav, list):
        return [expand(item, docs_dir) for item in nav]
    if isinstance(nav, dict):
        return {title: expand(value, docs_dir) for title, value in nav.items()}
    if isinstance(nav, str) and nav.endswith("/"):
        folder = docs_dir / nav
        pages = sorted(folder.glob("*.md"))
        if not pages:
            raise ValueError(f"nav folder {nav!r} holds no Markdown page under {docs_dir}")
        index = [p for p in pages if p.name in {"index.md", "README.md"}]
        rest = [p for p in pages if p not in index]
        return [p.relative_to(docs_dir).as_posix() for p in [*index, *rest]]
    return nav


def on_config(config: Any) -> Any:
    """Expand the folder entries of the nav before MkDocs builds it."""
    if config["nav"]:
        config["nav"] = expand(config["nav"], Path(config["docs_dir"]))
    return config

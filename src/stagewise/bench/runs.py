"""Run folders: fingerprinted at their start, locked while a process owns them.

``run.json`` is written once, when a run folder is created, and holds the run's
fingerprint: problem, problem config, method (agent or named policy), method
config, seed and code version. Training into a folder that already holds
``run.json`` resumes it only when the fingerprint is the same; otherwise it is
refused with one line naming every changed field (``--new`` starts a fresh
folder beside it). ``run.json`` is never rewritten. A folder with files but no
``run.json`` belongs to nobody we know and is refused too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from stagewise.core.files import FolderLock, RunFileError, read_json, write_json_atomic

RUN_FILE = "run.json"
FINGERPRINT_FIELDS = ("problem", "method", "seed", "config", "method_config", "code_version")


def code_version() -> str:
    """The installed stagewise version (part of every fingerprint)."""
    try:
        return metadata.version("stagewise")
    except metadata.PackageNotFoundError:
        return "unknown"


def plain_json(value: Any) -> Any:
    """``value`` as JSON would read it back (tuples become lists, objects strings)."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


@dataclass(frozen=True)
class RunRecord:
    """What identifies a run (its fingerprint) plus how to rebuild its environment."""

    problem: str
    method: str
    kind: str
    seed: int | None
    config: dict[str, Any]
    method_config: dict[str, Any]
    action_mode: str = "box"

    def to_json(self) -> dict[str, Any]:
        """The content of ``run.json`` (keys ``agent``/``agent_config`` for agent runs)."""
        record = {
            "problem": self.problem,
            "method": self.method,
            "kind": self.kind,
            "seed": self.seed,
            "action_mode": self.action_mode,
            "config": plain_json(self.config),
            "method_config": plain_json(self.method_config),
            "code_version": code_version(),
        }
        if self.kind == "agent":
            record["agent"] = self.method
            record["agent_config"] = record["method_config"]
        return record


def fingerprint_differences(stored: dict[str, Any], record: RunRecord) -> list[str]:
    """``field: stored X, now Y`` for every fingerprint field that differs (one level deep
    into the configs, so a changed ``c_om`` is named as ``config.c_om``)."""
    now = record.to_json()
    differences = []
    for name in FINGERPRINT_FIELDS:
        old, new = stored.get(name), now.get(name)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    differences.append(
                        f"{name}.{key}: stored {_short(old.get(key))}, now {_short(new.get(key))}"
                    )
        else:
            differences.append(f"{name}: stored {_short(old)}, now {_short(new)}")
    return differences


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def read_run_record(run_dir: str | Path) -> dict[str, Any]:
    """The stored ``run.json`` of ``run_dir`` (a :class:`RunFileError` if broken)."""
    stored = read_json(Path(run_dir) / RUN_FILE, "the run's fingerprint")
    if not isinstance(stored, dict) or not {"problem", "config"} <= set(stored):
        raise RunFileError(
            f"{Path(run_dir) / RUN_FILE} is not a stagewise run record; "
            "restore it or delete the run folder"
        )
    return stored


RESUME_HINT = "use the same settings to resume it, or --new for a new run folder"


def check_run_folder(run_dir: str | Path, record: RunRecord, hint: str = RESUME_HINT) -> bool:
    """Whether ``run_dir`` already holds this run (``False``: nothing there yet).

    Raises:
        RunFileError: the folder holds another run (naming the changed fields), a
            broken ``run.json``, or files without any ``run.json``.
    """
    run_dir = Path(run_dir)
    if (run_dir / RUN_FILE).exists():
        differences = fingerprint_differences(read_run_record(run_dir), record)
        if differences:
            raise RunFileError(
                f"{run_dir} holds a run with another fingerprint ({'; '.join(differences)}); {hint}"
            )
        return True
    stray = sorted(p.name for p in run_dir.glob("*") if not p.name.startswith("."))
    if stray:
        raise RunFileError(
            f"{run_dir} holds files of an unknown run ({', '.join(stray[:4])}) but no "
            f"{RUN_FILE}; {hint}"
        )
    return False


def new_run_dir(run_dir: str | Path) -> Path:
    """The first free sibling ``<name>-2``, ``<name>-3``, ... of ``run_dir`` (for ``--new``)."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        return run_dir
    k = 2
    while (candidate := run_dir.with_name(f"{run_dir.name}-{k}")).exists():
        k += 1
    return candidate


class RunFolder:
    """``with RunFolder(path, record) as run:`` locks the folder, checks its fingerprint, and
    writes ``run.json`` if the run is new. ``run.resumed`` tells whether it existed."""

    def __init__(self, run_dir: str | Path, record: RunRecord, purpose: str = "training run"):
        self.path = Path(run_dir)
        self.record = record
        self.resumed = False
        self._lock = FolderLock(self.path, purpose)

    def __enter__(self) -> RunFolder:
        self._lock.acquire()
        try:
            self.resumed = check_run_folder(self.path, self.record)
            if not self.resumed:
                write_json_atomic(self.path / RUN_FILE, self.record.to_json())
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

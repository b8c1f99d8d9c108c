"""Running ``stagewise`` as a user does: in-process through typer's runner, or as a real
process that a test can kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from stagewise.cli import app

RUNNER = CliRunner()
# a PPO run long enough (about 80 epochs) to be killed in the middle
PPO_FLAGS = [
    "--agent",
    "ppo",
    "--steps",
    "20480",
    "--hp",
    "steps_per_epoch=256",
    "--hp",
    "num_envs=2",
    "--hp",
    "update_epochs=2",
    "--hp",
    "hidden=[16]",
]


def cli(*args: str) -> tuple[int, str]:
    """Exit code and output of ``stagewise args`` run in this process."""
    result = RUNNER.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def error_line(output: str) -> str:
    """The output's one ``error:`` line: exactly one, the last line, and no traceback."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0] and "Traceback" not in output, output
    return errors[0]


def start(*args: str, cwd: Path) -> subprocess.Popen:
    """``python -m stagewise args`` as a separate process; its output goes to ``.log``."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = cwd / f"log{time.monotonic_ns()}"
    with log.open("w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "stagewise", *map(str, args)],
            cwd=cwd,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
        )
    process.log = log  # type: ignore[attr-defined]
    return process


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def kill9(process: subprocess.Popen) -> None:
    """``kill -9``; the process must still have been running."""
    assert process.poll() is None, "the process finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in {"Z", "X"}


def children(pid: int) -> list[int]:
    """PIDs of the direct children of ``pid`` (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found += [int(c) for c in text.split()]
    return found

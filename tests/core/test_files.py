"""Atomic writes with writer-unique temporary names, and folder locks that die with their owner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from stagewise.core.files import (
    FolderBusyError,
    FolderLock,
    RunFileError,
    read_json,
    temporary_path,
    write_atomic,
    write_json_atomic,
    write_text_atomic,
)


def test_temporary_names_are_unique_per_writer(tmp_path: Path) -> None:
    target = tmp_path / "checkpoint.pt"
    names = {temporary_path(target) for _ in range(100)}
    assert len(names) == 100 and all(str(os.getpid()) in n.name for n in names)
    assert all(n.parent == tmp_path and n.name.startswith(".checkpoint.pt.") for n in names)


def test_concurrent_writers_never_collide_and_leave_one_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "evaluation.json"
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for _ in range(50):
                write_json_atomic(target, {"writer": k, "rows": list(range(200))})
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert read_json(target)["rows"] == list(range(200))
    assert [p.name for p in tmp_path.iterdir()] == ["evaluation.json"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    write_text_atomic(target, "old")

    def half_then_crash(handle) -> None:
        handle.write(b"ne")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        write_atomic(target, half_then_crash)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_truncated_json_is_a_run_file_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text('{"a": ')
    with pytest.raises(RunFileError, match=r"run\.json is truncated"):
        read_json(tmp_path / "run.json")


def test_second_lock_names_the_holder_and_is_free_after_release(tmp_path: Path) -> None:
    with (
        FolderLock(tmp_path, "bench"),
        pytest.raises(FolderBusyError, match=f"held by PID {os.getpid()}"),
    ):
        FolderLock(tmp_path, "bench").acquire()
    with FolderLock(tmp_path, "bench"):
        pass


def test_a_lock_dies_with_its_owner(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from stagewise.core.files import FolderLock; "
            f"lock = FolderLock({str(tmp_path)!r}).acquire(); "
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(FolderBusyError, match=f"PID {holder.pid}"):
        FolderLock(tmp_path).acquire()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    deadline = time.monotonic() + 10
    while True:
        try:
            FolderLock(tmp_path).acquire().release()
            break
        except FolderBusyError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_taking_a_lock_removes_temporaries_of_dead_writers_only(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=10)
    orphan = tmp_path / f".policy.pt.{dead.pid}.0badcafe.tmp"
    mine = temporary_path(tmp_path / "checkpoint.pt")
    user_file = tmp_path / ".notes.tmp"
    for path in (orphan, mine, user_file):
        path.write_text("partial")
    FolderLock(tmp_path).acquire().release()
    assert not orphan.exists()
    assert mine.exists() and user_file.exists()

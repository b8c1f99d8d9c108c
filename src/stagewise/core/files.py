"""Files users can trust: atomic writes with writer-unique temporary names, and folder locks.

Every file of a run folder is written to a temporary name that no other writer
uses (``.<name>.<pid>.<random>.tmp`` beside the target), flushed to disk, and
renamed over the target, so a reader or a ``kill -9`` never sees a torn file
and two writers never share a temporary file.

A :class:`FolderLock` is an exclusive ``flock`` on ``<folder>/.lock`` holding
the owner's PID. The kernel releases it when the owner dies, however it dies,
so a lock is never stale; a second process is told who holds it. A writer
killed in the middle of a write leaves its temporary file behind (nothing can
remove it at ``kill -9``); the next owner of the folder removes the temporary
files whose writer is dead when it takes the lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

LOCK_FILE = ".lock"


class RunFileError(ValueError):
    """A file of a run folder is missing, truncated, crafted or inconsistent.

    The message names the file and says what to do; the CLI prints it as one line.
    """


class FolderBusyError(RunFileError):
    """Another live process holds the folder's lock."""


def temporary_path(path: Path) -> Path:
    """A temporary name beside ``path`` that no other writer (process or thread) uses."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def writer_pid(tmp: Path) -> int | None:
    """The PID in a temporary name made by :func:`temporary_path` (None for other names)."""
    parts = tmp.name.rsplit(".", 3)
    if len(parts) != 4 or parts[3] != "tmp" or not parts[1].isdigit():
        return None
    return int(parts[1])


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphaned_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files in ``folder`` whose writer process is dead; return them."""
    orphans = [
        tmp
        for tmp in folder.glob(".*.tmp")
        if (pid := writer_pid(tmp)) is not None and pid != os.getpid() and not pid_alive(pid)
    ]
    for tmp in orphans:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return orphans


def write_atomic(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(file)`` on a fresh temporary file, fsync it, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        with tmp.open("wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return write_atomic(path, lambda handle: handle.write(data))


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, payload: Any, default: Callable | None = str) -> Path:
    """Write ``payload`` as indented JSON to ``path`` atomically."""
    return write_text_atomic(path, json.dumps(payload, indent=2, default=default))


def read_json(path: str | Path, what: str = "file") -> Any:
    """The JSON in ``path``; a missing, truncated or non-JSON file is a :class:`RunFileError`."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFileError(f"{path} is missing ({what})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RunFileError(
            f"{path} is truncated or not JSON ({what}: {err}); restore it or delete the run folder"
        ) from None


class FolderLock:
    """Exclusive lock on ``folder`` for this process (``<folder>/.lock`` holds the PID).

    ``wait=False`` (the default) raises :class:`FolderBusyError` naming the holder's PID
    when another process owns the folder; ``wait=True`` blocks until it is released.
    """

    def __init__(self, folder: str | Path, purpose: str = "run", wait: bool = False):
        self.folder = Path(folder)
        self.purpose = purpose
        self.wait = wait
        self._handle: IO[str] | None = None

    @property
    def path(self) -> Path:
        return self.folder / LOCK_FILE

    def acquire(self) -> FolderLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        flags = fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(handle.fileno(), flags)
        except OSError as err:
            handle.close()
            if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise FolderBusyError(
                f"{self.folder} is held by PID {self.holder()} (another {self.purpose} "
                "is writing it); wait for it to finish or choose another folder"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        remove_orphaned_temporaries(self.folder)
        return self

    def holder(self) -> str:
        """The PID written by the lock's owner ('unknown' if it is unreadable)."""
        try:
            return self.path.read_text().strip() or "unknown"
        except OSError:
            return "unknown"

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def locked(folder: str | Path, purpose: str = "run", wait: bool = False) -> Iterator[FolderLock]:
    """``with locked(folder): ...`` holds :class:`FolderLock` for the block."""
    with FolderLock(folder, purpose, wait) as lock:
        yield lock

"""Worker processes that die with the process that started them.

A worker started by ``stagewise`` (a bench job, a DAH-DDPG restart, the helper
processes of a pool) calls :func:`die_with_parent` first, so that ``kill -9`` of
the parent takes it along and no orphan keeps writing into a run folder that a
resume reopens.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
PARENT_POLL_SECONDS = 0.5


def die_with_parent(parent_pid: int) -> None:
    """Make this worker process exit as soon as ``parent_pid`` is gone.

    Linux delivers SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``); a
    daemon thread also polls the parent PID, which covers every other platform and
    a parent that died before the ``prctl`` call. Usable as a pool's ``initializer``.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)

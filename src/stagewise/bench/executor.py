"""Executors: run independent jobs on local processes or on a Ray cluster.

A job is a picklable top-level function and its keyword arguments. Results
come back in submission order. The local backend uses ``spawn``-started
processes (no state inherited from the parent); each job sets its own torch
thread count, so ``workers`` x threads should not exceed the cores. A local
worker dies with the process that started it (``kill -9`` of ``stagewise bench``
included), so no orphan keeps writing into a run folder that a resume reopens.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Literal

Backend = Literal["local", "ray", "inline"]


@dataclass(frozen=True)
class Job:
    """One unit of work: ``fn(**kwargs)``."""

    fn: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    label: str = ""


def run_jobs(
    jobs: list[Job],
    backend: Backend = "local",
    workers: int = 1,
    on_done: Callable[[Job], None] | None = None,
) -> list[Any]:
    """Run ``jobs`` and return their results in order.

    ``inline`` runs them in this process (debugging, tests); ``local`` on a
    process pool of ``workers``; ``ray`` as Ray tasks on the cluster that
    ``ray.init()`` connects to (``RAY_ADDRESS``), or a local one.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if backend == "inline":
        return [_inline(job, on_done) for job in jobs]
    if backend == "local":
        return _local(jobs, workers, on_done)
    if backend == "ray":
        return _ray(jobs, on_done)
    raise ValueError(f"unknown backend {backend!r}; choose local, ray or inline")


def _inline(job: Job, on_done: Callable[[Job], None] | None) -> Any:
    result = job.fn(**job.kwargs)
    if on_done is not None:
        on_done(job)
    return result


def _local(jobs: list[Job], workers: int, on_done: Callable[[Job], None] | None) -> list[Any]:
    results: list[Any] = [None] * len(jobs)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        futures = {pool.submit(job.fn, **job.kwargs): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            if on_done is not None:
                on_done(jobs[i])
    return results


PR_SET_PDEATHSIG = 1
PARENT_POLL_SECONDS = 0.5


def die_with_parent(parent_pid: int) -> None:
    """Make this worker process exit as soon as ``parent_pid`` is gone.

    Linux delivers SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``); a
    daemon thread also polls the parent PID, which covers every other platform and
    a parent that died before the ``prctl`` call.
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


def _ray(jobs: list[Job], on_done: Callable[[Job], None] | None) -> list[Any]:
    try:
        import ray
    except ImportError as err:
        raise ValueError("the ray backend needs Ray: pip install 'stagewise[ray]'") from err
    if not ray.is_initialized():
        ray.init(ignore_reinit_error=True, log_to_driver=False)
    remote = ray.remote(_call)
    refs = [remote.remote(job.fn, job.kwargs) for job in jobs]
    index = {ref: i for i, ref in enumerate(refs)}
    results: list[Any] = [None] * len(jobs)
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        i = index[done[0]]
        results[i] = ray.get(done[0])
        if on_done is not None:
            on_done(jobs[i])
    return results


def _call(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    return fn(**kwargs)

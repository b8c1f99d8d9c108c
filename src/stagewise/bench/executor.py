"""Executors: run independent jobs on local processes or on a Ray cluster.

A job is a picklable top-level function and its keyword arguments. Results
come back in submission order. The local backend uses ``spawn``-started
processes (no state inherited from the parent); each job sets its own torch
thread count, so ``workers`` x threads should not exceed the cores. Each local
job runs in a process of its own, so a job whose process dies fails alone and
the others go on; a local worker dies with the process that started it
(``kill -9`` of ``stagewise bench`` included), so no orphan keeps writing into a
run folder that a resume reopens.
"""

from __future__ import annotations

import functools
import multiprocessing
import multiprocessing.connection
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from stagewise.bench.ray_backend import RayOptions, run_on_ray
from stagewise.core.processes import die_with_parent

Backend = Literal["local", "ray", "inline"]


@dataclass(frozen=True)
class Job:
    """One unit of work: ``fn(**kwargs)``."""

    fn: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class JobFailure:
    """The result of a job that raised or whose process died (``kill -9``, out of memory)."""

    label: str
    error: str


class JobError(RuntimeError):
    """A job failed and the caller asked failures to stop the run."""


OnDone = Callable[[Job, Any], None]


def run_jobs(
    jobs: list[Job],
    backend: Backend = "local",
    workers: int = 1,
    on_done: OnDone | None = None,
    failures: Literal["raise", "record"] = "raise",
    ray: RayOptions | None = None,
) -> list[Any]:
    """Run ``jobs`` and return their results in order; ``on_done(job, result)`` as each ends.

    ``inline`` runs them in this process (debugging, tests); ``local`` in up to
    ``workers`` spawned processes, one per job, so a job whose process dies fails
    alone; ``ray`` as Ray tasks on the cluster of ``ray.address`` (or ``RAY_ADDRESS``,
    or a local one), each job shipped with its run folder
    (:mod:`stagewise.bench.ray_backend`). A job that raises or dies is a
    :class:`JobFailure` result with ``failures="record"``; ``"raise"`` stops with a
    :class:`JobError` naming it (``inline`` re-raises the job's own exception).
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if failures not in ("raise", "record"):
        raise ValueError(f"failures must be 'raise' or 'record', got {failures!r}")
    if backend == "inline":
        runner = functools.partial(_inline, record=failures == "record")
    elif backend == "local":
        runner = functools.partial(_local, workers=workers)
    elif backend == "ray":
        runner = functools.partial(run_on_ray, options=ray or RayOptions())
    else:
        raise ValueError(f"unknown backend {backend!r}; choose local, ray or inline")

    def finished(job: Job, result: Any) -> None:
        if isinstance(result, JobFailure) and failures == "raise":
            raise JobError(f"job {job.label or job.fn.__name__} failed: {result.error}")
        if on_done is not None:
            on_done(job, result)

    return runner(jobs, finished)


def _inline(jobs: list[Job], finished: OnDone, record: bool) -> list[Any]:
    results = []
    for job in jobs:
        try:
            result = job.fn(**job.kwargs)
        except Exception as err:
            if not record:
                raise
            result = JobFailure(job.label, f"{type(err).__name__}: {err}")
        finished(job, result)
        results.append(result)
    return results


def _local(jobs: list[Job], finished: OnDone, workers: int) -> list[Any]:
    """Each job in its own spawned process, at most ``workers`` at a time."""
    context = multiprocessing.get_context("spawn")
    results: list[Any] = [None] * len(jobs)
    queue = list(enumerate(jobs))
    running: dict[int, tuple[Any, Any, int]] = {}  # sentinel -> (process, pipe, index)
    try:
        while queue or running:
            while queue and len(running) < workers:
                i, job = queue.pop(0)
                receive, send = context.Pipe(duplex=False)
                process = context.Process(
                    target=_child, args=(job.fn, job.kwargs, send, os.getpid()), daemon=True
                )
                process.start()
                send.close()
                running[process.sentinel] = (process, receive, i)
            for sentinel in multiprocessing.connection.wait(list(running)):
                process, receive, i = running.pop(sentinel)
                results[i] = _outcome(jobs[i], process, receive)
                finished(jobs[i], results[i])
    finally:
        for process, _receive, _i in running.values():
            process.kill()
    return results


def _outcome(job: Job, process: Any, receive: Any) -> Any:
    """What a finished child sent, or a failure naming how it died."""
    try:
        ok, value = receive.recv() if receive.poll() else (False, None)
    except (EOFError, OSError):
        ok, value = False, None
    finally:
        receive.close()
        process.join()
    if ok:
        return value
    if value is not None:
        return JobFailure(job.label, value)
    return JobFailure(job.label, f"the worker process died (exit code {process.exitcode})")


def _child(fn: Callable[..., Any], kwargs: dict[str, Any], send: Any, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    try:
        message = (True, fn(**kwargs))
    except Exception as err:
        message = (False, f"{type(err).__name__}: {err}")
    send.send(message)
    send.close()

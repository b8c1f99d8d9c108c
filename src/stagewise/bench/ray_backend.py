"""The Ray backend: grid jobs as Ray tasks on a cluster whose nodes share no disk.

A job that owns a run folder (``kwargs["run_dir"]``) is shipped with it: the driver
packs the folder's files (a resumed run's checkpoint included) into the task, the
task trains in a temporary folder on whichever node runs it, and returns its result
with every file it wrote; the driver writes them back atomically. A task that raises
is a :class:`~stagewise.bench.executor.JobFailure`; a task whose node dies is retried
by Ray on a surviving node (``retries`` times) from the state the driver holds.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stagewise.core.files import LOCK_FILE, write_bytes_atomic


@dataclass(frozen=True)
class RayOptions:
    """Where and how big: ``address`` of the cluster (``None``: ``RAY_ADDRESS``, else a
    local one), CPUs reserved per job (each job runs torch on one thread), Ray's retries
    of a task whose node died."""

    address: str | None = None
    cpus_per_job: float = 1.0
    retries: int = 2


def run_on_ray(jobs: list[Any], finished: Callable[[Any, Any], None], options: RayOptions) -> list:
    """Run ``jobs`` as Ray tasks; ``finished(job, result)`` on the driver as each ends."""
    from stagewise.bench.executor import JobFailure

    try:
        import ray
    except ImportError as err:
        raise ValueError("the ray backend needs Ray: pip install 'stagewise[ray]'") from err
    if not ray.is_initialized():
        address = options.address or os.environ.get("RAY_ADDRESS")
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    task = ray.remote(num_cpus=options.cpus_per_job, max_retries=options.retries)(run_shipped)
    refs = [task.remote(job.fn, job.kwargs, pack_folder(_run_dir(job))) for job in jobs]
    index = {ref: i for i, ref in enumerate(refs)}
    results: list[Any] = [None] * len(jobs)
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        i = index[done[0]]
        try:
            result, files = ray.get(done[0])
        except Exception as err:  # a task error, or a node lost beyond the retries
            results[i] = JobFailure(jobs[i].label, f"{type(err).__name__}: {err}")
        else:
            unpack_folder(_run_dir(jobs[i]), files)
            results[i] = result
        finished(jobs[i], results[i])
    return results


def _run_dir(job: Any) -> Path | None:
    run_dir = job.kwargs.get("run_dir")
    return None if run_dir is None else Path(run_dir)


def pack_folder(folder: Path | None) -> dict[str, bytes] | None:
    """Every file below ``folder`` by relative path (not its lock); ``None`` for no folder."""
    if folder is None:
        return None
    if not folder.is_dir():
        return {}
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != LOCK_FILE and not path.name.endswith(".tmp")
    }


def unpack_folder(folder: Path | None, files: dict[str, bytes] | None) -> None:
    """Write ``files`` below ``folder``, each atomically."""
    if folder is None or files is None:
        return
    for name, data in files.items():
        target = (folder / name).resolve()
        if folder.resolve() not in target.parents:
            raise ValueError(f"a job returned a file outside its run folder: {name!r}")
        write_bytes_atomic(target, data)


def run_shipped(
    fn: Callable[..., Any], kwargs: dict[str, Any], files: dict[str, bytes] | None
) -> tuple[Any, dict[str, bytes] | None]:
    """On a Ray worker: run ``fn`` in a temporary copy of its run folder; return the result
    and the folder's files."""
    if files is None:
        return fn(**kwargs), None
    with tempfile.TemporaryDirectory(prefix="stagewise-run-") as tmp:
        folder = Path(tmp) / "run"
        unpack_folder(folder, files)
        folder.mkdir(parents=True, exist_ok=True)
        result = fn(**{**kwargs, "run_dir": str(folder)})
        return result, pack_folder(folder)

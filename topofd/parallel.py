"""Deterministic chunked parallel map (results in input order, whatever n_jobs)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["map_chunks", "map_tasks", "resolve_jobs", "start_workers", "wait_workers"]


def resolve_jobs(n_jobs: int | None) -> int:
    if n_jobs is None or n_jobs == 0:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return int(n_jobs)


_starting: list = []  # the pending start of start_workers, consumed before the first map


def _ready() -> bool:
    # a worker unpickling this function imports the topofd package, which is
    # the import every later task needs
    return True


def start_workers(n_jobs: int | None) -> None:
    """Start ``n_jobs`` worker processes in the background, so that their
    start-up and imports overlap what the main process does meanwhile
    (reading files); the next map reuses them.  Nothing runs with one job."""
    n = resolve_jobs(n_jobs)
    if n > 1 and not _starting:
        from joblib import Parallel, delayed

        _starting.append(Parallel(n_jobs=n, return_as="generator")(delayed(_ready)() for _ in range(n)))


def wait_workers() -> None:
    """Wait for the start of :func:`start_workers` (the maps call it)."""
    # consumed, not dropped: joblib stops the workers of a generator dropped unread
    while _starting:
        list(_starting.pop())


def map_chunks(
    fn: Callable, items: Sequence, n_jobs: int = 1, *, weights=None, per_job: int = 4, on_result: Callable | None = None
) -> list:
    """Apply ``fn`` to contiguous chunks of ``items``; return the list of its
    results, chunk by chunk in order.  ``weights`` (cost estimates per item)
    balance the chunks.  With one job, ``fn`` gets all items at once.

    ``fn`` is sent to worker processes: it must not hold anything that
    cannot travel (a progress bar, an open file).  ``on_result(chunk,
    result)`` runs here, in this process, as each chunk's result arrives —
    the place for progress reporting.
    """
    n_jobs = resolve_jobs(n_jobs)
    items = list(items)
    if not items:
        return []
    if n_jobs == 1 or len(items) < 2:
        out = fn(items)
        if on_result is not None:
            on_result(items, out)
        return [out]
    wait_workers()
    n_chunks = min(len(items), n_jobs * per_job)
    w = np.ones(len(items)) if weights is None else np.asarray(weights, dtype=float) + 1e-9
    cuts = np.searchsorted(np.cumsum(w), np.linspace(0, w.sum(), n_chunks + 1)[1:-1])
    bounds = [0, *np.unique(np.clip(cuts + 1, 1, len(items) - 1)).tolist(), len(items)]
    chunks = [items[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    from joblib import Parallel, delayed

    results = []
    gen = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(fn)(c) for c in chunks)
    for c, r in zip(chunks, gen):
        results.append(r)
        if on_result is not None:
            on_result(c, r)
    return results


def map_tasks(fn: Callable, tasks: Sequence[tuple], n_jobs: int = 1, *, costs=None) -> list:
    """``[fn(*task) for task in tasks]``, the tasks spread over ``n_jobs``
    worker processes.  Results come back in task order whatever ``n_jobs``;
    with ``costs`` (an estimate per task) the costliest start first, which
    keeps a few long tasks from finishing last on one worker (longest
    processing time first: within 4/3 of the best schedule, Graham 1969)."""
    n_jobs = resolve_jobs(n_jobs)
    tasks = list(tasks)
    if n_jobs == 1 or len(tasks) < 2:
        return [fn(*t) for t in tasks]
    wait_workers()
    order = (
        list(range(len(tasks))) if costs is None else [int(i) for i in np.argsort(-np.asarray(costs), kind="stable")]
    )
    from joblib import Parallel, delayed

    done = Parallel(n_jobs=min(n_jobs, len(tasks)), batch_size=1)(delayed(fn)(*tasks[i]) for i in order)
    out: list = [None] * len(tasks)
    for i, r in zip(order, done):
        out[i] = r
    return out

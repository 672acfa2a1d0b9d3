"""Deterministic chunked parallel map (results in input order, whatever n_jobs)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

__all__ = ["map_chunks", "resolve_jobs"]


def resolve_jobs(n_jobs: int | None) -> int:
    import os

    if n_jobs is None or n_jobs == 0:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return int(n_jobs)


def map_chunks(fn: Callable, items: Sequence, n_jobs: int = 1, *, weights=None, per_job: int = 4) -> list:
    """Apply ``fn`` to contiguous chunks of ``items``; return the list of its
    results, chunk by chunk in order.  ``weights`` (cost estimates per item)
    balance the chunks.  With one job, ``fn`` gets all items at once."""
    n_jobs = resolve_jobs(n_jobs)
    items = list(items)
    if n_jobs == 1 or len(items) < 2:
        return [fn(items)] if items else []
    n_chunks = min(len(items), n_jobs * per_job)
    w = np.ones(len(items)) if weights is None else np.asarray(weights, dtype=float) + 1e-9
    cuts = np.searchsorted(np.cumsum(w), np.linspace(0, w.sum(), n_chunks + 1)[1:-1])
    bounds = [0, *np.unique(np.clip(cuts + 1, 1, len(items) - 1)).tolist(), len(items)]
    chunks = [items[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs)(delayed(fn)(c) for c in chunks)

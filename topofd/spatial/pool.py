"""Sums of per-layout arrays over bins of layouts, on several processes,
with the same floats for any number of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from topofd.parallel import map_chunks

__all__ = ["binned_sums"]


def _apply(fn: Callable, items: Sequence) -> list:
    return [fn(it) for it in items]


def binned_sums(
    per_layout: Callable, items: Sequence, member: np.ndarray, n_jobs: int = 1, block: int = 4096, chunk: int = 512
) -> list[np.ndarray] | None:
    """``[Σ_i member[q, i] · per_layout(items[i])[f] for each array f]``,
    shape ``(bins, *shape_f)`` (``None``: no item).  ``per_layout`` (sent
    to worker processes: a module-level function or a ``partial`` of one)
    returns a tuple of arrays per item.  Items go ``block`` at a time over
    ``n_jobs`` processes (memory O(block)); the sums are taken here, a
    fixed ``chunk`` of items at a time in item order, so they do not
    depend on ``n_jobs``."""
    n = len(items)
    out: list[np.ndarray] | None = None
    for b0 in range(0, n, block):
        part = [r for res in map_chunks(partial(_apply, per_layout), items[b0 : b0 + block], n_jobs) for r in res]
        for c0 in range(0, len(part), chunk):
            M = np.asarray(member[:, b0 + c0 : b0 + c0 + len(part[c0 : c0 + chunk])], float)
            add = [np.tensordot(M, np.stack(a), axes=1) for a in zip(*part[c0 : c0 + chunk])]
            out = add if out is None else [o + a for o, a in zip(out, add)]
    return out

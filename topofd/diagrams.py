"""Layouts → H1 persistence diagrams, through the cache, in parallel.

The stage between the data layer and the metrics: every layout's per-class
point cloud becomes its H1 diagram (:func:`topofd.tda.persistence.diagrams`),
looked up first in the cache (and the bundled reference sets) by content
key, computed in worker processes otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

from topofd.layouts.layout import Layout
from topofd.parallel import map_chunks
from topofd.storage.cache import Cache
from topofd.storage.keys import layout_key
from topofd.tda.persistence import h1_diagrams

__all__ = ["compute_diagrams", "diagrams_of"]


class _ChunkFn:
    """Picklable diagram job (a class, not a closure: nothing else travels)."""

    def __init__(self, complex: str):
        self.complex = complex

    def __call__(self, point_sets):
        return [h1_diagrams(pts, self.complex) for pts in point_sets]


def diagrams_of(
    layouts: Sequence[Layout], keys: Sequence[str], *, complex: str, n_jobs: int, cache: Cache, progress: bool = False
) -> list:
    """H1 diagrams ``[layout][class]`` of ``layouts`` whose content ``keys``
    are given; hits come from ``cache``, misses are computed and stored."""
    out: list = [None] * len(layouts)
    todo = []
    for i, k in enumerate(keys):
        v = cache.get_diagrams(k)
        if v is None:
            todo.append(i)
        else:
            out[i] = v
    if todo:
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc="diagrams", unit="layout", leave=False)

        def done(chunk, res):
            if bar is not None:
                bar.update(len(chunk))

        # Rips H1 cost grows ~cubically with the class size: balance on it
        weights = [sum(len(p) ** 3 for p in layouts[i].points) for i in todo]
        chunks = map_chunks(
            _ChunkFn(complex), [layouts[i].points for i in todo], n_jobs, weights=weights, on_result=done
        )
        if bar is not None:
            bar.close()
        for i, d in zip(todo, (d for c in chunks for d in c)):
            out[i] = d
            cache.put_diagrams(keys[i], d)
    return out


def compute_diagrams(
    layouts: Sequence[Layout], *, complex: str = "rips", n_jobs: int = 1, cache: Cache | None = None
) -> tuple[list[list], list[str]]:
    """H1 diagrams ``[layout][class]`` of every layout and each layout's key,
    in the given order."""
    cache = cache if cache is not None else Cache(None)
    keys = [layout_key(l, complex) for l in layouts]
    return diagrams_of(list(layouts), keys, complex=complex, n_jobs=n_jobs, cache=cache), keys

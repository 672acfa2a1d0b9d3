"""Synthetic reference sets with matched per-class counts.

``random``: every cell re-placed uniformly at random on the canvas;
``jitter``: every cell moved by rounded N(0, sigma^2) noise (clipped to the
canvas, so counts are kept); ``shuffle``: class labels permuted among the
cells of each layout (counts per class kept, positions kept).

Counts are kept on the points.  Drawn as ``cell`` x ``cell`` squares and
read back (what ``topofd baseline`` writes and ``topofd compare`` reads),
cells of one class closer than ``cell + 1`` pixels merge into one; only
``random`` with ``separate=cell`` (what ``topofd baseline random`` and
``topofd demo`` use) places them so that none do.

Each layout gets its own generator seeded from ``(seed, crc32(name))``, so a
set is the same whatever order or number of workers builds it.
"""

from __future__ import annotations

import zlib

import numpy as np

from topofd.layouts.layout import Layout

__all__ = ["KINDS", "perturb", "rng_for"]

KINDS = ("random", "jitter", "shuffle")


def rng_for(name: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


def _separated(rng: np.random.Generator, n: int, shape: tuple[int, int], cell: int, where: str) -> np.ndarray:
    """``n`` integer pixel positions, uniform among those that keep every
    pair at Chebyshev distance ``cell + 1`` or more (random sequential
    placement), so that their ``cell`` x ``cell`` squares never touch."""
    H, W = shape
    blocked = np.zeros((H, W), dtype=bool)
    out = np.empty((n, 2))
    k = 0
    while k < n:
        free = np.flatnonzero(~blocked)
        if not free.size:
            raise ValueError(f"{where}: no room for {n} cells {cell + 1} px apart on a {H}x{W} canvas (placed {k})")
        # candidates among the free pixels; later ones blocked by earlier acceptances are dropped
        for p in free[rng.integers(0, free.size, size=2 * (n - k))]:
            r, c = divmod(int(p), W)
            if blocked[r, c]:
                continue
            out[k] = r, c
            k += 1
            blocked[max(r - cell, 0) : r + cell + 1, max(c - cell, 0) : c + cell + 1] = True
            if k == n:
                break
    return out


def perturb(
    layout: Layout, kind: str, *, sigma: float = 4.0, seed: int = 0, lattice: bool = True, separate: int | None = None
) -> Layout:
    """A synthetic counterpart of ``layout`` (see module docstring).

    ``lattice=False`` (``random`` only): continuous uniform positions instead
    of integer pixels — what an in-memory set that is never rasterised wants;
    integer positions give many exactly tied persistence pairs, which the
    paper-exact barycenter resolves with the (slow) published solver.

    ``separate=cell`` (``random`` only, integer pixels): the cells of each
    class are placed uniformly among the positions at least ``cell + 1``
    pixels (Chebyshev) from the class's cells placed before, so drawn as
    ``cell`` x ``cell`` squares none touch and the counts survive a
    write-and-read-back; ``ValueError`` if a class does not fit.  The default
    (``None``) is the published baseline, whose cells may merge when drawn.
    """
    if layout.shape is None:
        raise ValueError(f"{layout.name}: baselines need the canvas shape")
    H, W = layout.shape
    rng = rng_for(layout.name, seed)
    pts = layout.points
    if separate is not None and (kind != "random" or not lattice):
        raise ValueError("separate applies to the 'random' baseline on integer pixels (lattice=True)")
    if kind == "random":
        if separate is not None:
            new = [
                _separated(rng, len(p), (H, W), int(separate), f"{layout.source or layout.name}, class {c}")
                for p, c in zip(pts, layout.classes)
            ]
        elif lattice:
            new = [rng.integers(0, (H, W), size=(len(p), 2)).astype(float) for p in pts]
        else:
            new = [rng.uniform(0, (H, W), size=(len(p), 2)) for p in pts]
    elif kind == "jitter":
        new = [np.clip(np.rint(p) + np.rint(rng.normal(0.0, sigma, size=p.shape)), 0, (H - 1, W - 1)) for p in pts]
    elif kind == "shuffle":
        allp = np.concatenate(pts) if pts else np.zeros((0, 2))
        lab = np.repeat(np.arange(len(pts)), [len(p) for p in pts])
        lab = rng.permutation(lab)
        new = [allp[lab == k] for k in range(len(pts))]
    else:
        raise ValueError(f"unknown baseline {kind!r}; choose from {', '.join(KINDS)}")
    return Layout(
        tuple(new), layout.classes, layout.shape, layout.name, layout.source, layout.class_origin, image=layout.image
    )

"""Synthetic reference sets with matched per-class counts.

``random``: every cell re-placed uniformly at random on the canvas;
``jitter``: every cell moved by rounded N(0, sigma^2) noise (clipped to the
canvas, so counts are kept); ``shuffle``: class labels permuted among the
cells of each layout (counts per class kept, positions kept).

Each layout gets its own generator seeded from ``(seed, crc32(name))``, so a
set is the same whatever order or number of workers builds it.
"""
from __future__ import annotations

import zlib

import numpy as np

from .layout import Layout

__all__ = ["KINDS", "perturb", "rng_for"]

KINDS = ("random", "jitter", "shuffle")


def rng_for(name: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


def perturb(layout: Layout, kind: str, *, sigma: float = 4.0, seed: int = 0, lattice: bool = True) -> Layout:
    """A synthetic counterpart of ``layout`` (see module docstring).

    ``lattice=False`` (``random`` only): continuous uniform positions instead
    of integer pixels — what an in-memory set that is never rasterised wants;
    integer positions give many exactly tied persistence pairs, which the
    paper-exact barycenter resolves with the (slow) published solver.
    """
    if layout.shape is None:
        raise ValueError(f"{layout.name}: baselines need the canvas shape")
    H, W = layout.shape
    rng = rng_for(layout.name, seed)
    pts = layout.points
    if kind == "random":
        if lattice:
            new = [rng.integers(0, (H, W), size=(len(p), 2)).astype(float) for p in pts]
        else:
            new = [rng.uniform(0, (H, W), size=(len(p), 2)) for p in pts]
    elif kind == "jitter":
        new = [
            np.clip(np.rint(p) + np.rint(rng.normal(0.0, sigma, size=p.shape)), 0, (H - 1, W - 1))
            for p in pts
        ]
    elif kind == "shuffle":
        allp = np.concatenate(pts) if pts else np.zeros((0, 2))
        lab = np.repeat(np.arange(len(pts)), [len(p) for p in pts])
        lab = rng.permutation(lab)
        new = [allp[lab == k] for k in range(len(pts))]
    else:
        raise ValueError(f"unknown baseline {kind!r}; choose from {', '.join(KINDS)}")
    return Layout(tuple(new), layout.classes, layout.shape, layout.name, layout.source)

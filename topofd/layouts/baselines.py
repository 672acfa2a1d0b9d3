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

``matched-real`` (:func:`matched_real`) is not a perturbation but real tissue
from other images: for each layout, the layout of a pool (e.g. the
BRCA-M2C train split) with the nearest per-class counts, the floor of the
score scale (issue 27, :mod:`topofd.stats.scale`).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

from topofd.layouts.layout import Layout

__all__ = ["KINDS", "perturb", "rng_for", "source_image", "nearest_counts", "matched_real", "MATCH_RULE"]

KINDS = ("random", "jitter", "shuffle")
# a BRCA-M2C window name (topofd.layouts.patches.patch_name): <image stem>_rNNNNN_cNNNNN
_WINDOW = re.compile(r"_r\d{5}_c\d{5}$")
MATCH_RULE = (
    "nearest per-class counts: least L1 distance sum_c |n_c - m_c| among the pool layouts of other images "
    "(image of a window from its name <image>_rNNNNN_cNNNNN; any other name is its own image), ties to the "
    "first pool name in sorted order"
)


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


def source_image(name: str) -> str:
    """The image a layout comes from: ``<image>`` for a BRCA-M2C window named
    ``<image>_rNNNNN_cNNNNN``; any other name is its own image (a generic
    folder has no image grouping, so only the same file name stem is
    excluded from a layout's matches)."""
    return _WINDOW.sub("", name)


def nearest_counts(
    real_counts: np.ndarray,
    real_images: Sequence[str],
    pool_counts: np.ndarray,
    pool_images: Sequence[str],
    pool_names: Sequence[str],
) -> np.ndarray:
    """For each real layout, the index of the pool layout of another image
    with the nearest per-class counts (:data:`MATCH_RULE`); ``ValueError``
    when every pool layout comes from the layout's own image."""
    from scipy.spatial.distance import cdist

    R, P = np.asarray(real_counts, float), np.asarray(pool_counts, float)
    if R.shape[1:] != P.shape[1:]:
        raise ValueError(f"pool layouts have {P.shape[1]} classes, the real ones {R.shape[1]}")
    by_name = np.argsort(np.asarray(pool_names, dtype=str), kind="stable")  # argmin keeps the first: ties by name
    codes = {im: i for i, im in enumerate(dict.fromkeys([*pool_images, *real_images]))}
    pool_im = np.array([codes[x] for x in pool_images])[by_name]
    real_im = np.array([codes[x] for x in real_images])
    D = cdist(R, P[by_name], metric="cityblock")
    D[real_im[:, None] == pool_im[None, :]] = np.inf
    best = np.argmin(D, axis=1)
    if len(best) and not np.isfinite(D[np.arange(len(best)), best]).all():
        raise ValueError("the pool holds no layout of another image for some real layout")
    return by_name[best]


def matched_real(real: Sequence[Layout], pool: Sequence[Layout]) -> tuple[list[Layout], dict]:
    """The matched-real baseline: for each real layout the pool layout of
    another image with the nearest per-class counts (:func:`nearest_counts`),
    named ``<real name>_gen`` so that the sets pair; and what the match left:
    ``{"rule", "mean_abs_delta" (per class), "mean_abs_delta_total"
    (sum over classes, mean over layouts), "distinct", "n_pool"}``."""
    if not pool:
        raise ValueError("matched-real: the pool holds no layouts")
    rc = np.array([l.counts for l in real], dtype=np.int64).reshape(len(real), -1)
    pc = np.array([l.counts for l in pool], dtype=np.int64)
    idx = nearest_counts(
        rc,
        [l.image or source_image(l.name) for l in real],
        pc,
        [l.image or source_image(l.name) for l in pool],
        [l.name for l in pool],
    )
    out = [
        Layout(p.points, r.classes, p.shape, f"{r.name}_gen", p.source or p.name, r.class_origin, image=p.image)
        for r, p in zip(real, (pool[j] for j in idx))
    ]
    delta = np.abs(pc[idx] - rc) if len(idx) else np.zeros((0, rc.shape[1]))
    info = {
        "rule": MATCH_RULE,
        "mean_abs_delta": [float(x) for x in delta.mean(axis=0)] if len(idx) else [],
        "mean_abs_delta_total": float(delta.sum(axis=1).mean()) if len(idx) else 0.0,
        "distinct": len(set(idx.tolist())),
        "n_pool": len(pool),
    }
    return out, info

"""A distance between two layouts in point space, and the nearest layout of
a pool (memorisation: is a synthetic layout a near copy of a training one?).

Matching distance (OSPA with p = 1, Schuhmacher et al. 2008, per class):
for each class, the optimal one-to-one matching of the two layouts' cells
(:func:`scipy.optimize.linear_sum_assignment` on pixel distances, each
capped at ``cap``), every unmatched cell costing ``cap``; the distance is
the total cost over all classes divided by Σ_c max(n_c, n'_c) — the mean
displacement per cell, in pixels, between 0 (same cells) and ``cap``.  An
exact copy is at 0, a copy with every cell moved by 1 px at about 1.

``cap``: the median distance from a cell to the nearest other cell of its
class in the pool (:func:`cell_spacing`) — a cell moved farther than that
is as good as a different cell.

Nearest layout: the exact distance to every layout of a large pool is too
slow (one assignment per class and pair), so candidates come first from a
cheap descriptor — per class, cell counts on a coarse grid over the canvas,
compared with the L1 distance — and the matching distance is computed to
the ``n_candidates`` nearest of them.  A copy, or a copy moved by a few
pixels, has (nearly) the descriptor of its source, which is therefore always
among the candidates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

__all__ = ["matching_distance", "cell_spacing", "grid_descriptor", "nearest_layouts", "N_CANDIDATES"]

N_CANDIDATES = 10
GRID = 8


def matching_distance(a: Sequence[np.ndarray], b: Sequence[np.ndarray], cap: float) -> float:
    """Mean per-cell displacement (px, capped at ``cap``) of the optimal
    per-class matching of the cells of two layouts ``[class] -> (n, 2)``;
    0 when neither has a cell."""
    total, cells = 0.0, 0
    for p, q in zip(a, b):
        n, m = len(p), len(q)
        cells += max(n, m)
        if n == 0 or m == 0:
            total += cap * max(n, m)
            continue
        D = np.minimum(np.sqrt(((p[:, None, :] - q[None, :, :]) ** 2).sum(-1)), cap)
        r, c = linear_sum_assignment(D)
        total += float(D[r, c].sum()) + cap * abs(n - m)
    return total / cells if cells else 0.0


def cell_spacing(layouts: Sequence[Sequence[np.ndarray]], max_layouts: int = 200) -> float:
    """Median distance from a cell to the nearest other cell of its class
    over (up to ``max_layouts`` evenly spread) layouts; 1 when no layout has
    two cells of a class."""
    idx = np.unique(np.linspace(0, len(layouts) - 1, min(max_layouts, len(layouts))).round().astype(int))
    d = []
    for i in idx if len(layouts) else []:
        for p in layouts[i]:
            if len(p) > 1:
                d.append(cKDTree(p).query(p, k=2)[0][:, 1])
    v = float(np.median(np.concatenate(d))) if d else 1.0
    return v if v > 0 else 1.0


def grid_descriptor(layouts: Sequence[Sequence[np.ndarray]], extent: tuple[float, float], bins: int = GRID):
    """``(n, C · bins²)``: per class, the cell counts on a ``bins`` x ``bins``
    grid over ``[0, extent)``."""
    out = []
    H, W = max(extent[0], 1.0), max(extent[1], 1.0)
    for lay in layouts:
        row = []
        for p in lay:
            if len(p):
                row.append(np.histogram2d(p[:, 0], p[:, 1], bins=bins, range=[[0, H], [0, W]])[0].ravel())
            else:
                row.append(np.zeros(bins * bins))
        out.append(np.concatenate(row) if row else np.zeros(0))
    return np.array(out, float).reshape(len(layouts), -1)


def nearest_layouts(
    queries: Sequence[Sequence[np.ndarray]],
    pool: Sequence[Sequence[np.ndarray]],
    cap: float,
    extent: tuple[float, float],
    n_candidates: int = N_CANDIDATES,
) -> tuple[np.ndarray, np.ndarray]:
    """``(distance, index)``: for each query layout, its matching distance
    to the nearest layout of ``pool`` among the ``n_candidates`` nearest by
    :func:`grid_descriptor`."""
    Dq, Dp = grid_descriptor(queries, extent), grid_descriptor(pool, extent)
    m = min(n_candidates, len(pool))
    from sklearn.neighbors import NearestNeighbors  # on use: scikit-learn costs ~0.4 s at start-up

    _, cand = NearestNeighbors(n_neighbors=m, metric="manhattan").fit(Dp).kneighbors(Dq)
    dist = np.full(len(queries), np.inf)
    best = np.zeros(len(queries), np.int64)
    for i, row in enumerate(cand):
        for j in row:
            d = matching_distance(queries[i], pool[j], cap)
            if d < dist[i]:
                dist[i], best[i] = d, j
    return dist, best

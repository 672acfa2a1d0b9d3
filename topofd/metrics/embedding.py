"""Per-layout topological feature vectors: one row per layout, to embed,
plot, or compare layout by layout (fidelity, diversity, memorisation).

A layout's vector is, per class, the √landscape features TopoKD uses
(:func:`topofd.metrics.landscape_kd.features`: the first persistence
landscape of its H1 diagram on 100 positions up to the 99th percentile of
the *real* set's deaths, square-rooted), the classes concatenated in report
order.  The sampling is fixed by the real set alone, so every set compared
with it (synthetic, training) lands in the same space.

``scale=True`` (the default) divides each class block by the real set's
spread of that block, √tr Σ_real (the root mean squared distance of a real
vector to the real mean), so that each class weighs the same in a distance
between whole layouts whatever its persistence range; a class with no H1
point anywhere is a zero block.  ``counts=True`` appends one more block,
log(1 + cell count) per class, standardised the same way.

``h0=True`` appends, per class, a block that sees the spacing of the cells
(regularity or clustering), which H1 misses where a class forms few loops:
the Rips H0 death times of the class's cells — the edge lengths of their
Euclidean minimum spanning tree (Kruskal's algorithm merges components in
the order the Rips filtration does; Edelsbrunner & Harer, *Computational
Topology*, 2010, VII.1) — made scale-free by √(n / A), n the class's cells
and A the canvas area, the unit Clark & Evans (1954) use for
nearest-neighbour distances (a Poisson pattern's values then do not depend
on its intensity), summarised by the quantiles :data:`H0_QUANTILES`.  A
class with fewer than 2 cells has no edge: a zero block, as a class
without H1 point.  It needs the cells (``SetView.points``).

Example (a 2-D map of a real and a synthetic set)::

    Fr, Fs = layout_features(ev.real_view(), synth_view)
    xy = sklearn.decomposition.PCA(2).fit(Fr).transform(np.vstack([Fr, Fs]))
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import Delaunay, QhullError

from topofd.metrics.landscape_kd import features, sampling
from topofd.state import SetView

__all__ = [
    "H0_QUANTILES",
    "FIDELITY_SPACE",
    "FALLBACK_SPACE",
    "class_features",
    "layout_features",
    "fidelity_features",
    "block_scale",
    "mst_edges",
    "h0_features",
]

H0_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
FIDELITY_SPACE = "per class: quantiles of the scale-free Rips H0 deaths (MST edges), blocks scaled by the real spread"
# Rows by content (cells and canvas): the four fidelity plug-ins and C_T each ask for the same
# sets' rows in one comparison (without it, + fidelity cost 28 % of a default 1,550 compare, not ~0).
_H0_MEMO: dict[bytes, np.ndarray] = {}
_H0_MEMO_MAX = 200_000
FALLBACK_SPACE = "per-class √landscape of H1 (TopoKD) concatenated, class blocks scaled by the real spread"


def mst_edges(p: np.ndarray) -> np.ndarray:
    """Edge lengths of the Euclidean minimum spanning tree of the points
    ``p`` (n, 2): the n − 1 finite Rips H0 death times.  The tree is a
    subgraph of the Delaunay triangulation (Shamos & Hoey, "Closest-point
    problems", FOCS 1975), so only its edges are weighed
    (all pairs when that is degenerate: fewer than 3 distinct points, or
    collinear ones); a repeated point is a zero-length edge."""
    u, n_of = np.unique(np.asarray(p, float).reshape(-1, 2), axis=0, return_counts=True)
    zeros = np.zeros(int(n_of.sum()) - len(u))
    if len(u) < 2:
        return zeros
    try:
        tri = Delaunay(u).simplices
        i = np.concatenate([tri[:, 0], tri[:, 1], tri[:, 2]])
        j = np.concatenate([tri[:, 1], tri[:, 2], tri[:, 0]])
    except QhullError:
        i, j = np.triu_indices(len(u), 1)
    w = np.linalg.norm(u[i] - u[j], axis=1)
    tree = minimum_spanning_tree(coo_matrix((w, (i, j)), shape=(len(u), len(u))).tocsr())
    return np.concatenate([zeros, tree.data])


def _h0_row(p: np.ndarray, canvas) -> np.ndarray:
    """The quantile row of one class's cells ``p`` (at least 2) on ``canvas`` (module docstring)."""
    key = hashlib.blake2b(p.tobytes() + repr(canvas).encode(), digest_size=16).digest()
    row = _H0_MEMO.get(key)
    if row is None:
        H, W = canvas if canvas is not None else tuple(np.ptp(p, axis=0) + 1.0)
        row = np.quantile(mst_edges(p), H0_QUANTILES) * np.sqrt(len(p) / (H * W))
        if len(_H0_MEMO) >= _H0_MEMO_MAX:
            _H0_MEMO.clear()
        _H0_MEMO[key] = row
    return row


def h0_features(view: SetView, k: int) -> np.ndarray:
    """``(n_layouts, len(H0_QUANTILES))``: the quantiles of class ``k``'s
    scale-free minimum-spanning-tree edge lengths, one row per layout
    (module docstring); a zero row below 2 cells."""
    if view.points is None:
        raise ValueError("layout_features(h0=True) needs the cells of every set (SetView.points)")
    out = np.zeros((len(view), len(H0_QUANTILES)))
    for r, pts in enumerate(view.points):
        p = np.ascontiguousarray(pts[k], dtype=float).reshape(-1, 2)
        if len(p) >= 2:
            out[r] = _h0_row(p, view.canvases[r] if view.canvases is not None else None)
    return out


def class_features(real: SetView, *others: SetView, k: int) -> list[np.ndarray]:
    """``[F_real, F_other, ...]``: the √landscape features of class ``k``
    (one row per layout) of the real set and of each other set, on the
    sampling of the real set (of the first other set when the real set has
    no H1 point of that class)."""
    dr = real.cls(k)
    t = sampling(dr, others[0].cls(k) if others else ())
    return [features(dr, t), *(features(o.cls(k), t) for o in others)]


def block_scale(F_real: np.ndarray) -> float:
    """√tr Σ of the real rows (1 when they do not vary)."""
    if len(F_real) < 2:
        return 1.0
    s = float(np.sqrt(np.sum(np.var(F_real, axis=0, ddof=1))))
    return s if s > 0 else 1.0


def layout_features(
    real: SetView, *others: SetView, counts: bool = False, scale: bool = True, h0: bool = False, h1: bool = True
) -> list[np.ndarray]:
    """``[F_real, F_other, ...]``, one ``(n_layouts, C · 100 [+ C])`` array
    per set (``+ C · 5`` with ``h0``; without the ``C · 100`` if not
    ``h1``): each layout's per-class √landscape features concatenated in
    class order, then the optional blocks (see the module docstring), the
    sampling and the scaling fixed by ``real``.  The
    sets must have their classes in the same order (the Evaluator's views do)."""
    C = real.counts.shape[1]
    for o in others:
        if o.counts.shape[1] != C:
            raise ValueError(f"layout_features: a set has {o.counts.shape[1]} classes, the real set {C}")
    blocks: list[list[np.ndarray]] = [[] for _ in range(1 + len(others))]
    for k in range(C if h1 else 0):
        Fs = class_features(real, *others, k=k)
        s = block_scale(Fs[0]) if scale else 1.0
        for b, F in zip(blocks, Fs):
            b.append(F / s)
    if h0:
        for k in range(C):
            H = [h0_features(v, k) for v in (real, *others)]
            s = block_scale(H[0]) if scale else 1.0
            for b, F in zip(blocks, H):
                b.append(F / s)
    if counts:
        L = [np.log1p(np.asarray(v.counts, float)) for v in (real, *others)]
        mu = L[0].mean(axis=0)
        s = block_scale(L[0]) if scale else 1.0
        for b, F in zip(blocks, L):
            b.append((F - mu) / s if scale else F)
    return [np.hstack(b) if b else np.zeros((len(v), 0)) for b, v in zip(blocks, (real, *others))]


def fidelity_features(real: SetView, *others: SetView) -> tuple[list[np.ndarray], str, str | None]:
    """The feature rows of the fidelity and memorisation plug-ins, their
    description and a note (``None`` but for the fallback).

    The H0 spacing block alone (``h1=False, h0=True``): on BRCA-M2C it is the
    space in which matched-count random and jittered layouts lose precision
    and density while mode dropping loses only recall and coverage, and the
    √landscape H1 vector is not (``benchmarks/README.md``, *Fidelity,
    diversity, memorisation*).  When a set has no cells (a reference file
    made without them), the H1 vector instead, with a note."""
    views = (real, *others)
    if all(v.points is not None for v in views):
        return layout_features(real, *others, h1=False, h0=True), FIDELITY_SPACE, None
    which = ", ".join(w for w, v in zip(("real", "synthetic", "training"), views) if v.points is None)
    note = (
        f"no cells kept for the {which} set (a reference file keeps diagrams only): fidelity / C_T on the H1 "
        "√landscape vector instead of the H0 spacing"
    )
    return layout_features(real, *others), FALLBACK_SPACE, note

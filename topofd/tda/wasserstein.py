"""Wasserstein distances between persistence diagrams.

Same definition and conventions as ``gudhi.wasserstein.wasserstein_distance``
(Cohen-Steiner et al. 2010; Kerber, Morozov & Nigmetov 2017): points may be
matched to each other or to their orthogonal projection on the diagonal, the
ground metric is the ``internal_p`` norm, the cost is raised to ``order``.
The optimal matching is found exactly with ``scipy.optimize.linear_sum_assignment``
on the reduced problem (diagram X's points against Y's points plus one
diagonal slot per X point), which has the same optimum as gudhi's transport
formulation.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

__all__ = ["wasserstein_distance", "pairwise_wasserstein", "dist_to_diagonal"]


def dist_to_diagonal(X: np.ndarray, internal_p: float) -> np.ndarray:
    """``internal_p``-distance of each point to its projection on the diagonal."""
    return (X[:, 1] - X[:, 0]) * 2.0 ** (1.0 / internal_p - 1.0)


def _ground(X, Y, internal_p):
    if np.isinf(internal_p):
        return cdist(X, Y, metric="chebyshev")
    return cdist(X, Y, metric="minkowski", p=internal_p)


def _as_diagram(D) -> np.ndarray:
    D = np.asarray(D, dtype=np.float64)
    return D.reshape(-1, 2)


def _finite_matching(X, Y, order, internal_p):
    """Cost (sum of ground^order) and matching of two finite diagrams."""
    n, m = len(X), len(Y)
    dx = dist_to_diagonal(X, internal_p) ** order
    dy = dist_to_diagonal(Y, internal_p) ** order
    if n == 0 or m == 0:
        match = [(i, -1) for i in range(n)] + [(-1, j) for j in range(m)]
        return float(dx.sum() + dy.sum()), match
    # Saving of matching x_i with y_j instead of sending both to the diagonal;
    # n extra zero columns let any x_i stay with the diagonal.
    ground = _ground(X, Y, internal_p) ** order
    saving = ground - dx[:, None] - dy[None, :]
    C = np.hstack([np.minimum(saving, 0.0), np.zeros((n, n))])
    rows, cols = linear_sum_assignment(C)
    paired = (cols < m) & (C[rows, np.minimum(cols, m - 1)] < 0)
    used = np.zeros(m, dtype=bool)
    used[cols[paired]] = True
    # summing the kept costs (not baseline + savings) keeps W(X, X) exactly 0
    cost = float(ground[rows[paired], cols[paired]].sum() + dx[rows[~paired]].sum() + dy[~used].sum())
    match = [(int(i), int(j)) for i, j in zip(rows[paired], cols[paired])]
    match += [(int(i), -1) for i in rows[~paired]] + [(-1, int(j)) for j in np.flatnonzero(~used)]
    return cost, match


def _essential(X, Y, order):
    """Cost and matching of the points with infinite coordinates (gudhi's rule:
    one-dimensional optimal transport per kind, +inf if the counts differ)."""
    kinds = [
        lambda a: np.isneginf(a[:, 0]) & np.isfinite(a[:, 1]),
        lambda a: np.isfinite(a[:, 0]) & np.isposinf(a[:, 1]),
        lambda a: np.isneginf(a[:, 0]) & np.isposinf(a[:, 1]),
    ]
    cost, match = 0.0, []
    for k, kind in enumerate(kinds):
        ix, iy = np.flatnonzero(kind(X)), np.flatnonzero(kind(Y))
        if len(ix) != len(iy):
            return np.inf, None
        if k == 2:
            match += list(zip(ix.tolist(), iy.tolist()))
            continue
        axis = 1 if k == 0 else 0
        ox, oy = ix[np.argsort(X[ix, axis], kind="stable")], iy[np.argsort(Y[iy, axis], kind="stable")]
        cost += float(np.sum(np.abs(X[ox, axis] - Y[oy, axis]) ** order))
        match += list(zip(ox.tolist(), oy.tolist()))

    # (-inf,-inf) and (+inf,+inf) points belong to the diagonal
    def on_diag(a):
        return (np.isneginf(a[:, 0]) & np.isneginf(a[:, 1])) | (np.isposinf(a[:, 0]) & np.isposinf(a[:, 1]))

    match += [(int(i), -1) for i in np.flatnonzero(on_diag(X))] + [(-1, int(j)) for j in np.flatnonzero(on_diag(Y))]
    return cost, match


def wasserstein_distance(X, Y, matching: bool = False, order: float = 1.0, internal_p: float = np.inf):
    """Wasserstein distance W_order between two persistence diagrams.

    Parameters mirror ``gudhi.wasserstein.wasserstein_distance`` (with
    ``keep_essential_parts=True``): ``X``, ``Y`` are ``(n, 2)`` arrays;
    ``matching=True`` also returns an ``(k, 2)`` int array of matched index
    pairs, ``-1`` standing for the diagonal.  The distance is ``inf`` (and the
    matching ``None``) when the essential parts have different cardinalities.
    """
    X, Y = _as_diagram(X), _as_diagram(Y)
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    fx, fy = np.isfinite(X).all(axis=1), np.isfinite(Y).all(axis=1)
    ecost, ematch = (0.0, []) if (fx.all() and fy.all()) else _essential(X, Y, order)
    if ematch is None:
        return (np.inf, None) if matching else np.inf
    ix, iy = np.flatnonzero(fx), np.flatnonzero(fy)
    cost, match = _finite_matching(X[ix], Y[iy], order, internal_p)
    dist = (cost + ecost) ** (1.0 / order)
    if not matching:
        return dist
    m = [(int(ix[i]) if i >= 0 else -1, int(iy[j]) if j >= 0 else -1) for i, j in match] + ematch
    return dist, np.array(m, dtype=np.int64).reshape(-1, 2)


try:  # the compiled all-pairs kernel (topofd/tda/_w1.pyx); optional
    from topofd.tda._w1 import w1_rows as _w1_rows
except ImportError:  # pragma: no cover - the extension is optional
    _w1_rows = None


def _row_block(dgms_a, dgms_b, rows, order, internal_p, symmetric):
    """Reference path: one ``_finite_matching`` per pair (scipy's solver)."""
    out = np.zeros((len(rows), len(dgms_b)))
    for r, i in enumerate(rows):
        start = i + 1 if symmetric else 0
        for j in range(start, len(dgms_b)):
            out[r, j] = _finite_matching(dgms_a[i], dgms_b[j], order, internal_p)[0] ** (1.0 / order)
    return out


def _packed(dgms):
    """Diagrams concatenated for the compiled kernel: points, distances to
    the diagonal (L∞: half the persistence, as :func:`dist_to_diagonal`) and
    offsets."""
    sizes = np.array([len(d) for d in dgms], dtype=np.intp)
    off = np.zeros(len(dgms) + 1, dtype=np.intp)
    np.cumsum(sizes, out=off[1:])
    P = np.ascontiguousarray(np.concatenate(dgms) if len(dgms) else np.zeros((0, 2))).reshape(-1, 2)
    D = np.ascontiguousarray(dist_to_diagonal(P, np.inf))
    return P, D, off, sizes


def _compiled_pairwise(A, B, symmetric, n_jobs):
    """All-pairs W1 (L∞) with the compiled kernel, rows split over ``n_jobs``
    threads (the kernel releases the GIL; each entry is computed on its own,
    so the matrix does not depend on the split)."""
    PA, DA, offA, sa = _packed(A)
    PB, DB, offB, sb = (PA, DA, offA, sa) if symmetric else _packed(B)
    M = np.zeros((len(A), len(B)))
    # a row's cost ~ its size² x the sizes of the columns it meets: balance chunks on it
    col = np.concatenate([np.cumsum((sb + 1.0)[::-1])[::-1], [0.0]])
    start = np.arange(len(A)) + 1 if symmetric else np.zeros(len(A), dtype=np.intp)
    weights = (sa + 1.0) ** 2 * col[np.minimum(start, len(B))]
    chunks = _row_chunks(weights, n_jobs * 8 if n_jobs > 1 else 1)

    def run(rows):
        rows = np.asarray(rows, dtype=np.intp)
        block = np.zeros((len(rows), len(B)))
        _w1_rows(PA, DA, offA, PB, DB, offB, rows, symmetric, block)
        M[rows] = block

    if n_jobs > 1 and len(chunks) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=n_jobs) as ex:
            list(ex.map(run, chunks))
    else:
        for rows in chunks:
            run(rows)
    return M


def _row_chunks(weights: np.ndarray, n_chunks: int) -> list[np.ndarray]:
    """Contiguous row ranges of about equal total weight."""
    n = len(weights)
    if n == 0:
        return []
    n_chunks = max(1, min(n, n_chunks))
    cuts = np.searchsorted(np.cumsum(weights + 1e-9), np.linspace(0, weights.sum() + 1e-9 * n, n_chunks + 1)[1:-1])
    bounds = [0, *np.unique(np.clip(cuts + 1, 1, n - 1)).tolist(), n] if n > 1 else [0, n]
    return [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def pairwise_wasserstein(
    dgms_a, dgms_b=None, *, order: float = 1.0, internal_p: float = np.inf, n_jobs: int = 1, compiled: bool = True
):
    """Matrix of W_order distances between two lists of finite diagrams
    (``dgms_b=None``: all pairs within ``dgms_a``, a symmetric matrix).

    W1 with the L∞ ground metric (MMD's) runs in the compiled kernel
    (:mod:`topofd.tda._w1`), threads over rows; other orders and ground
    metrics, or ``compiled=False`` (the reference path), solve pair by pair
    with scipy, rows split over ``n_jobs`` processes.  Both give the same
    floats, and the result does not depend on ``n_jobs``.
    """
    A = [_as_diagram(d) for d in dgms_a]
    symmetric = dgms_b is None
    B = A if symmetric else [_as_diagram(d) for d in dgms_b]
    for D in (*A, *B):
        if not np.isfinite(D).all():
            raise ValueError("pairwise_wasserstein takes finite diagrams only")
    from topofd.parallel import map_chunks, resolve_jobs

    if compiled and _w1_rows is not None and order == 1 and np.isinf(internal_p) and internal_p > 0:
        M = _compiled_pairwise(A, B, symmetric, resolve_jobs(n_jobs))
    else:
        blocks = map_chunks(
            lambda rows: _row_block(A, B, rows, order, internal_p, symmetric), list(range(len(A))), n_jobs, weights=None
        )
        M = np.vstack(blocks) if blocks else np.zeros((0, len(B)))
    if symmetric:
        M = M + M.T
    return M

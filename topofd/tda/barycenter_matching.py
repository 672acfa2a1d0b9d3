"""The matching half of one update of the barycenter iteration
(:mod:`topofd.tda.barycenter`): the optimal W2 matching (Euclidean ground
metric) of the current estimate Y against every diagram, with the same
pairs gudhi's ``wasserstein_distance`` returns, ties included.

What makes it fast: Y keeps gaining near-diagonal points, so grows with the
number of diagrams.  In the rotated coordinates u = (b+d)/√2, v = (d-b)/√2
the squared distance to the diagonal is v², and matching x with y beats
sending both to the diagonal iff (u_x - u_y)² < 2 v_x v_y.  Candidate pairs
are therefore found by a range search in u inside bands of v, and each
diagram's matching reduces to a tiny assignment problem over its candidate
pairs (most have no conflicts at all) instead of a dense (|Y|+1) x (n+1)
transport problem.  Diagrams whose optimum may not be unique are matched by
the published solver (:mod:`topofd.tda.pot_replay`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from topofd.tda.pot_replay import REPLAY_BUILT, gudhi_matching, import_pot

__all__ = ["DiagramMatcher", "dup_mask"]

_S2 = np.sqrt(2.0)


def _candidates(uX, vX, uY, vY):
    """All (x, y) index pairs with positive saving s = 2 v_x v_y - (u_x - u_y)^2."""
    if len(uY) == 0 or len(uX) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    # bands of v_y by powers of two bound the u-window of each band
    band = np.floor(np.log2(np.maximum(vY, 1e-300))).astype(np.int64)
    xs, ys = [], []
    for b in np.unique(band):
        idx = np.flatnonzero(band == b)
        order = idx[np.argsort(uY[idx], kind="stable")]
        us = uY[order]
        vmax = vY[idx].max()
        r = np.sqrt(2.0 * vX * vmax)
        lo = np.searchsorted(us, uX - r, side="left")
        hi = np.searchsorted(us, uX + r, side="right")
        cnt = hi - lo
        tot = int(cnt.sum())
        if tot == 0:
            continue
        xi = np.repeat(np.arange(len(uX)), cnt)
        offs = np.arange(tot) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        xs.append(xi)
        ys.append(order[np.repeat(lo, cnt) + offs])
    if not xs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    xi, yi = np.concatenate(xs), np.concatenate(ys)
    s = 2.0 * vX[xi] * vY[yi] - (uX[xi] - uY[yi]) ** 2
    keep = s > 0
    return xi[keep], yi[keep], s[keep]


def dup_mask(A):
    """True for the rows of ``A`` that occur more than once."""
    if len(A) < 2:
        return np.zeros(len(A), dtype=bool)
    o = np.lexsort(A.T[::-1])  # equal rows side by side; np.unique(axis=0) was 20x slower
    same = (A[o][1:] == A[o][:-1]).all(axis=1)
    dup = np.zeros(len(A), dtype=bool)
    dup[o[1:][same]] = True
    dup[o[:-1][same]] = True
    return dup


try:  # scipy's assignment solver, compiled (topofd/tda/_w1.pyx); optional at build time
    from topofd.tda._w1 import assign_blocks as _assign_compiled
except ImportError:  # pragma: no cover - only when the extension could not be built
    _assign_compiled = None


def _tied_diagrams(diag_of_x, xi, yi, s, mx, my, dupY, dupX):
    """Diagrams whose optimal matching may not be unique, so that the
    published solver's choice decides the result: the found optimum uses a
    point of Y that has an identical twin, a diagram point with an identical
    twin has a candidate, or a diagram point has two candidates with exactly
    equal savings."""
    flags = [diag_of_x[mx[dupY[my]]], diag_of_x[xi[dupX[xi]]]]
    if len(xi) > 1:
        flags.append(diag_of_x[xi[dup_mask(np.stack([xi, s.view(np.int64)], axis=1))]])
    return np.unique(np.concatenate(flags))


def _match(diag_of_x, xi, yi, s):
    """Optimal matching per diagram, given candidate pairs with savings.

    Returns the matched (x, y) pairs.  Diagrams whose candidate graph is
    made of stars are solved by argmax; the others per diagram with a small
    assignment problem (rows: its x's with candidates; columns: their
    candidate y's, in Y order).
    """
    if len(xi) == 0:
        return xi, yi
    nx = np.bincount(xi, minlength=xi.max() + 1)[xi]
    key = diag_of_x[xi].astype(np.int64) * (yi.max() + 1) + yi
    _, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    ny = cnt[inv]
    # Stars need no assignment solver: an x whose candidate y's are wanted by
    # no other x takes its best one; a y wanted only by x's that have no other
    # candidate takes the best of them.
    x_excl = np.bincount(xi, weights=(ny > 1), minlength=xi.max() + 1)[xi] == 0
    y_excl = np.bincount(inv, weights=(nx > 1), minlength=len(cnt))[inv] == 0
    d = diag_of_x[xi]
    hard = ~(x_excl | y_excl)
    hard_diag = np.unique(d[hard])
    in_hard = np.isin(d, hard_diag)
    mx, my = [], []
    for group, owner in ((~in_hard & x_excl, xi), (~in_hard & ~x_excl, inv)):
        idx = np.flatnonzero(group)
        if len(idx):
            # best saving per owner (x for x-stars, (diagram, y) for y-stars)
            order = idx[np.lexsort((-s[idx], owner[idx]))]
            first = np.r_[True, owner[order][1:] != owner[order][:-1]]
            mx.append(xi[order[first]])
            my.append(yi[order[first]])
    sel = np.flatnonzero(in_hard)
    if len(sel):
        mx_h, my_h = _assign_blocks(xi[sel], yi[sel], d[sel], s[sel])
        mx.append(mx_h)
        my.append(my_h)
    if not mx:
        return xi[:0], yi[:0]
    return np.concatenate(mx), np.concatenate(my)


def _assign_blocks(xi, yi, d, s):
    """Maximum-saving matching of each diagram's candidate pairs (``d``: the
    diagram of each pair), one small assignment problem per diagram.

    Local row (x) and column (y, in Y order) numbers are computed for all
    diagrams at once, so the loop only fills a small matrix and solves it.
    (One block-diagonal sparse assignment over all diagrams, scipy's LAPJVsp,
    was measured 20x slower than this loop.)
    """
    order = np.lexsort((yi, xi, d))
    d, xi, yi, s = d[order], xi[order], yi[order], s[order]
    n = len(d)
    starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
    ends = np.r_[starts[1:], n]
    slot = np.repeat(np.arange(len(starts)), ends - starts)
    cx = np.cumsum(np.r_[True, (xi[1:] != xi[:-1]) | (d[1:] != d[:-1])])
    row = cx - cx[starts][slot]
    by_y = np.lexsort((yi, d))
    cy = np.cumsum(np.r_[True, (yi[by_y][1:] != yi[by_y][:-1]) | (d[by_y][1:] != d[by_y][:-1])])
    first_in_slot = np.r_[True, slot[by_y][1:] != slot[by_y][:-1]]
    cy0 = np.empty(len(starts), dtype=np.int64)
    cy0[slot[by_y][first_in_slot]] = cy[first_in_slot]
    col = np.empty(n, dtype=np.int64)
    col[by_y] = cy - cy0[slot[by_y]]
    nrow = np.maximum.reduceat(row, starts) + 1
    ncol = np.maximum.reduceat(col, starts) + 1
    if _assign_compiled is not None:
        # the same solver as linear_sum_assignment, compiled, over all blocks
        # in one call (the Python loop cost ~20 us per block in call overhead)
        mx = np.empty(n, dtype=np.intp)
        my = np.empty(n, dtype=np.intp)
        bounds = np.r_[starts, n].astype(np.intp)
        k = _assign_compiled(
            bounds,
            nrow.astype(np.intp),
            ncol.astype(np.intp),
            row.astype(np.intp),
            col.astype(np.intp),
            np.ascontiguousarray(s, dtype=np.float64),
            xi.astype(np.intp),
            yi.astype(np.intp),
            mx,
            my,
        )
        return mx[:k].astype(np.int64), my[:k].astype(np.int64)
    mx, my = [], []
    for a, b, nr, nc in zip(starts, ends, nrow, ncol):
        C = np.zeros((nr, nc + nr))  # + nr zero columns: "stay with the diagonal"
        C[row[a:b], col[a:b]] = -s[a:b]
        r, c = linear_sum_assignment(C)
        ok = (c < nc) & (C[r, np.minimum(c, nc - 1)] < 0)
        xr = np.empty(nr, dtype=np.int64)
        xr[row[a:b]] = xi[a:b]
        yc = np.empty(nc, dtype=np.int64)
        yc[col[a:b]] = yi[a:b]
        mx.append(xr[r[ok]])
        my.append(yc[c[ok]])
    return np.concatenate(mx), np.concatenate(my)


class DiagramMatcher:
    """Matches estimates Y to fixed finite diagrams ``X`` (a list of
    ``(n_i, 2)`` float arrays): ``matcher(Y)`` returns the matched pairs
    ``(mx, my)`` -- ``mx`` indexes the concatenated diagram points
    ``matcher.P`` (diagram ``matcher.diag_of_x``), ``my`` the rows of Y --
    sorted by ``mx``, the order in which gudhi accumulates the means.
    ``n_threads``: threads for the tie-breaking transport problems (same
    pairs for any value).  ``published_ties=False``: where the optimum is
    not unique, keep the optimal matching found fast instead of the one
    gudhi's solver returns (~4x faster on tied Rips diagrams; another
    estimate wherever a tie decides it)."""

    def __init__(self, X: list, n_threads: int = 1, published_ties: bool = True):
        self.X, self.n_threads, self.published_ties = X, n_threads, published_ties
        sizes = np.array([len(d) for d in X])
        self.P = np.concatenate(X) if sizes.sum() else np.zeros((0, 2))
        self.diag_of_x = np.repeat(np.arange(len(X)), sizes)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        # twins inside one diagram: rows (diagram, b, d) seen twice, all diagrams at once
        self.dupX = dup_mask(np.column_stack([self.diag_of_x.astype(np.float64), self.P]))
        self.uX = (self.P[:, 0] + self.P[:, 1]) / _S2
        self.vX = (self.P[:, 1] - self.P[:, 0]) / _S2
        # point ranges of whole diagrams, one per thread, of about equal size
        cuts = np.searchsorted(self.offsets, np.linspace(0, len(self.P), max(1, n_threads) + 1)[1:-1])
        bounds = np.unique(np.r_[0, self.offsets[np.minimum(cuts, len(X) - 1)] if len(X) else [], len(self.P)])
        self.ranges = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    def _fast(self, p0: int, p1: int, uY, vY, dupY):
        """Matched pairs and tied diagrams among the points ``p0:p1``."""
        xi, yi, s = _candidates(self.uX[p0:p1], self.vX[p0:p1], uY, vY)
        xi = xi + p0
        mx, my = _match(self.diag_of_x, xi, yi, s)
        if not self.published_ties:
            return mx, my, np.zeros(0, np.int64)
        return mx, my, _tied_diagrams(self.diag_of_x, xi, yi, s, mx, my, dupY, self.dupX)

    def __call__(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X, diag_of_x = self.X, self.diag_of_x
        uY = (Y[:, 0] + Y[:, 1]) / _S2
        vY = (Y[:, 1] - Y[:, 0]) / _S2
        dupY = dup_mask(Y) if self.published_ties else None
        # Identical points make the optimal matching non-unique, and which
        # copy the published computation picks is an artefact of its
        # transport solver that changes the estimate.  Diagrams facing such a
        # tie are matched by that same solver (gudhi's wasserstein_distance on
        # the full problem); the rest have a unique optimum, found fast.
        # Each diagram's matching is its own, so ranges of whole diagrams
        # run on threads (numpy's sorts and the compiled solver release the
        # GIL) and give the same pairs as one range.
        if len(self.ranges) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(len(self.ranges)) as ex:
                found = list(ex.map(lambda r: self._fast(r[0], r[1], uY, vY, dupY), self.ranges))
        else:
            found = [self._fast(0, len(self.P), uY, vY, dupY)]
        mx, my, tied = (np.concatenate([f[i] for f in found]) for i in range(3))
        if len(tied):
            keep = ~np.isin(diag_of_x[mx], tied)
            gx, gy = [mx[keep]], [my[keep]]
            # the solver releases the GIL: threads share the cores, results keep their order
            if self.n_threads > 1 and len(tied) > 1:
                from concurrent.futures import ThreadPoolExecutor

                if not REPLAY_BUILT:
                    import_pot()
                with ThreadPoolExecutor(self.n_threads) as ex:
                    found = list(ex.map(lambda i: gudhi_matching(Y, X[i]), tied))
            else:
                found = [gudhi_matching(Y, X[i]) for i in tied]
            for i, (x_local, y_idx) in zip(tied, found):
                gx.append(self.offsets[i] + x_local)
                gy.append(y_idx)
            mx, my = np.concatenate(gx), np.concatenate(gy)
        order = np.argsort(mx, kind="stable")
        return mx[order], my[order]

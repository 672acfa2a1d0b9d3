"""Wasserstein barycenter of persistence diagrams (Turner et al. 2014).

:func:`lagrangian_barycenter` runs the same fixed-point iteration as
``gudhi.wasserstein.barycenter.lagrangian_barycenter`` (Turner, Mileyko,
Mukherjee & Harer, "Fréchet means for distributions of persistence diagrams",
DCG 2014, Alg. 1), with the same updates in the same floating-point order, so
it returns the same estimate.  TopoCellGen (Sec. 3.4, Eq. 11) takes the mean
of the landscape distribution at this barycenter.

What makes it fast: every iteration matches the current estimate Y (which
keeps gaining near-diagonal points, so grows with the number of diagrams)
against every diagram under W2 with the Euclidean ground metric.  In the
rotated coordinates u = (b+d)/√2, v = (d-b)/√2 the squared distance to the
diagonal is v², and matching x with y beats sending both to the diagonal iff
(u_x - u_y)² < 2 v_x v_y.  Candidate pairs are therefore found by a range
search in u inside bands of v, and each diagram's matching reduces to a tiny
assignment problem over its candidate pairs (most have no conflicts at all)
instead of a dense (|Y|+1) x (n+1) transport problem.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from topofd.tda.pot_replay import REPLAY_BUILT, gudhi_matching, import_pot

__all__ = ["lagrangian_barycenter", "DEFAULT_MAX_ITER"]

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


def _dup_mask(A):
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
        flags.append(diag_of_x[xi[_dup_mask(np.stack([xi, s.view(np.int64)], axis=1))]])
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


DEFAULT_MAX_ITER = 1000
"""Default iteration cap.  Runs that reach the fixed point stop far below it
(the 1,550-patch BRCA-M2C test protocol: 14, 84 and 22 iterations; random
train subsets of 10-1,550 diagrams: at most 43, ``benchmarks/README.md``),
and every cycle seen there was found by iteration 27, so it only bounds a
transient or a cycle longer than a dozen times what was measured.  At
1,550 Rips diagrams an iteration costs ~0.3 s, so the cap bounds a run to
minutes."""


def _state_key(Y: np.ndarray) -> bytes:
    # A 128-bit digest of the exact bytes (and shape) instead of the bytes
    # themselves: Y can hold thousands of points and a run keeps one key per
    # iteration, up to the cap.
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    h.update(np.asarray(Y.shape, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(Y).tobytes())
    return h.digest()


def lagrangian_barycenter(
    diagrams, init=0, *, max_iter: int | None = None, return_log: bool = False, n_threads: int = 1
):
    """Fréchet mean estimate of persistence diagrams under W2 (Turner et al.
    2014, Alg. 1), gudhi's ``lagrangian_barycenter`` variant.  The loop is
    long on purpose: one piece, so that it reads step by step against
    gudhi's, whose numbers it must reproduce bit for bit.

    Parameters
    ----------
    diagrams : sequence of ``(n_i, 2)`` finite diagrams (``n_i`` may be 0).
    init : int index of the starting diagram (the paper protocol: 0) or an
        ``(n, 2)`` array.
    max_iter : stop after this many iterations (``None``:
        :data:`DEFAULT_MAX_ITER`).
    return_log : also return a log dict (below).
    n_threads : threads for the tie-breaking transport problems (same result
        for any value).

    Notes
    -----
    Returns an ``(k, 2)`` array (``(0, 2)`` when every diagram is empty); for
    an empty sequence, ``None`` (as gudhi).

    Each iteration: match the estimate Y to every diagram; every point of Y
    moves to the mean of its matched points with the diagonal projection of
    that mean standing in for the diagrams where it went to the diagonal;
    points matched in no diagram disappear; every diagram point matched to the
    diagonal adds the point (x + (m-1)·proj(x))/m.

    Stopping (the first that happens):

    * ``"fixed point"`` — gudhi's rule: no point is added and Y did not move.
      Returns that Y, bit for bit what gudhi returns, after as many iterations.
    * ``"cycle"`` — Y is, byte for byte, a state seen before.  The map from
      one state to the next depends only on the state, so the iteration would
      repeat the same states forever (gudhi never returns).  Alg. 1 descends
      the Fréchet function F(Y) = Σ_i W2(Y, D_i)², so the state of the cycle
      with the lowest F is returned (ties: the first in the cycle, counted
      from its first occurrence).  F is summed over the same optimal matchings
      the iteration computes.
    * ``"max_iter"`` — the cap was reached with neither: the last state is
      returned (what an explicit ``max_iter`` has always returned; its F is
      not known without one more matching, so ``cost`` is ``None``).

    The log: ``nb_iter`` (iterations run), ``converged`` (True only at a fixed
    point), ``stopped`` (one of the above), ``cycle_length`` (the period, 0
    when no cycle), ``cycle_start`` (the number of updates that first reached
    a state of the cycle, 0 being the initial diagram; ``None`` when no
    cycle), ``cycle_costs`` (F of each state of the cycle, in order from
    there), ``state`` (the number of updates that produced the returned
    state) and ``cost`` (F of the returned state; ``None`` when stopped by
    the cap).
    """
    X = [np.asarray(d, dtype=np.float64).reshape(-1, 2) for d in diagrams]
    m = len(X)
    if m == 0:
        log = {
            "nb_iter": 0,
            "converged": True,
            "stopped": "fixed point",
            "cycle_length": 0,
            "cycle_start": None,
            "cycle_costs": [],
            "state": 0,
            "cost": None,
        }
        return (None, log) if return_log else None
    for i, d in enumerate(X):
        if not np.isfinite(d).all():
            raise ValueError(f"diagram {i} has non-finite points; the barycenter takes finite diagrams")
    if max_iter is None:
        max_iter = DEFAULT_MAX_ITER
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    Y = (X[init] if isinstance(init, (int, np.integer)) else np.asarray(init, dtype=np.float64).reshape(-1, 2)).copy()
    sizes = np.array([len(d) for d in X])
    P = np.concatenate(X) if sizes.sum() else np.zeros((0, 2))
    diag_of_x = np.repeat(np.arange(m), sizes)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # twins inside one diagram: rows (diagram, b, d) seen twice, all diagrams at once
    dupX = _dup_mask(np.column_stack([diag_of_x.astype(np.float64), P]))
    uX = (P[:, 0] + P[:, 1]) / _S2
    vX = (P[:, 1] - P[:, 0]) / _S2
    half = 2 ** (1.0 / 2.0 - 1)
    diagX = ((P[:, 1] - P[:, 0]) * half) ** 2.0

    def step(Y):
        """One update of Alg. 1: ``(next state, fixed point reached, F(Y))``."""
        uY = (Y[:, 0] + Y[:, 1]) / _S2
        vY = (Y[:, 1] - Y[:, 0]) / _S2
        xi, yi, s = _candidates(uX, vX, uY, vY)
        # Identical points make the optimal matching non-unique, and which
        # copy the published computation picks is an artefact of its
        # transport solver that changes the estimate.  Diagrams facing such a
        # tie are matched by that same solver (gudhi's wasserstein_distance on
        # the full problem); the rest have a unique optimum, found fast.
        mx, my = _match(diag_of_x, xi, yi, s)
        tied = _tied_diagrams(diag_of_x, xi, yi, s, mx, my, _dup_mask(Y), dupX)
        if len(tied):
            keep = ~np.isin(diag_of_x[mx], tied)
            gx, gy = [mx[keep]], [my[keep]]
            # the solver releases the GIL: threads share the cores, results keep their order
            if n_threads > 1 and len(tied) > 1:
                from concurrent.futures import ThreadPoolExecutor

                if not REPLAY_BUILT:
                    import_pot()
                with ThreadPoolExecutor(n_threads) as ex:
                    found = list(ex.map(lambda i: gudhi_matching(Y, X[i]), tied))
            else:
                found = [gudhi_matching(Y, X[i]) for i in tied]
            for i, (x_local, y_idx) in zip(tied, found):
                gx.append(offsets[i] + x_local)
                gy.append(y_idx)
            mx, my = np.concatenate(gx), np.concatenate(gy)
        # means in the order gudhi accumulates them: by diagram index
        order = np.argsort(mx, kind="stable")
        mx, my = mx[order], my[order]
        K = len(Y)
        k = np.bincount(my, minlength=K).astype(np.float64)
        unmatched = np.ones(len(P), dtype=bool)
        unmatched[mx] = False
        # F(Y) from these optimal matchings: matched pairs, plus every point
        # left to the diagonal (a point of Y in each diagram that skips it)
        diagY = ((Y[:, 1] - Y[:, 0]) * half) ** 2.0
        cost = float(((P[mx] - Y[my]) ** 2).sum() + ((m - k) * diagY).sum() + diagX[unmatched].sum())
        sb = np.bincount(my, weights=P[mx, 0], minlength=K)
        sd = np.bincount(my, weights=P[mx, 1], minlength=K)
        with np.errstate(invalid="ignore", divide="ignore"):
            wb, wd = sb / k, sd / k
        wdel = (wb + wd) / 2
        nb = (k * wb + (m - k) * wdel) / m
        nd = (k * wd + (m - k) * wdel) / m
        keep = (k > 0) & ~((nb == 0) & (nd == 0))
        updated = np.stack([nb[keep], nd[keep]], axis=1)
        if unmatched.any():
            x = P[unmatched]
            xdel = (x[:, 0] + x[:, 1]) / 2
            new = np.stack([(x[:, 0] + (m - 1) * xdel) / m, (x[:, 1] + (m - 1) * xdel) / m], axis=1)
            return np.concatenate([updated, new]), False, cost
        return updated, np.array_equal(updated, Y), cost

    # seen: state key -> number of updates that produced it (0: the start);
    # costs[t]: F of the state after t updates
    seen = {_state_key(Y): 0}
    costs: list[float] = []
    log = {
        "nb_iter": 0,
        "converged": False,
        "stopped": "max_iter",
        "cycle_length": 0,
        "cycle_start": None,
        "cycle_costs": [],
        "state": None,
        "cost": None,
    }
    nb_iter = 0
    while True:
        nb_iter += 1
        Y, fixed, cost = step(Y)
        costs.append(cost)
        if fixed:
            log.update(converged=True, stopped="fixed point", state=nb_iter, cost=cost)
            break
        key = _state_key(Y)
        first = seen.get(key)
        if first is not None:
            cycle = costs[first:]
            best = int(np.argmin(cycle))  # first minimum: ties go to the earliest state
            # Y equals the state after `first` updates; the chosen one is
            # `best` updates further round the cycle (replayed, not stored)
            for _ in range(best):
                Y, _, _ = step(Y)
            log.update(
                stopped="cycle",
                cycle_length=len(cycle),
                cycle_start=first,
                cycle_costs=cycle,
                state=first + best,
                cost=cycle[best],
            )
            break
        seen[key] = nb_iter
        if nb_iter >= max_iter:
            log["state"] = nb_iter
            break
    log["nb_iter"] = nb_iter
    return (Y, log) if return_log else Y

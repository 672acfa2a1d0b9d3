"""Wasserstein barycenter of persistence diagrams (Turner et al. 2014).

:func:`lagrangian_barycenter` runs the same fixed-point iteration as
``gudhi.wasserstein.barycenter.lagrangian_barycenter`` (Turner, Mileyko,
Mukherjee & Harer, "Fréchet means for distributions of persistence diagrams",
DCG 2014, Alg. 1), with the same updates in the same floating-point order, so
it returns the same estimate.  TopoCellGen (Sec. 3.4, Eq. 11) takes the mean
of the landscape distribution at this barycenter.

Each iteration matches the current estimate to every diagram
(:class:`topofd.tda.barycenter_matching.DiagramMatcher`, same pairs as
gudhi's, ties included) and moves it to the matched means.
"""

from __future__ import annotations

import numpy as np

from topofd.tda.barycenter_matching import DiagramMatcher

__all__ = ["lagrangian_barycenter", "DEFAULT_MAX_ITER"]


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
    diagrams,
    init=0,
    *,
    max_iter: int | None = None,
    return_log: bool = False,
    n_threads: int = 1,
    published_ties: bool = True,
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
    published_ties : where a matching is not unique, take the pairs gudhi's
        solver returns (the default: the published estimate, bit for bit);
        ``False`` keeps any optimal matching, several times faster on Rips
        diagrams, for estimates that need not be gudhi's (the subsamples of
        the ``paper`` interval).

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
    matcher = DiagramMatcher(X, n_threads, published_ties)
    P = matcher.P
    half = 2 ** (1.0 / 2.0 - 1)
    diagX = ((P[:, 1] - P[:, 0]) * half) ** 2.0

    def step(Y):
        """One update of Alg. 1: ``(next state, fixed point reached, F(Y))``."""
        mx, my = matcher(Y)
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

"""Global envelope tests (Myllymäki, Mrkvička, Grabarnik, Seijo &
Hahn 2017, *Global envelope tests for spatial processes*, JRSS B 79:381–404).

Given s curves T_1..T_s drawn under the null (here: the real set's pooled
function on s disjoint groups of layouts) and an observed curve T_0 (the
synthetic set's, on a group of the same size), every curve gets at each
radius its two-sided pointwise rank among the s + 1 values,
R_i(r) = min(rank from below, rank from above) (ties take the less extreme
rank), and its extreme rank R_i = min_r R_i(r).  Extreme ranks tie often
with few curves, so curves are ordered by their extreme rank *lengths*
(ERL): the vectors of pointwise ranks sorted ascending, compared
lexicographically (smaller = more extreme; Myllymäki et al. 2017, and the
GET package's ``type = "erl"``).  The p-value is the fraction of the s + 1
curves at least as extreme as T_0; the 100(1 − α) % envelope is the
pointwise range of the null curves whose own p-value exceeds α.

The rank measure ignores how far a curve is out: a null curve that sits at
the edge over many (correlated) radii counts as more extreme than one far
out over a few.  The **studentized** global envelope of the same paper
(discussed in the same paper; ``type = "st"`` in the GET package) weighs the size of the departure:
m_i = max_r |T_i(r) − T̄(r)| / sd(r), T̄ and sd the pointwise mean and
standard deviation of the null curves; the p-value is the fraction of the
s + 1 curves with m_i ≥ m_0, and the envelope T̄(r) ± u_α sd(r), u_α the
100(1 − α) % quantile (the ⌈(1 − α)(s + 1)⌉-th smallest) of the null m_i.
``spatial_l`` uses it: a generator's error at small r (a few radii) must
not be outranked by the large-r swings of a relabelling.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pointwise_ranks", "erl_order", "rank_envelope_test", "studentized_envelope_test"]


def pointwise_ranks(curves: np.ndarray) -> np.ndarray:
    """``(n, R)`` two-sided ranks of each curve among the n at each radius."""
    from scipy.stats import rankdata

    T = np.asarray(curves, float)
    up = rankdata(T, method="max", axis=0)
    down = rankdata(-T, method="max", axis=0)
    return np.minimum(up, down)


def erl_order(curves: np.ndarray) -> np.ndarray:
    """For each curve, the number of curves at least as extreme (ERL ordering), ``(n,)``."""
    ranks = np.sort(pointwise_ranks(curves), axis=1)
    n = len(ranks)
    # a curve's vector is ≤ another's lexicographically: count, for each i, the j with vec_j ≤ vec_i
    order = np.lexsort(ranks.T[::-1])
    pos = np.empty(n, dtype=np.int64)
    sorted_rows = ranks[order]
    same_as_prev = np.r_[False, (sorted_rows[1:] == sorted_rows[:-1]).all(axis=1)]
    # the last position of each run of equal vectors: how many are ≤ it
    last = np.empty(n, dtype=np.int64)
    end = n - 1
    for q in range(n - 1, -1, -1):
        last[q] = end
        if not same_as_prev[q]:
            end = q - 1
    pos[order] = last + 1
    return pos


def rank_envelope_test(observed: np.ndarray, null: np.ndarray, alpha: float = 0.05) -> dict:
    """ERL global envelope test of ``observed`` ``(R,)`` against ``null``
    ``(s, R)``: ``{"p": p-value, "lo", "hi": the 100(1 − α) % envelope,
    "outside": radii where the observed curve leaves it}``; radii where any
    curve is NaN are left out of the test."""
    T = np.vstack([np.asarray(observed, float)[None, :], np.asarray(null, float)])
    ok = np.isfinite(T).all(axis=0)
    R = T.shape[1]
    if not ok.any() or len(T) < 3:
        nan = np.full(R, np.nan)
        return {"p": float("nan"), "lo": nan, "hi": nan, "outside": np.zeros(R, dtype=bool)}
    count = erl_order(T[:, ok])
    p_all = count / len(T)
    keep = T[1:][p_all[1:] > alpha]
    if not len(keep):
        keep = T[1:]
    lo, hi = np.full(R, np.nan), np.full(R, np.nan)
    lo[ok], hi[ok] = keep[:, ok].min(axis=0), keep[:, ok].max(axis=0)
    outside = ok & ((T[0] < lo) | (T[0] > hi))
    return {"p": float(p_all[0]), "lo": lo, "hi": hi, "outside": outside}


def studentized_envelope_test(observed: np.ndarray, null: np.ndarray, alpha: float = 0.05) -> dict:
    """Studentized global envelope test of ``observed`` ``(R,)`` against
    ``null`` ``(s, R)``: ``{"p", "lo", "hi", "outside"}`` as
    :func:`rank_envelope_test`; radii where any curve is NaN, or the null
    curves do not vary, are left out."""
    T = np.vstack([np.asarray(observed, float)[None, :], np.asarray(null, float)])
    R = T.shape[1]
    nan = np.full(R, np.nan)
    if len(T) < 3:
        return {"p": float("nan"), "lo": nan, "hi": nan, "outside": np.zeros(R, dtype=bool)}
    ok = np.isfinite(T).all(axis=0)
    mu = np.where(ok, np.nanmean(np.where(ok, T[1:], 0.0), axis=0), np.nan)
    sd = np.where(ok, np.std(np.where(ok, T[1:], 0.0), axis=0, ddof=1), np.nan)
    # a spread of rounding size (a channel identical in both sets, summed in another order) is no spread
    ok &= sd > 1e-9 * max(1.0, float(np.nanmax(np.abs(np.where(ok, T, 0.0)))))
    if not ok.any():
        return {"p": float("nan"), "lo": nan, "hi": nan, "outside": np.zeros(R, dtype=bool)}
    m = np.max(np.abs(T[:, ok] - mu[ok]) / sd[ok], axis=1)
    s = len(T) - 1
    k = min(s, int(np.ceil((1 - alpha) * (s + 1))))
    u = float(np.sort(m[1:])[k - 1])
    lo, hi = np.full(R, np.nan), np.full(R, np.nan)
    lo[ok], hi[ok] = mu[ok] - u * sd[ok], mu[ok] + u * sd[ok]
    outside = ok & ((T[0] < lo) | (T[0] > hi))
    return {"p": float(np.mean(m >= m[0])), "lo": lo, "hi": hi, "outside": outside}

"""Second-order and nearest-neighbour summary functions of multi-type point
patterns on a rectangular window ``[0, H] x [0, W]`` (points ``(row, col)``).

* Ripley's K, cross-type (Lotwick & Silverman 1982; spatstat ``Kcross``),
  with the **translation** edge correction (Ohser 1983; Stoyan & Stoyan
  1994, Eq. 15.11): for classes a and b,

      K_ab(r) = A / (n_a n_b) · Σ_{x∈a} Σ_{y∈b, y≠x} 1{‖x − y‖ ≤ r} · A / |W ∩ W_{x−y}|,

  |W ∩ W_h| = (H − |h_row|)(W − |h_col|).  For a = b the intensity product
  is estimated by n(n − 1)/A² (as spatstat's ``Kest`` and astropy's
  ``RipleysKEstimator`` do).  The weight is symmetric in x, y, so
  K_ab = K_ba: the K-type functions are functions of unordered pairs.
* Besag's L(r) = √(K(r)/π) (L(r) = r under complete spatial randomness).
* The pair-correlation function g on the annuli of the radius grid,
  g(r_{j−1}, r_j] = (K(r_j) − K(r_{j−1})) / (π (r_j² − r_{j−1}²)) — the
  ring (histogram) estimator of g = K′/(2πr), exact for the translation
  weights, without a smoothing bandwidth.
* The cross-type nearest-neighbour distribution G_ab(r) (spatstat
  ``Gcross``): the fraction of a-points whose nearest b-point lies within
  r, with the reduced-sample (border) correction
  G(r) = #{x: d_x ≤ r ≤ e_x} / #{x: e_x ≥ r}, e_x the distance from x to
  the window's boundary (a translation weight does not apply to a nearest
  neighbour).

Replicated patterns (the layouts of a set) are pooled by the ratio
estimator of spatstat's ``pool`` for ratio objects (Baddeley, Moyeed,
Howard & Boyde 1993): K_pooled = Σ_i num_i / Σ_i den_i with
den_i = n_a n_b / A_i² — each layout weighted by its point-pair count; the
same for G with the reduced-sample counts.  :class:`PairSums` keeps these
sums per bin of layouts (jackknife groups, envelope groups), so that memory
does not grow with the number of layouts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.spatial import cKDTree

from topofd.spatial.pool import binned_sums

__all__ = [
    "radius_grid",
    "pair_numerator",
    "k_denominator",
    "k_function",
    "l_function",
    "pcf_from_k",
    "nn_counts",
    "g_function",
    "class_pairs",
    "layout_sums",
    "PairSums",
    "accumulate",
]


def radius_grid(windows: Sequence[tuple[float, float]], n: int, fraction: float = 0.25) -> np.ndarray:
    """``n`` radii ``r_j = j · r_max / n``, r_max = ``fraction`` of the shortest window side."""
    side = min(min(w) for w in windows)
    return np.arange(1, n + 1) * (fraction * float(side) / n)


def pair_numerator(pa: np.ndarray, pb: np.ndarray | None, window, radii: np.ndarray) -> np.ndarray:
    """Σ 1{‖x − y‖ ≤ r} / |W ∩ W_{x−y}| at each radius: over x ∈ ``pa``,
    y ∈ ``pb`` (``pb`` None: ordered pairs x ≠ y of ``pa``)."""
    H, W = float(window[0]), float(window[1])
    R = len(radii)
    rmax = float(radii[-1])
    if pb is None:
        if len(pa) < 2:
            return np.zeros(R)
        ij = cKDTree(pa).query_pairs(rmax, output_type="ndarray")
        i, j, twice = ij[:, 0], ij[:, 1], 2.0
    else:
        if not len(pa) or not len(pb):
            return np.zeros(R)
        m = cKDTree(pa).sparse_distance_matrix(cKDTree(pb), rmax, output_type="ndarray")
        i, j, twice = m["i"], m["j"], 1.0
    h = np.abs(pa[i] - (pa if pb is None else pb)[j])
    d = np.hypot(h[:, 0], h[:, 1])
    w = twice / ((H - h[:, 0]) * (W - h[:, 1]))
    # the first radius ≥ d: the pair counts at that radius and every larger one
    at = np.searchsorted(radii, d, side="left")
    return np.cumsum(np.bincount(at, weights=w, minlength=R + 1)[:R])


def k_denominator(n_a: int, n_b: int | None, window) -> float:
    """The intensity product λ_a λ_b (n(n − 1)/A² for one class, ``n_b`` None)."""
    A = float(window[0]) * float(window[1])
    return (n_a * (n_a - 1) if n_b is None else n_a * n_b) / A**2


def k_function(pa: np.ndarray, pb: np.ndarray | None, window, radii) -> np.ndarray:
    """K_ab(r) of one pattern (``pb`` None: K_aa), translation-corrected; NaN
    when a class has too few points."""
    radii = np.asarray(radii, float)
    den = k_denominator(len(pa), None if pb is None else len(pb), window)
    if den <= 0:
        return np.full(len(radii), np.nan)
    return pair_numerator(np.asarray(pa, float), None if pb is None else np.asarray(pb, float), window, radii) / den


def l_function(K: np.ndarray) -> np.ndarray:
    """Besag's L = √(K/π)."""
    return np.sqrt(np.maximum(np.asarray(K, float), 0.0) / np.pi)


def pcf_from_k(radii: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(annulus midpoints, g)``: the ring estimator of g on (r_{j−1}, r_j], r_0 = 0, K(0) = 0."""
    r = np.concatenate([[0.0], np.asarray(radii, float)])
    k = np.concatenate([[0.0], np.asarray(K, float)])
    return (r[1:] + r[:-1]) / 2.0, np.diff(k) / (np.pi * np.diff(r**2))


def nn_counts(pa: np.ndarray, pb: np.ndarray | None, window, radii) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Reduced-sample counts of G_ab: ``(#{x: d_x ≤ r ≤ e_x}, #{x: e_x ≥ r})``
    at each radius, and the sum and number of the nearest distances d_x
    (x ∈ ``pa``, nearest in ``pb``; ``pb`` None: nearest other point of ``pa``)."""
    radii = np.asarray(radii, float)
    R = len(radii)
    other = pa if pb is None else pb
    skip = 1 if pb is None else 0
    if len(pa) == 0 or len(other) <= skip:
        return np.zeros(R), np.zeros(R), 0.0, 0
    d, _ = cKDTree(other).query(pa, k=1 + skip)
    d = d[:, skip] if skip else np.asarray(d).ravel()
    H, W = float(window[0]), float(window[1])
    e = np.minimum(np.minimum(pa[:, 0], H - pa[:, 0]), np.minimum(pa[:, 1], W - pa[:, 1]))
    inside = e[None, :] >= radii[:, None]
    num = (inside & (d[None, :] <= radii[:, None])).sum(axis=1).astype(float)
    return num, inside.sum(axis=1).astype(float), float(d.sum()), len(d)


def g_function(pa, pb, window, radii) -> np.ndarray:
    """G_ab(r) of one pattern, reduced-sample (NaN where no point is far enough from the boundary)."""
    num, den, _, _ = nn_counts(np.asarray(pa, float), None if pb is None else np.asarray(pb, float), window, radii)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def class_pairs(n_classes: int) -> list[tuple[int, int]]:
    """Unordered class pairs (a ≤ b), same-type first within each a."""
    return [(a, b) for a in range(n_classes) for b in range(a, n_classes)]


def _intervals(start: np.ndarray, stop: np.ndarray, cell: np.ndarray, n_cells: int, R: int) -> np.ndarray:
    """``(n_cells, R)``: per cell, the number of items i whose grid index
    range ``start[i] ≤ j < stop[i]`` covers j (difference arrays)."""
    keep = start < stop
    diff = np.bincount(cell[keep] * (R + 1) + start[keep], minlength=n_cells * (R + 1))
    diff = diff - np.bincount(cell[keep] * (R + 1) + stop[keep], minlength=n_cells * (R + 1))
    return np.cumsum(diff.reshape(n_cells, R + 1), axis=1)[:, :R].astype(float)


def layout_sums(P: Sequence[np.ndarray], window, radii: np.ndarray, rows: int = 1024):
    """All class pairs of one layout at once, from its full distance matrix
    (taken ``rows`` cells at a time): ``(k_num, k_den, g_num, g_den)`` —
    ``k_num[a, b, r]`` = Σ_{x∈a, y∈b, y≠x} 1{‖x − y‖ ≤ r} / |W ∩ W_{x−y}|
    (:func:`pair_numerator`), ``k_den[a, b]`` (:func:`k_denominator`), and
    the reduced-sample counts of G_ab (:func:`nn_counts`)."""
    C, R = len(P), len(radii)
    H, W = float(window[0]), float(window[1])
    n_c = np.array([len(p) for p in P])
    off = np.r_[0, np.cumsum(n_c)]
    X = np.concatenate([np.asarray(p, float).reshape(-1, 2) for p in P]) if C else np.zeros((0, 2))
    lab = np.repeat(np.arange(C), n_c)
    k_num = np.zeros(C * C * (R + 1))
    nearest = np.full((len(X), C), np.inf)
    for s in range(0, len(X), rows):
        idx = np.arange(s, min(s + rows, len(X)))
        dr = np.abs(X[idx, 0, None] - X[None, :, 0])
        dc = np.abs(X[idx, 1, None] - X[None, :, 1])
        d = np.hypot(dr, dc)
        d[np.arange(len(idx)), idx] = np.inf  # a point is not its own neighbour
        i, j = np.nonzero(d <= radii[-1])
        w = 1.0 / ((H - dr[i, j]) * (W - dc[i, j]))
        at = np.searchsorted(radii, d[i, j], side="left")
        k_num += np.bincount((lab[idx[i]] * C + lab[j]) * (R + 1) + at, weights=w, minlength=C * C * (R + 1))
        for c in np.flatnonzero(n_c):
            nearest[idx, c] = d[:, off[c] : off[c + 1]].min(axis=1)
    k_num = np.cumsum(k_num.reshape(C, C, R + 1), axis=2)[..., :R]
    k_den = (np.outer(n_c, n_c) - np.diag(n_c)) / (H * W) ** 2
    e = np.minimum(np.minimum(X[:, 0], H - X[:, 0]), np.minimum(X[:, 1], W - X[:, 1]))
    stop = np.repeat(np.searchsorted(radii, e, side="right"), C)  # radii ≤ e, per (cell, b)
    cell = (lab[:, None] * C + np.arange(C)[None, :]).ravel()  # the pair (a, b) of each (cell, b)
    has = np.isfinite(nearest).ravel()
    start = np.searchsorted(radii, nearest.ravel()[has], side="left")  # radii ≥ d
    g_num = _intervals(start, stop[has], cell[has], C * C, R).reshape(C, C, R)
    g_den = _intervals(np.zeros(int(has.sum()), np.int64), stop[has], cell[has], C * C, R).reshape(C, C, R)
    return k_num, k_den, g_num, g_den


@dataclass
class PairSums:
    """Pooling sums per bin of layouts, over ordered class pairs:
    ``k_num[bin, a, b, r]``, ``k_den[bin, a, b]`` (K_ab = K_ba), and
    ``g_num``, ``g_den[bin, a, b, r]`` (G_ab)."""

    radii: np.ndarray
    k_num: np.ndarray
    k_den: np.ndarray
    g_num: np.ndarray
    g_den: np.ndarray

    def select(self, bins) -> PairSums:
        """The sums over the bins where ``bins`` (a mask, indices or a slice) holds."""
        b = bins if isinstance(bins, slice) else np.asarray(bins)
        return PairSums(
            self.radii,
            self.k_num[b].sum(0, keepdims=True),
            self.k_den[b].sum(0, keepdims=True),
            self.g_num[b].sum(0, keepdims=True),
            self.g_den[b].sum(0, keepdims=True),
        )

    def plus(self, other: PairSums) -> PairSums:
        """These sums and ``other`` 's (two sets of layouts as one)."""
        return PairSums(
            self.radii,
            self.k_num + other.k_num,
            self.k_den + other.k_den,
            self.g_num + other.g_num,
            self.g_den + other.g_den,
        )

    def minus(self, other: PairSums) -> PairSums:
        """These sums less ``other`` 's (a set without some of its layouts)."""
        return PairSums(
            self.radii,
            self.k_num - other.k_num,
            self.k_den - other.k_den,
            self.g_num - other.g_num,
            self.g_den - other.g_den,
        )

    def K(self) -> np.ndarray:
        """Pooled K per bin over the unordered pairs of :func:`class_pairs`:
        ``(bins, pairs, R)``; NaN where no layout has the pair."""
        C = self.k_den.shape[1]
        a, b = np.array(class_pairs(C), dtype=np.int64).reshape(-1, 2).T
        num, den = self.k_num[:, a, b], self.k_den[:, a, b][..., None]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

    def L(self) -> np.ndarray:
        return l_function(self.K())

    def G(self) -> np.ndarray:
        """Pooled G per bin: ``(bins, C, C, R)``."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.g_den > 0, self.g_num / np.where(self.g_den > 0, self.g_den, 1.0), np.nan)


def _layout_item(item, radii: np.ndarray):
    return layout_sums(item[0], item[1], radii)


def accumulate(points: Sequence, windows: Sequence, radii: np.ndarray, member: np.ndarray, n_jobs: int = 1) -> PairSums:
    """:class:`PairSums` of the layouts ``points[i][k]`` (``(n, 2)`` per
    class), windows ``(H, W)``: bin q sums the layouts i with weight
    ``member[q, i]`` (bins may overlap); on ``n_jobs`` processes, the same
    sums for any value (:func:`topofd.spatial.pool.binned_sums`)."""
    radii = np.asarray(radii, float)
    n_bins, n = member.shape
    C = len(points[0]) if n else 0
    R = len(radii)
    got = binned_sums(partial(_layout_item, radii=radii), list(zip(points, windows)), member, n_jobs)
    if got is None:
        z = np.zeros((n_bins, C, C, R))
        return PairSums(radii, z, np.zeros((n_bins, C, C)), z.copy(), z.copy())
    return PairSums(radii, *got)

"""Maximum mean discrepancy between sets of persistence diagrams
(TopoCellGen Suppl. Sec. 11).

Kernel k(D_i, D_j) = exp(-W1(D_i, D_j) / σ²) with W1 the 1-Wasserstein
distance between diagrams (gudhi's defaults: order 1, L∞ ground metric).
σ² is the median of the pooled pairwise W1 distances unless given (the median
heuristic), so the kernel is e^{-1} at the median distance.

This kernel is not positive definite on diagrams (W1 is not a Hilbert
distance), so MMD² estimates can be negative even for the biased estimator:
they are reported as they are, with a note, never clamped.

Estimators of MMD² (Gretton et al. 2012, Eqs. 3 and 5): ``biased``
(V-statistic, all pairs) and ``unbiased`` (U-statistic, no self pairs).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .wasserstein import pairwise_wasserstein

__all__ = ["MMDResult", "mmd_from_distances", "mmd"]


@dataclass
class MMDResult:
    mmd2: float
    sigma: float
    estimator: str
    p_value: float | None = None
    n_permutations: int = 0
    notes: list[str] = field(default_factory=list)


def _estimate(K: np.ndarray, n: int, unbiased: bool, origin: np.ndarray | None = None) -> float:
    """MMD² from a pooled kernel matrix (first ``n`` rows: X).  ``origin``
    (bootstrap resamples): the original index of each row; pairs of copies of
    the same diagram are left out of the within-set means, as the U-statistic
    leaves out self pairs."""
    Kxx, Kyy, Kxy = K[:n, :n], K[n:, n:], K[:n, n:]
    m = K.shape[0] - n
    if unbiased and origin is not None:
        ox, oy = origin[:n], origin[n:]
        mx, my = ox[:, None] != ox[None, :], oy[:, None] != oy[None, :]
        if not mx.any() or not my.any():
            raise ValueError("the unbiased MMD estimator needs at least 2 distinct diagrams per set")
        return float(Kxx[mx].mean() + Kyy[my].mean() - 2.0 * Kxy.mean())
    if unbiased:
        if n < 2 or m < 2:
            raise ValueError("the unbiased MMD estimator needs at least 2 diagrams per set")
        sxx = (Kxx.sum() - np.trace(Kxx)) / (n * (n - 1))
        syy = (Kyy.sum() - np.trace(Kyy)) / (m * (m - 1))
    else:
        sxx, syy = Kxx.mean(), Kyy.mean()
    return float(sxx + syy - 2.0 * Kxy.mean())


def mmd_from_distances(
    W: np.ndarray,
    n_x: int,
    *,
    sigma: float | None = None,
    estimator: str = "unbiased",
    permutations: int = 0,
    seed: int = 0,
) -> MMDResult:
    """MMD² from the pooled ``(n_x + n_y)²`` W1 distance matrix (first ``n_x``
    rows: set X).  ``permutations > 0`` adds a permutation-test p-value
    (label shuffles of the pooled sample, seeded)."""
    if estimator not in ("biased", "unbiased"):
        raise ValueError(f"estimator must be 'biased' or 'unbiased', not {estimator!r}")
    N = W.shape[0]
    if n_x < 1 or N - n_x < 1:
        raise ValueError("MMD needs at least one diagram in each set")
    notes = []
    if sigma is None:
        off = W[np.triu_indices(N, 1)]
        med = float(np.median(off)) if off.size else 0.0
        if med <= 0:
            med = 1.0
            notes.append("median pairwise W1 distance is 0 (most diagrams empty): sigma set to 1")
        sigma = float(np.sqrt(med))
    elif sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    K = np.exp(-W / sigma**2)
    unbiased = estimator == "unbiased"
    value = _estimate(K, n_x, unbiased)
    if value < 0:
        notes.append("negative MMD² estimate (the W1 Gaussian kernel is not positive definite); reported as is")
    p = None
    if permutations:
        rng = np.random.default_rng(seed)
        hits = 0
        for _ in range(permutations):
            perm = rng.permutation(N)
            hits += _estimate(K[np.ix_(perm, perm)], n_x, unbiased) >= value
        p = (1 + hits) / (1 + permutations)
    return MMDResult(value, float(sigma), estimator, p, permutations, notes)


def mmd(
    diagrams_x: Sequence[np.ndarray],
    diagrams_y: Sequence[np.ndarray],
    *,
    sigma: float | None = None,
    estimator: str = "unbiased",
    permutations: int = 0,
    seed: int = 0,
    order: float = 1.0,
    internal_p: float = np.inf,
    n_jobs: int = 1,
) -> MMDResult:
    """MMD² between two sets of diagrams with the W1 Gaussian kernel."""
    pooled = [*diagrams_x, *diagrams_y]
    W = pairwise_wasserstein(pooled, order=order, internal_p=internal_p, n_jobs=n_jobs)
    return mmd_from_distances(W, len(diagrams_x), sigma=sigma, estimator=estimator, permutations=permutations, seed=seed)

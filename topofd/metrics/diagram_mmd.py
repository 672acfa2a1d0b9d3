"""Maximum mean discrepancy between sets of persistence diagrams
(TopoCellGen Suppl. Sec. 11), and the kernel two-sample estimators it shares
with the vector kernels of :mod:`topofd.kid`.

Kernel k(D_i, D_j) = exp(-W1(D_i, D_j) / σ²) with W1 the 1-Wasserstein
distance between diagrams (gudhi's defaults: order 1, L∞ ground metric).
σ² is the median of the pooled pairwise W1 distances unless given (the median
heuristic), so the kernel is e^{-1} at the median distance.

This kernel is not positive definite on diagrams (W1 is not a Hilbert
distance), so MMD² estimates can be negative even for the biased estimator:
they are reported as they are, with a note, never clamped.

Estimators of MMD² (Gretton et al. 2012): ``biased`` (V-statistic, Eq. 5)
and ``unbiased`` (U-statistic, Eq. 3's within-set terms without self pairs).
The cross term leaves out **paired** (real, synthetic) layouts when a pairing
is given — a layout generated from a real window's counts is not an
independent draw beside it, which is the form of Gretton et al.'s Eq. 3 for
paired samples; as a consequence a set compared with itself scores exactly 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from topofd.stats.uncertainty import MIN_LAYOUTS, Estimate, assign_groups, jackknife
from topofd.tda.wasserstein import pairwise_wasserstein

__all__ = ["MMDResult", "mmd2", "mmd2_replicates", "mmd2_jackknife", "permutation_p", "median_sigma", "mmd_from_distances", "mmd", "pair_mask"]


@dataclass
class MMDResult:
    mmd2: float
    sigma: float
    estimator: str
    p_value: float | None = None
    n_permutations: int = 0
    notes: list[str] = field(default_factory=list)
    estimate: Estimate | None = None


def pair_mask(n_x: int, n_y: int, pairs: Sequence[tuple[int, int]] | None) -> np.ndarray | None:
    """``(n_x, n_y)`` boolean mask of the cross pairs the estimator counts
    (False on the given (x, y) pairs), or ``None`` when there are no pairs."""
    if not pairs:
        return None
    m = np.ones((n_x, n_y), dtype=bool)
    p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    m[p[:, 0], p[:, 1]] = False
    return m


def _parts(K: np.ndarray, n: int, unbiased: bool, cross: np.ndarray | None):
    Kxx, Kyy, Kxy = K[:n, :n], K[n:, n:], K[:n, n:]
    if unbiased:
        # masked sums, the same arithmetic as the cross term's: a set paired
        # with an identical copy of itself gives exactly 0, not a rounding residue
        m = Kyy.shape[0]
        sxx, cxx = Kxx[~np.eye(n, dtype=bool)].sum(), n * (n - 1)
        syy, cyy = Kyy[~np.eye(m, dtype=bool)].sum(), m * (m - 1)
    else:
        sxx, cxx = Kxx.sum(), n * n
        syy, cyy = Kyy.sum(), Kyy.shape[0] ** 2
    if cross is None:
        sxy, cxy = Kxy.sum(), Kxy.size
    else:
        sxy, cxy = Kxy[cross].sum(), int(cross.sum())
    return sxx, cxx, syy, cyy, sxy, cxy


def mmd2(K: np.ndarray, n_x: int, *, unbiased: bool = True, cross: np.ndarray | None = None) -> float:
    """MMD² from a pooled kernel matrix (first ``n_x`` rows: X).  ``cross``:
    mask of the counted cross pairs (:func:`pair_mask`)."""
    m = K.shape[0] - n_x
    if unbiased and (n_x < 2 or m < 2):
        raise ValueError("the unbiased MMD estimator needs at least 2 diagrams per set")
    if n_x < 1 or m < 1:
        raise ValueError("MMD needs at least one diagram in each set")
    sxx, cxx, syy, cyy, sxy, cxy = _parts(K, n_x, unbiased, cross)
    if cxy == 0:
        raise ValueError("MMD: every cross pair is a paired layout; nothing to compare")
    return float(sxx / cxx + syy / cyy - 2.0 * sxy / cxy)


def mmd2_replicates(K: np.ndarray, n_x: int, labels: np.ndarray, *, unbiased: bool = True,
                    cross: np.ndarray | None = None) -> list[float]:
    """:func:`mmd2` with each group of Y items (``labels``: group per Y item)
    left out in turn, X fixed; closed form from row and column sums, no
    kernel recomputed."""
    m = K.shape[0] - n_x
    sxx, cxx, syy, cyy, sxy, cxy = _parts(K, n_x, unbiased, cross)
    Kyy, Kxy = K[n_x:, n_x:], K[:n_x, n_x:]
    off = Kyy - np.diag(np.diag(Kyy)) if unbiased else Kyy
    row = off.sum(axis=1)
    col = (Kxy * cross).sum(axis=0) if cross is not None else Kxy.sum(axis=0)
    ncol = cross.sum(axis=0) if cross is not None else np.full(m, n_x)
    out = []
    for g in range(int(labels.max()) + 1):
        idx = np.flatnonzero(labels == g)
        mk = m - len(idx)
        s_yy = syy - 2 * row[idx].sum() + off[np.ix_(idx, idx)].sum()
        c_yy = mk * (mk - 1) if unbiased else mk * mk
        out.append(float(sxx / cxx + s_yy / c_yy - 2.0 * (sxy - col[idx].sum()) / (cxy - ncol[idx].sum())))
    return out


def mmd2_jackknife(K: np.ndarray, n_x: int, value: float, *, unbiased: bool = True, cross: np.ndarray | None = None,
                   n_groups: int = 20, seed: int = 0) -> Estimate:
    """Delete-a-group jackknife of :func:`mmd2` over the Y (synthetic) set,
    X fixed (:mod:`topofd.stats.uncertainty`)."""
    m = K.shape[0] - n_x
    if m < MIN_LAYOUTS:
        return Estimate(value, why=f"{m} synthetic diagrams: fewer than {MIN_LAYOUTS}, no interval")
    labels = assign_groups(m, n_groups, seed)
    return jackknife(value, mmd2_replicates(K, n_x, labels, unbiased=unbiased, cross=cross))


def median_sigma(W: np.ndarray) -> tuple[float, list[str]]:
    """σ of the median heuristic (σ² = median pooled pairwise W1)."""
    N = W.shape[0]
    off = W[np.triu_indices(N, 1)]
    med = float(np.median(off)) if off.size else 0.0
    if med <= 0:
        return 1.0, ["median pairwise W1 distance is 0 (most diagrams empty): sigma set to 1"]
    return float(np.sqrt(med)), []


def mmd_from_distances(
    W: np.ndarray,
    n_x: int,
    *,
    sigma: float | None = None,
    estimator: str = "unbiased",
    permutations: int = 0,
    seed: int = 0,
    pairs: Sequence[tuple[int, int]] | None = None,
    se_groups: int = 0,
) -> MMDResult:
    """MMD² from the pooled ``(n_x + n_y)²`` W1 distance matrix (first ``n_x``
    rows: set X).  ``pairs``: (x, y) index pairs left out of the cross term.
    ``permutations > 0`` adds a permutation-test p-value (label shuffles of
    the pooled sample, seeded; pairs follow their layouts).  ``se_groups > 0``
    adds the jackknife standard error over Y (:func:`mmd2_jackknife`)."""
    if estimator not in ("biased", "unbiased"):
        raise ValueError(f"estimator must be 'biased' or 'unbiased', not {estimator!r}")
    N = W.shape[0]
    if n_x < 1 or N - n_x < 1:
        raise ValueError("MMD needs at least one diagram in each set")
    notes = []
    if sigma is None:
        sigma, notes = median_sigma(W)
    elif sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    K = np.exp(-W / sigma**2)
    unbiased = estimator == "unbiased"
    cross = pair_mask(n_x, N - n_x, pairs)
    value = mmd2(K, n_x, unbiased=unbiased, cross=cross)
    if value < 0:
        notes.append("negative MMD² estimate (the W1 Gaussian kernel is not positive definite); reported as is")
    p = None
    if permutations:
        p = permutation_p(K, n_x, value, permutations, seed, unbiased=unbiased, pairs=pairs)
    est = mmd2_jackknife(K, n_x, value, unbiased=unbiased, cross=cross, n_groups=se_groups, seed=seed) \
        if se_groups else None
    return MMDResult(value, float(sigma), estimator, p, permutations, notes, est)


def permutation_p(K: np.ndarray, n_x: int, value: float, permutations: int, seed: int, *, unbiased: bool = True,
                  pairs: Sequence[tuple[int, int]] | None = None) -> float:
    """Permutation p-value of ``value``: the fraction of seeded relabellings
    of the pooled sample scoring at least as high (+1 smoothing)."""
    N = K.shape[0]
    linked = np.zeros((N, N), dtype=bool)
    if pairs:
        p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        linked[p[:, 0], n_x + p[:, 1]] = linked[n_x + p[:, 1], p[:, 0]] = True
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(permutations):
        perm = rng.permutation(N)
        cross = ~linked[np.ix_(perm[:n_x], perm[n_x:])] if pairs else None
        hits += mmd2(K[np.ix_(perm, perm)], n_x, unbiased=unbiased, cross=cross) >= value
    return (1 + hits) / (1 + permutations)


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
    pairs: Sequence[tuple[int, int]] | None = None,
    se_groups: int = 0,
) -> MMDResult:
    """MMD² between two sets of diagrams with the W1 Gaussian kernel."""
    pooled = [*diagrams_x, *diagrams_y]
    W = pairwise_wasserstein(pooled, order=order, internal_p=internal_p, n_jobs=n_jobs)
    return mmd_from_distances(W, len(diagrams_x), sigma=sigma, estimator=estimator, permutations=permutations,
                              seed=seed, pairs=pairs, se_groups=se_groups)

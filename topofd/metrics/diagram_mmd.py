"""Maximum mean discrepancy between sets of persistence diagrams, and the
kernel two-sample estimators it shares with TopoKD's kernel sums
(:mod:`topofd.metrics.landscape_kd`).

Kernel k(D_i, D_j) = exp(-W1(D_i, D_j) / σ²) with W1 the 1-Wasserstein
distance between diagrams (gudhi's defaults: order 1, L∞ ground metric).
σ² is the median of the pooled pairwise W1 distances unless given (the median
heuristic), so the kernel is e^{-1} at the median distance.  σ per class is
recorded in the report (``meta["sigma"]`` and ``meta["mmd"]["sigma"]``).

This kernel is not positive definite on diagrams (W1 is not a Hilbert
distance), so the estimates can be negative even for the biased estimator:
they are reported as they are, with a note, never clamped.

Estimators (``mmd_estimator``; every report records which one, its
definition, σ per class and the numbers of layouts in ``meta["mmd"]``):

* ``unbiased`` (the default) — **MMD², unbiased**: the U-statistic of
  Gretton et al. 2012, Eq. 3 (within-set terms without self pairs), not
  square-rooted.  The cross term leaves out **paired** (real, synthetic)
  layouts when a pairing is given — a layout generated from a real window's
  counts is not an independent draw beside it, the form of Eq. 3 for paired
  samples.  It is the default because its expectation is the population
  MMD² at every N (no positive bias at small N, which the V-statistic has:
  +O(1/N) from its self pairs) and a set compared with itself scores
  exactly 0.  It is *not* the TopoCellGen supplement's formula (below).
* ``biased`` — MMD², the V-statistic (Gretton et al. Eq. 5), with the same
  paired cross term as ``unbiased``; not square-rooted.
* ``paper`` — **the published formula** (TopoCellGen Suppl. Sec. 11):
  MMD = ‖mean φ(synthetic) − mean φ(real)‖_H, i.e. the square root of the
  biased V-statistic V = mean k(X, X) + mean k(Y, Y) − 2 mean k(X, Y) with
  self pairs and the *full* cross term (no pair left out, paired or not).
  V can be negative (the kernel is not positive definite): the value
  reported is sign(V)·√|V|, with a note.  Its σ is not published: here σ is
  the same explicit, recorded choice as for the other estimators (the
  median heuristic or ``mmd_sigma``), so values are **not comparable with
  Table 1** of the paper.  Interval: the delete-a-group jackknife over the
  synthetic set, each replicate recomputed on the kernel matrix without the
  left-out group (real set and σ fixed).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from topofd.metrics.base import (
    Column,
    Context,
    Metric,
    MetricResult,
    jackknife_method,
    no_interval_reason,
    per_class_column,
    resampling_plan,
)
from topofd.state import SetView
from topofd.stats.uncertainty import MIN_LAYOUTS, Estimate
from topofd.tda.wasserstein import pairwise_wasserstein

__all__ = [
    "mmd2",
    "mmd2_replicates",
    "paper_mmd",
    "paper_mmd_replicates",
    "DEFINITIONS",
    "permutation_p",
    "median_sigma",
    "pair_mask",
    "DiagramMMD",
    "METRIC",
]


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


def mmd2_replicates(
    K: np.ndarray, n_x: int, labels: np.ndarray, *, unbiased: bool = True, cross: np.ndarray | None = None
) -> list[float]:
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


DEFINITIONS = {
    "unbiased": "MMD², unbiased: U-statistic (Gretton et al. 2012, Eq. 3) of k = exp(-W1/σ²), self pairs left out "
    "of the within-set terms, paired (real, synthetic) layouts left out of the cross term; not "
    "square-rooted",
    "biased": "MMD², biased: V-statistic (Gretton et al. 2012, Eq. 5) of k = exp(-W1/σ²), paired (real, synthetic) "
    "layouts left out of the cross term; not square-rooted",
    "paper": "MMD = ||mean φ(synthetic) − mean φ(real)||_H with k = exp(-W1/σ²) (TopoCellGen Suppl. Sec. 11): "
    "sign(V)·sqrt(|V|) of the biased V-statistic with the full cross term; the published formula, its σ "
    "is not published, values are not comparable with Table 1",
}


def paper_mmd(K: np.ndarray, n_x: int) -> tuple[float, float]:
    """``(MMD, V)`` of the supplement's formula from a pooled kernel matrix
    (first ``n_x`` rows: X): V the biased V-statistic with every pair (self
    pairs and the full cross term), MMD = sign(V)·√|V|."""
    v = mmd2(K, n_x, unbiased=False, cross=None)
    return float(np.sign(v) * np.sqrt(abs(v))), v


def paper_mmd_replicates(K: np.ndarray, n_x: int, labels: np.ndarray) -> list[float]:
    """:func:`paper_mmd` with each group of Y items left out in turn (X
    fixed), recomputed on the kernel matrix without the group."""
    out = []
    for g in range(int(labels.max()) + 1):
        keep = np.r_[np.arange(n_x), n_x + np.flatnonzero(labels != g)]
        out.append(paper_mmd(K[np.ix_(keep, keep)], n_x)[0])
    return out


def median_sigma(W: np.ndarray) -> tuple[float, list[str]]:
    """σ of the median heuristic (σ² = median pooled pairwise W1)."""
    N = W.shape[0]
    off = W[np.triu_indices(N, 1)]
    med = float(np.median(off)) if off.size else 0.0
    if med <= 0:
        return 1.0, ["median pairwise W1 distance is 0 (most diagrams empty): sigma set to 1"]
    return float(np.sqrt(med)), []


def permutation_p(
    K: np.ndarray,
    n_x: int,
    value: float,
    permutations: int,
    seed: int,
    *,
    unbiased: bool = True,
    pairs: Sequence[tuple[int, int]] | None = None,
) -> float:
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


class DiagramMMD(Metric):
    name = "mmd"
    summary = "kernel MMD of persistence diagrams (Gaussian kernel on W1)"
    default = True
    columns = (
        Column("mmd", "MMD", "lower", rank=True, help="MMD² of the H1 diagrams (--mmd-estimator)"),
        Column(
            "mmd_p",
            "MMD p",
            "none",
            range=(0.0, 1.0),
            mean=False,
            decimals=3,
            help="permutation p-value (--permutations)",
        ),
    )
    meta_keys = ("sigma", "mmd_estimator", "mmd")

    def score(self, real: SetView, synth: SetView, ctx: Context) -> MetricResult:
        o = ctx.options
        nR, nS = len(real), len(synth)
        sub_r, sub_s, sub_pairs = subsets(nR, nS, ctx.pairs, o.mmd_samples, o.seed)
        nr, ns = len(sub_r), len(sub_s)
        paper = o.mmd_estimator == "paper"
        unbiased = o.mmd_estimator == "unbiased"
        if unbiased and (nr < 2 or ns < 2):
            raise ValueError(f"the unbiased MMD needs at least 2 layouts per set (real {nr}, synthetic {ns})")
        want_se = ctx.want_se and ns >= MIN_LAYOUTS
        mplan = ctx.plan if ns == nS else resampling_plan(real.subset(sub_r), sub_pairs, ns, o.seed)
        lab = mplan.groups(o.se_groups) if want_se else None
        out = MetricResult()
        values, sigmas, pvals = [], {}, {}
        reps: list[list | None] = []
        for k, c in enumerate(ctx.names):
            if ctx.both_empty[k]:
                values.append(np.nan)
                reps.append(None)
                continue
            pooled = real.cls(k, sub_r) + synth.cls(k, sub_s)
            W = pairwise_wasserstein(pooled, order=1.0, internal_p=np.inf, n_jobs=o.n_jobs)
            sigma = o.mmd_sigma
            if sigma is None:
                sigma, why = median_sigma(W)
                out.notes += [f"{c}: {n}" for n in why]
            sigmas[c] = float(sigma)
            K = np.exp(-W / sigma**2)
            cross = None if paper else pair_mask(nr, ns, sub_pairs)
            value, v, r = _class_estimate(K, nr, o.mmd_estimator, cross, lab)
            values.append(value)
            reps.append(r)
            if v < 0:
                out.notes.append(f"{c}: {_NEGATIVE[paper]}".format(v=v))
            if o.permutations:
                pvals[c] = permutation_p(
                    K, nr, v, o.permutations, o.seed, unbiased=unbiased, pairs=None if paper else sub_pairs
                )
        out.cells["mmd"] = per_class_column(ctx.names, values, reps, mplan.jackknife, lab is not None)
        if pvals:
            out.cells["mmd_p"] = {**{c: Estimate(p) for c, p in pvals.items()}, "mean": Estimate(np.nan)}
        out.meta = {
            "sigma": sigmas,
            "mmd_estimator": o.mmd_estimator,
            "mmd": {
                "estimator": o.mmd_estimator,
                "definition": DEFINITIONS.get(o.mmd_estimator, o.mmd_estimator),
                "sigma": dict(sigmas),
                "sigma_rule": "given (mmd_sigma)"
                if o.mmd_sigma is not None
                else "median heuristic: σ² = median pooled pairwise W1",
                "n_real": int(nr),
                "n_synth": int(ns),
            },
        }
        if paper:
            out.notes.append(
                "MMD: the published formula (TopoCellGen Suppl. Sec. 11, sqrt of the biased V-statistic, "
                "full cross term); its σ is not published (here "
                + ("given" if o.mmd_sigma is not None else "the median heuristic")
                + "): values are not comparable with Table 1"
            )
        out.uncertainty["mmd"] = (
            jackknife_method(lab, "real set and kernel width fixed")
            if lab is not None
            else f"none ({no_interval_reason(ns)})"
            if ctx.want_se
            else "none"
        )
        if o.mmd_samples is not None and (o.mmd_samples < nR or o.mmd_samples < nS):
            out.notes.append(f"MMD on a random subset of at most {o.mmd_samples} layouts per set (seed {o.seed})")
        if sub_pairs and not paper:
            out.notes.append("MMD cross term leaves out each synthetic layout's own real counterpart (paired samples)")
        return out


_NEGATIVE = {
    True: "negative V-statistic V = {v:.4g} (the W1 Gaussian kernel is not positive definite): MMD reported as "
    "sign(V)·sqrt(|V|)",
    False: "negative MMD² estimate (the W1 Gaussian kernel is not positive definite); reported as is",
}


def _class_estimate(K: np.ndarray, nr: int, estimator: str, cross, lab):
    """``(reported value, MMD² or V-statistic, jackknife replicates)`` of one
    class from its pooled kernel matrix (first ``nr`` rows: real)."""
    if estimator == "paper":
        value, v = paper_mmd(K, nr)
        return value, v, paper_mmd_replicates(K, nr, lab) if lab is not None else []
    unbiased = estimator == "unbiased"
    v = mmd2(K, nr, unbiased=unbiased, cross=cross)
    return v, v, mmd2_replicates(K, nr, lab, unbiased=unbiased, cross=cross) if lab is not None else []


def subsets(nR: int, nS: int, pairs, k: int | None, seed: int):
    """The layouts MMD is estimated on: ``(real indices, synthetic indices,
    pairs among them)``, at most ``k`` per set, seeded; one-to-one paired
    sets are subsampled by pairs."""
    one_to_one = bool(pairs) and len(pairs) == nR == nS and len({j for _, j in pairs}) == nS
    if one_to_one:
        p = sorted(pairs)
        keep = _subsample(len(p), k, seed, 1)
        sub = [p[i] for i in keep]
        sub_r = np.array([i for i, _ in sub])
        order = np.argsort([j for _, j in sub], kind="stable")
        sub_s = np.array([sub[i][1] for i in order])
        pos_s = {j: q for q, j in enumerate(sub_s)}
        return sub_r, sub_s, [(q, pos_s[j]) for q, (_, j) in enumerate(sub)]
    sub_r, sub_s = _subsample(nR, k, seed, 1), _subsample(nS, k, seed, 2)
    if not pairs:
        return sub_r, sub_s, None
    pr = {i: q for q, i in enumerate(sub_r)}
    ps = {j: q for q, j in enumerate(sub_s)}
    return sub_r, sub_s, [(pr[i], ps[j]) for i, j in pairs if i in pr and j in ps] or None


def _subsample(n, k, seed, stream):
    if k is None or k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, stream]).choice(n, size=k, replace=False))


METRIC = DiagramMMD()

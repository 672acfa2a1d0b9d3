"""Standard errors and 95 % intervals of the scores.

What an interval describes: the spread of a score over **another draw of the
synthetic set from the same generator, with the real set fixed** (the real
test set of a benchmark is fixed; a generator is re-sampled).  The
resampling therefore acts on the synthetic side only, and never duplicates a
layout: the percentile bootstrap does, and biases every score here upwards
(a copy of a layout is a perfect match for itself; a covariance of fewer
distinct samples is smaller), so its intervals can miss their own estimate.

Methods (each validated by ``benchmarks/calibration.py``, which re-draws
known generators and counts how often a single draw's interval covers the
mean over draws; results in ``benchmarks/README.md``):

* **delete-a-group jackknife** (Quenouille–Tukey; grouped form as in Efron &
  Tibshirani 1993, Sec. 11.5) for smooth statistics of the synthetic set —
  ``grid`` TopoFD and its extrapolation, MMD: the synthetic layouts are dealt
  into ``G`` seeded groups, the score recomputed with each group left out,
  ``se² = (G − 1)/G · Σ_g (θ_(g) − θ̄)²``, interval ``θ ± t_{G−1} se``.
* **disjoint subsamples** (subsampling, Politis, Romano & Wolf 1999,
  Sec. 2.2, with non-overlapping blocks) for the ``paper`` TopoFD, whose
  synthetic barycenter is too expensive to recompute G times: ``B`` seeded
  splits of the synthetic set into ``G`` disjoint groups of ``m ≈ n/G``,
  the score recomputed on each group, ``se² = (m/n) · Var(θ_group)`` — the
  mean over splits of the groups' sample variance divided by ``G`` —
  interval ``θ ± t_{B(G−1)} se``.  ``G = 2`` is the split-half estimator
  (delete-d jackknife with d = n/2, Shao & Wu 1989):
  ``se² = mean_b (θ_A − θ_B)² / 4``.  Each group starts its barycenter
  from its own first diagram, so the spread includes the barycenter's
  dependence on its starting diagram.
* **analytic** for count errors (means of per-pair absolute errors):
  ``se = sd / √N``, interval ``θ ± t_{N−1} se``.

With fewer than :data:`MIN_LAYOUTS` synthetic layouts (or pairs) no interval
is given: the value is reported with a note saying why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = [
    "MIN_LAYOUTS",
    "Estimate",
    "floored",
    "assign_groups",
    "jackknife",
    "subsamples",
    "mean_with_se",
    "interval",
    "group_splits",
    "match_twins",
    "Plan",
    "plan",
    "by_image",
    "cluster_mean",
]

MIN_LAYOUTS = 10
LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A score with its standard error and 95 % interval (``None`` when not
    computed; ``why`` then says why)."""

    value: float
    se: float | None = None
    lo: float | None = None
    hi: float | None = None
    df: int | None = None
    why: str | None = None


def interval(value: float, se: float, df: int) -> tuple[float, float]:
    """``value ± t_{df, 0.975} · se`` (t, not normal: with few groups or
    splits the se itself is uncertain, and t accounts for it)."""
    # stdtrit is what scipy.stats.t.ppf evaluates (same floats), without
    # importing scipy.stats (~0.5 s at start-up)
    q = float(special.stdtrit(df, 0.5 + LEVEL / 2))
    return value - q * se, value + q * se


def _estimate(value: float, se: float, df: int) -> Estimate:
    if not np.isfinite(se):
        return Estimate(value, why="standard error not finite")
    lo, hi = interval(value, se, df)
    return Estimate(value, float(se), float(lo), float(hi), int(df))


def floored(e: Estimate, floor: float = 0.0) -> Estimate:
    """``e`` with its lower bound raised to ``floor``, for a score that
    cannot fall below it (TopoFD, count errors).  The true value lies above
    ``floor``, so raising the bound to it never lowers the coverage."""
    if e.lo is None or e.lo >= floor:
        return e
    return dataclasses.replace(e, lo=float(floor))


def assign_groups(n: int, n_groups: int, seed: int) -> np.ndarray:
    """Group label ``0..G-1`` of each of ``n`` items: a seeded random deal
    into groups whose sizes differ by at most one (depends only on ``n``,
    ``n_groups`` and ``seed``)."""
    G = min(n_groups, n)
    labels = np.arange(n) % max(G, 1)
    return np.random.default_rng([int(seed), 0x6A4B]).permutation(labels)


def jackknife(value: float, replicates: Sequence[float] | np.ndarray) -> Estimate:
    """Delete-a-group jackknife from the leave-one-group-out replicates."""
    r = np.asarray(replicates, float)
    G = len(r)
    if G < 2:
        return Estimate(value, why="fewer than 2 jackknife groups")
    se = np.sqrt((G - 1) / G * np.sum((r - r.mean()) ** 2))
    return _estimate(value, se, G - 1)


def group_splits(n: int, n_splits: int, n_groups: int, seed: int) -> list[tuple[np.ndarray, ...]]:
    """``n_splits`` seeded splits of ``range(n)`` into ``n_groups`` disjoint
    groups whose sizes differ by at most one, each group sorted (kept in the
    set's own order)."""
    g = np.random.default_rng([int(seed), 0x5A21])
    return [tuple(np.sort(part) for part in np.array_split(g.permutation(n), n_groups)) for _ in range(n_splits)]


def subsamples(value: float, splits: Sequence[Sequence[float]] | np.ndarray) -> Estimate:
    """Standard error from the scores of disjoint groups: ``splits[b][j]``
    is the score of group ``j`` of split ``b`` (``G`` groups of ``m ≈ n/G``).
    ``Var(θ_n) ≈ (m/n) Var(θ_m)``, so ``se² = mean_b Var_j(θ_bj) / G``
    with ``B(G − 1)`` degrees of freedom; for ``G = 2`` this is the
    split-half ``se² = mean_b (θ_A − θ_B)² / 4``."""
    r = np.asarray(splits, float)
    if r.ndim != 2 or r.shape[0] < 1 or r.shape[1] < 2:
        return Estimate(value, why="fewer than 2 groups")
    B, G = r.shape
    return _estimate(value, float(np.sqrt(np.mean(r.var(axis=1, ddof=1)) / G)), B * (G - 1))


def mean_with_se(x: np.ndarray) -> Estimate:
    """Mean of independent values with its analytic standard error."""
    x = np.asarray(x, float)
    n = len(x)
    if n < MIN_LAYOUTS:
        return Estimate(float(x.mean()) if n else float("nan"), why=f"{n} pairs: fewer than {MIN_LAYOUTS}, no interval")
    return _estimate(float(x.mean()), float(x.std(ddof=1) / np.sqrt(n)), n - 1)


def grouped(value: float, n: int, n_groups: int, seed: int, leave_out: Callable[[np.ndarray], float]) -> Estimate:
    """Jackknife of a statistic of ``n`` synthetic items: ``leave_out(mask)``
    recomputes it on the items where ``mask`` is True."""
    if n < MIN_LAYOUTS:
        return Estimate(value, why=f"{n} synthetic layouts: fewer than {MIN_LAYOUTS}, no interval")
    lab = assign_groups(n, n_groups, seed)
    return jackknife(value, [leave_out(lab != g) for g in range(lab.max() + 1)])


# ------------------------------------------------- conditional resampling
def match_twins(features: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pair items whose conditions are alike: greedy nearest-neighbour
    matching on the standardised ``features`` (one row per item).  Returns
    ``(pairs (P, 2), leftover indices)``; ties are broken by a seeded
    random order, so the result depends only on the features and ``seed``."""
    from scipy.spatial import cKDTree

    F = np.asarray(features, float)
    n = len(F)
    sd = F.std(axis=0)
    Z = (F[:, sd > 0] - F[:, sd > 0].mean(axis=0)) / sd[sd > 0] if (sd > 0).any() else np.zeros((n, 1))
    g = np.random.default_rng([int(seed), 0x7713])
    jitter = g.random(n)  # the tie-break order
    free = np.ones(n, dtype=bool)
    pairs = []
    k = min(n, 12)
    tree = cKDTree(Z)
    while free.sum() > 1:
        ids = np.flatnonzero(free)
        d, nb = tree.query(Z[ids], k=min(k, n))
        d, nb = d.reshape(len(ids), -1), nb.reshape(len(ids), -1)
        i_rep = np.repeat(ids, nb.shape[1])
        cand = np.stack([i_rep, nb.ravel(), d.ravel()], axis=1)
        cand = cand[(cand[:, 0] != cand[:, 1])]
        order = np.lexsort((jitter[cand[:, 0].astype(int)] + jitter[cand[:, 1].astype(int)], cand[:, 2]))
        made = 0
        for i, j, _ in cand[order]:
            i, j = int(i), int(j)
            if free[i] and free[j]:
                pairs.append((i, j))
                free[i] = free[j] = False
                made += 1
        if made == 0:
            if k >= n:  # nothing left to reach: pair the rest in their random order
                rest = np.flatnonzero(free)[np.argsort(jitter[free])]
                pairs += [(int(a), int(b)) for a, b in zip(rest[0::2], rest[1::2])]
                free[rest[: 2 * (len(rest) // 2)]] = False
                break
            k = min(n, 2 * k)
    return np.array(pairs, dtype=np.int64).reshape(-1, 2), np.flatnonzero(free)


@dataclass
class Plan:
    """How the synthetic set of one comparison is resampled.

    ``iid`` (unpaired sets): the synthetic layouts are treated as an
    independent sample of the generator; seeded random groups and splits.

    ``twins`` (every synthetic layout generated from, and paired with, a real
    one): the conditions are fixed by the real set, so the spread a reader
    cares about is the *conditional* one, without the differences between
    the real windows the layouts were generated from (which the iid
    jackknife would count, making intervals too wide).  Synthetic layouts
    whose real partners are alike (:func:`match_twins` on the partners'
    counts and H1 summaries) form twin pairs; the two members always land in
    twin groups (2h, 2h+1) of a jackknife or a split, and the variance comes
    from differences between twins only — the matched-pair difference
    estimator of a conditional variance (cf. Abadie & Imbens 2006), applied
    to jackknife pseudo-values.
    """

    n: int
    seed: int
    twins: np.ndarray | None = None  # (P, 2) pairs of synthetic indices
    leftover: np.ndarray | None = None
    images: np.ndarray | None = None  # source image label of each synthetic layout: resample whole images

    @property
    def mode(self) -> str:
        return "images" if self.images is not None else "iid" if self.twins is None else "twins"

    def _image_groups(self, n_groups: int, g: np.random.Generator) -> np.ndarray:
        """Each layout's group when whole images are dealt into ``n_groups`` groups."""
        assert self.images is not None
        n_im = int(self.images.max()) + 1
        deal = g.permutation(np.arange(n_im) % max(min(n_groups, n_im), 1))
        return deal[self.images]

    def groups(self, n_groups: int) -> np.ndarray:
        if self.images is not None:
            return self._image_groups(n_groups, np.random.default_rng([int(self.seed), 0x6A4D]))
        if self.twins is None:
            return assign_groups(self.n, n_groups, self.seed)
        return self._twin_labels(np.random.default_rng([int(self.seed), 0x6A4C]), self._twin_count(n_groups))

    def _twin_count(self, n_groups: int) -> int:
        """Groups with twins: an even number, at most two per twin pair."""
        assert self.twins is not None
        return max(2, min(n_groups - n_groups % 2, 2 * len(self.twins)))

    def _twin_labels(self, g: np.random.Generator, G: int) -> np.ndarray:
        """A group label per item: the members of a twin pair in twin groups
        ``2h`` and ``2h + 1``, leftovers at random."""
        tw = self.twins
        assert tw is not None
        lab = np.empty(self.n, dtype=np.int64)
        order = g.permutation(len(tw))
        flip = g.random(len(tw)) < 0.5
        h = np.arange(len(tw)) % (G // 2)
        a, b = tw[order, 0], tw[order, 1]
        lab[np.where(flip, b, a)] = 2 * h
        lab[np.where(flip, a, b)] = 2 * h + 1
        if self.leftover is not None and len(self.leftover):
            lab[self.leftover] = g.integers(0, G, len(self.leftover))
        return lab

    def jackknife(self, value: float, replicates) -> Estimate:
        r = np.asarray(replicates, float)
        if self.twins is None:
            return jackknife(value, r)
        G = len(r)
        pseudo = G * value - (G - 1) * r
        d = pseudo[0::2] - pseudo[1::2]
        if len(d) < 1:
            return Estimate(value, why="fewer than 2 jackknife groups")
        se = np.sqrt(np.mean(d**2) / (2 * G))
        return _estimate(value, se, len(d))

    def splits(self, n_splits: int, n_groups: int) -> list[tuple[np.ndarray, ...]]:
        """Disjoint groups for :meth:`subsamples`; with twins, ``n_groups``
        is made even and the two members of a twin pair always land in twin
        groups ``2h`` and ``2h + 1``."""
        if self.images is not None:
            g = np.random.default_rng([int(self.seed), 0x5A23])
            labs = [self._image_groups(n_groups, g) for _ in range(n_splits)]
            return [tuple(np.flatnonzero(lab == j) for j in range(int(lab.max()) + 1)) for lab in labs]
        if self.twins is None:
            return group_splits(self.n, n_splits, n_groups, self.seed)
        G = self._twin_count(n_groups)
        g = np.random.default_rng([int(self.seed), 0x5A22])
        out = []
        for _ in range(n_splits):
            lab = self._twin_labels(g, G)
            out.append(tuple(np.flatnonzero(lab == j) for j in range(G)))
        return out

    def subsample_df(self, n_splits: int, n_groups: int) -> int:
        """Degrees of freedom of :meth:`subsamples` for splits into ``n_groups``."""
        if self.images is not None:
            n_groups = min(n_groups, int(self.images.max()) + 1)
        return n_splits * (n_groups - 1 if self.twins is None else n_groups // 2)

    def subsamples(self, value: float, splits) -> Estimate:
        """:func:`subsamples`; with twins, from the differences between
        twin groups only: ``se² = mean (θ_2h − θ_2h+1)² / (2G)``."""
        r = np.asarray(splits, float)
        if self.twins is None:
            return subsamples(value, r)
        if r.ndim != 2 or r.shape[1] < 2:
            return Estimate(value, why="fewer than 2 groups")
        d = r[:, 0::2] - r[:, 1::2]
        se = float(np.sqrt(np.mean(d**2) / (2 * r.shape[1])))
        return _estimate(value, se, self.subsample_df(*r.shape))

    def mean(self, x: np.ndarray) -> Estimate:
        """Mean of per-item values (count errors) with its standard error."""
        x = np.asarray(x, float)
        if self.images is not None:
            return cluster_mean(x, self.images)
        if self.twins is None or len(self.twins) < MIN_LAYOUTS // 2:
            return mean_with_se(x)
        d = x[self.twins[:, 0]] - x[self.twins[:, 1]]
        se = np.sqrt(np.sum(d**2)) / len(x)
        return _estimate(float(x.mean()), float(se), len(d))

    def describe(self) -> str:
        if self.images is not None:
            return (
                f"whole source images of the synthetic set resampled ({int(self.images.max()) + 1} images): the "
                "spread over other images from the same source, not over other windows of the same images"
            )
        if self.twins is None:
            return "synthetic layouts resampled as an independent sample (unpaired sets)"
        return (
            f"conditional on the real set: {len(self.twins)} twin pairs of synthetic layouts whose real "
            "partners are alike (counts and H1 summaries), variance from differences between twins"
        )


def cluster_mean(x: np.ndarray, clusters: np.ndarray) -> Estimate:
    """Mean of per-item values with the cluster-robust standard error
    (items of one cluster correlated, clusters independent; Liang & Zeger
    1986): ``se² = G/(G−1) · Σ_g (Σ_{i∈g} (x_i − x̄))² / n²``, ``t_{G−1}``."""
    x = np.asarray(x, float)
    G = int(clusters.max()) + 1 if len(x) else 0
    if G < 2:
        return Estimate(float(x.mean()) if len(x) else float("nan"), why="fewer than 2 images")
    m = float(x.mean())
    s = np.bincount(clusters, weights=x - m, minlength=G)
    se = float(np.sqrt(G / (G - 1) * np.sum(s**2)) / len(x))
    return _estimate(m, se, G - 1)


def by_image(p: Plan, images: np.ndarray | None, notes: list, on: bool = True, quiet: bool = False) -> Plan:
    """``p`` resampling whole images of the synthetic set (``images``: a label
    per synthetic layout), or ``p`` with a note when fewer than 2 are known.
    ``on`` false (the default ``se_by_image``): ``p`` itself, with a note
    (unless ``quiet``: no intervals) when an unpaired synthetic set's layouts
    come from known images, about two or more layouts each — windows of one
    image are not independent, and intervals over windows were far too
    narrow for the spread over other images (docs, *Images, not windows*)."""
    if not on:
        k = 0 if images is None else int(images.max()) + 1
        if not quiet and p.twins is None and 2 <= k and 2 * k <= p.n:
            notes.append(
                f"intervals resample the {p.n} synthetic layouts one by one, but they come from {k} source images: "
                "over other images the scores vary more (windows of one image overlap; BRCA-M2C, 3-30 images: "
                "TopoKD's intervals over windows held the mean of other draws in 8-58 % of them); --se-by-image "
                "resamples whole images"
            )
        return p
    if images is None or int(images.max()) < 1:
        notes.append("se_by_image: the synthetic set's images are not known (--group-by): intervals over layouts")
        return p
    return Plan(p.n, p.seed, images=np.asarray(images, np.int64))


def plan(n: int, seed: int, partner_features: np.ndarray | None = None) -> Plan:
    """The resampling plan of a synthetic set of ``n`` layouts
    (``partner_features``: per synthetic layout, features of its real
    partner; ``None`` when the sets are not paired one to one)."""
    if partner_features is None or n < 4:
        return Plan(n, seed)
    tw, left = match_twins(partner_features, seed)
    return Plan(n, seed, tw, left)

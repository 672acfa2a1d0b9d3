"""Memorisation, test 1: the data-copying statistic C_T (Meehan, Chaudhuri
& Dasgupta, "A non-parametric test to detect data-copying in generative
models", AISTATS 2020), computed as the authors' published test does.

Needs the generator's training layouts T (``train``); the comparison's real
set plays the held-out test set P_n (real layouts that are also training
layouts — same content — are left out of it, with a note).  In the space of
per-layout features of the fidelity scores
(:func:`topofd.metrics.embedding.fidelity_features`: per class, quantiles of
the scale-free H0 death times, the minimum-spanning-tree edges of its
cells; the H1 √landscape vector when a set, e.g. a training reference file,
has no cells):

1. the training features are partitioned into cells π by k-means (``n``
   cells, ``n = clip(N_real // 40, 1, 10)``: about 40 real layouts per cell;
   seeded), and every real and synthetic layout is put in the cell of its
   nearest centre;
2. each real and synthetic layout gets its distance L to the nearest
   training layout *of its cell* (the paper's L within π, its Sec. 3);
3. in each cell, the Mann–Whitney U of the m synthetic distances against
   the n real ones, U = #{(gen, test): L_gen > L_test} (ties ½), becomes
   Z_U(π) = (U − mn/2 + ½) / √(mn(m + n + 1)/12) — the ½ is the authors'
   continuity correction, no tie correction of the variance;
4. C_T = Σ_π P_n(π) Z_U(π) / Σ_π P_n(π) over Π_τ, the cells whose share
   of synthetic layouts Q_m(π) exceeds τ = 20/m (more than
   :data:`MIN_GEN_IN_CELL` synthetic layouts, the τ of all the authors'
   experiments), P_n(π) the share of the real layouts in π; a cell without
   a real layout has P_n(π) = 0 and drops out (the authors' code stops on it).

``tests/test_reliability3.py`` checks these numbers against an independent
derivation with ``scipy.stats.mannwhitneyu`` to 1e-12.

C_T ≪ 0: the synthetic layouts are closer to their training neighbours
than held-out real layouts are — copying; C_T ≫ 0: farther (under-fitting);
≈ 0 for a generator that samples the distribution afresh.  The verdict
threshold is −3 as in the paper: each Z_U is about standard normal under the
null and their P_n-weighted mean has variance Σ w² / (Σ w)² ≤ 1, so C_T ≤ −3
has a one-sided null probability of at most about 0.13 %.

Interval: delete-a-group jackknife over the synthetic set (partition,
real and training distances fixed).  ``meta["ct"]["cells"]``: per cell the
real share P_n(π) with its Wilson interval
(:func:`topofd.stats.shares.wilson`).  The column is filled in the ``mean``
row only: the test is on whole layouts.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from topofd.metrics.base import Column, Context, Metric, MetricResult, no_interval_reason
from topofd.metrics.by_image import nearest_other_image, shared_images
from topofd.metrics.embedding import fidelity_features
from topofd.state import SetView
from topofd.stats.shares import wilson
from topofd.stats.uncertainty import MIN_LAYOUTS, Estimate

__all__ = [
    "THRESHOLD",
    "MIN_GEN_IN_CELL",
    "n_cells_for",
    "nn_distances",
    "cell_distances",
    "z_u",
    "ct_statistic",
    "held_out",
    "CopyingTest",
    "METRIC",
]

THRESHOLD = -3.0
MIN_GEN_IN_CELL = 20  # Π_τ: Q_m(π) > τ = 20/m, the τ of the authors' experiments
PER_CELL = 40
MAX_CELLS = 10


def n_cells_for(n_real: int, n_train_distinct: int) -> int:
    """Number of k-means cells: about ``PER_CELL`` real layouts each, 1 to ``MAX_CELLS``."""
    return int(max(1, min(MAX_CELLS, n_real // PER_CELL, n_train_distinct)))


def nn_distances(F_train: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Distance of each row of ``F`` to its nearest training row."""
    # imported on use: scikit-learn costs ~0.4 s at start-up and only the fidelity plug-ins need it
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=1).fit(F_train).kneighbors(F)[0][:, 0]


def cell_distances(
    F_train: np.ndarray, cells_train: np.ndarray, F: np.ndarray, cells: np.ndarray, images=None
) -> np.ndarray:
    """Distance of each row of ``F`` to its nearest training row *in its own
    cell* (Meehan et al. 2020, Sec. 3: L is taken within π); inf for a row
    whose cell holds no training row.  ``images``: labels of the rows and
    of the training rows on one scale
    (:func:`~topofd.metrics.by_image.shared_images`) — each row's nearest
    training row is then one of another image (a window's overlapping
    neighbour in the training set is no held-out distance)."""
    out = np.full(len(F), np.inf)
    for c in np.unique(cells):
        tc, here = np.flatnonzero(cells_train == c), np.flatnonzero(cells == c)
        if not len(tc):
            continue
        if images is None:
            out[here] = nn_distances(F_train[tc], F[here])
            continue

        def near(rows, refs, tc=tc, here=here):
            return nn_distances(F_train[tc[refs]], F[here[rows]]), np.zeros(len(rows), np.int64)

        out[here] = nearest_other_image(near, len(here), images[0][here], images[1][tc])[0]
    return out


def z_u(gen: np.ndarray, test: np.ndarray) -> float:
    """Z_U of one cell (module docstring, step 3): U counts the pairs with
    L_gen > L_test (ties ½), the authors' continuity correction of ½."""
    from scipy.stats import mannwhitneyu  # on use: scipy.stats costs ~0.5 s at start-up

    m, n = len(gen), len(test)
    u = float(mannwhitneyu(gen, test, alternative="less").statistic)
    return (u - (m * n / 2.0 - 0.5)) / np.sqrt(m * n * (m + n + 1) / 12.0)


def ct_statistic(cells_real, d_real, cells_synth, d_synth, n_cells: int) -> tuple[float, list[dict]]:
    """C_T (module docstring, step 4) from each layout's cell and
    within-cell nearest-training distance; and per cell
    ``{"cell", "n_real", "n_synth", "share_real", "z"}`` (``z`` None: the
    cell is not in Π_τ or holds no real layout)."""
    num = den = 0.0
    info = []
    N = len(d_real)
    for c in range(n_cells):
        test, gen = d_real[cells_real == c], d_synth[cells_synth == c]
        w = len(test) / N if N else 0.0
        row: dict[str, Any] = {"cell": c, "n_real": int(len(test)), "n_synth": int(len(gen)), "share_real": w}
        row["z"] = None
        if len(gen) > MIN_GEN_IN_CELL and len(test):
            z = z_u(gen, test)
            row["z"] = float(z)
            num += w * z
            den += w
        info.append(row)
    return (num / den if den > 0 else float("nan")), info


def held_out(real: SetView, T: SetView, metric: str) -> tuple[SetView, str | None]:
    """The real set without the layouts that are also training layouts (same
    content key): a leaked layout is at distance 0 from the training set and
    is no held-out evidence; a note says how many were left out."""
    train_keys = set(T.keys)
    leak = np.array([k in train_keys for k in real.keys], dtype=bool)
    if not leak.any():
        return real, None
    if leak.all():
        raise ValueError(
            "every real layout is also in the training set: memorisation compares training layouts with "
            "held-out real ones; give a test set as REAL"
        )
    note = (
        f"{metric}: {int(leak.sum())} real layouts are also in the training set; left out of the held-out set "
        "(a training layout is no held-out evidence)"
    )
    return real.subset(np.flatnonzero(~leak)), note


def _partition(F_train: np.ndarray, n_real: int, seed: int):
    from sklearn.cluster import KMeans  # on use, as in nn_distances

    n = n_cells_for(n_real, len(np.unique(F_train, axis=0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return KMeans(n_clusters=n, n_init=10, random_state=seed).fit(F_train), n


def verdict(value: float) -> str:
    if not np.isfinite(value):
        return (
            f"C_T not defined: no k-means cell holds a real layout and more than {MIN_GEN_IN_CELL} synthetic "
            "layouts (the τ = 20/m of Meehan et al.)"
        )
    if value <= THRESHOLD:
        return (
            f"memorisation: C_T = {value:.2f} ≤ {THRESHOLD:g}: synthetic layouts are closer to the training set "
            "than held-out real layouts are — data copying (Meehan et al. 2020)"
        )
    if value >= -THRESHOLD:
        return (
            f"memorisation: C_T = {value:.2f} ≥ {-THRESHOLD:g}: synthetic layouts are farther from the training set "
            "than held-out real layouts (under-fitting, no copying)"
        )
    return f"memorisation: C_T = {value:.2f}: no evidence of data copying (copying would be ≤ {THRESHOLD:g})"


class CopyingTest(Metric):
    name = "ct"
    summary = "the data-copying test C_T of Meehan et al. 2020 against the training layouts (needs --train)"
    groups = ("memorisation",)
    columns = (
        Column("ct", "C_T", "none", scope="layout", help="memorisation, C_T ≤ −3 = copying (Meehan et al. 2020)"),
    )
    # points: the H0 spacing features (embedding.fidelity_features)
    needs = frozenset({"train", "points"})
    meta_keys = ("ct",)

    def score(self, real: SetView, synth: SetView, ctx: Context) -> MetricResult:
        o, T = ctx.options, ctx.train
        out = MetricResult()
        cells = {c: Estimate(np.nan) for c in ctx.names}
        if T is None or len(T) < 2:
            out.notes.append("C_T not measured: it needs a training set of at least 2 layouts (--train)")
            out.cells["ct"] = {**cells, "mean": Estimate(np.nan)}
            return out
        real, leaked = held_out(real, T, "C_T")
        out.notes.extend([leaked] if leaked else [])
        (Fr, Fs, Ft), space, note = fidelity_features(real, synth, T)
        out.notes.extend([note] if note else [])
        km, n = _partition(Ft, len(Fr), o.seed)
        ct_ = km.predict(Ft)
        cr, cs = km.predict(Fr), km.predict(Fs)
        same = shared_images(real.images, T.images)
        dr, ds = cell_distances(Ft, ct_, Fr, cr, same), cell_distances(Ft, ct_, Fs, cs)
        if same is not None:
            out.notes.append(
                "C_T: the real and training sets share source images; a real layout's distance is to the nearest "
                "training layout of another image (Meehan et al. assume a held-out test set)"
            )
        value, info = ct_statistic(cr, dr, cs, ds, n)
        for row in info:  # the real share of each cell, with an interval in [0, 1]
            row["share_real_lo"], row["share_real_hi"] = wilson(row["share_real"], len(Fr))
        want_se = ctx.want_se and len(synth) >= MIN_LAYOUTS and np.isfinite(value)
        est = Estimate(value)
        if want_se:
            lab = ctx.plan.groups(o.se_groups)
            reps = [ct_statistic(cr, dr, cs[lab != g], ds[lab != g], n)[0] for g in range(lab.max() + 1)]
            if all(np.isfinite(reps)):
                est = ctx.plan.jackknife(value, reps)
        out.cells["ct"] = {**cells, "mean": est}
        out.notes.append(verdict(value))
        out.meta["ct"] = {
            "threshold": THRESHOLD,
            "n_cells": n,
            "cells": info,
            "features": space,
            "real_distances": "to training layouts of other images" if same is not None else "to any training layout",
            "min_synthetic_in_cell": MIN_GEN_IN_CELL + 1,
            "median_nn_distance": {"real": float(np.median(dr)), "synthetic": float(np.median(ds))},
        }
        if ctx.want_se:
            out.uncertainty["ct"] = (
                f"delete-a-group jackknife over the synthetic set, {o.se_groups} groups at most, t interval"
                if est.se is not None
                else f"none ({no_interval_reason(len(synth)) if len(synth) < MIN_LAYOUTS else 'a replicate undefined'})"
            )
        return out


METRIC = CopyingTest()

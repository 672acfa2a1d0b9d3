"""Memorisation, test 1: the data-copying statistic C_T (Meehan, Chaudhuri
& Dasgupta, "A non-parametric test to detect data-copying in generative
models", AISTATS 2020).

Needs the generator's training layouts T (``train``); the comparison's real
set plays the held-out test set P_n.  In the space of per-layout features
of the fidelity scores (:func:`topofd.metrics.embedding.fidelity_features`:
per class, quantiles of the scale-free H0 death times, the minimum-spanning-
tree edges of its cells; the H1 √landscape vector when a set, e.g. a
training reference file, has no cells):

1. each real and each synthetic layout gets its distance to the nearest
   training layout;
2. the training features are partitioned into cells by k-means (``n`` cells,
   ``n = clip(N_real // 40, 1, 10)``: about 40 real layouts per cell, so that
   each cell's rank test is in its normal regime; seeded);
3. in each cell π, the Mann–Whitney U of the synthetic distances against
   the real ones, U = #{(gen, test) pairs: d_gen > d_test} (ties ½), becomes
   Z_U(π) = (U − mn/2) / √(mn(m + n + 1)/12);
4. C_T = Σ_π P_n(π) Z_U(π) / Σ_π P_n(π), P_n(π) the share of the real
   layouts in π, over the cells holding at least 5 real and 5 synthetic
   layouts (the paper's Π_τ drops cells with too few generated samples).

C_T ≪ 0: the synthetic layouts are closer to their training neighbours
than held-out real layouts are — copying; C_T ≫ 0: farther (under-fitting);
≈ 0 for a generator that samples the distribution afresh.  The verdict
threshold is −3 as in the paper: each Z_U is standard normal under the null
and their P_n-weighted mean has variance Σ w² / (Σ w)² ≤ 1, so C_T ≤ −3 has
a one-sided null probability of at most 0.13 %.

Interval: delete-a-group jackknife over the synthetic set (partition,
real and training distances fixed).  The column is filled in the ``mean``
row only: the test is on whole layouts.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from topofd.metrics.base import Column, Context, Metric, MetricResult, no_interval_reason
from topofd.metrics.embedding import fidelity_features
from topofd.state import SetView
from topofd.stats.uncertainty import MIN_LAYOUTS, Estimate

__all__ = ["THRESHOLD", "MIN_IN_CELL", "n_cells_for", "nn_distances", "ct_statistic", "CopyingTest", "METRIC"]

THRESHOLD = -3.0
MIN_IN_CELL = 5
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


def _z_u(gen: np.ndarray, test: np.ndarray) -> float:
    from scipy.stats import mannwhitneyu  # on use: scipy.stats costs ~0.5 s at start-up

    n, m = len(gen), len(test)
    u = float(mannwhitneyu(gen, test, alternative="two-sided").statistic)
    return (u - n * m / 2.0) / np.sqrt(n * m * (n + m + 1) / 12.0)


def ct_statistic(cells_real, d_real, cells_synth, d_synth, n_cells: int) -> tuple[float, list[dict]]:
    """C_T from each layout's cell and nearest-training distance; and per
    cell ``{"cell", "n_real", "n_synth", "z"}`` (``z`` None: cell dropped)."""
    num = den = 0.0
    info = []
    N = len(d_real)
    for c in range(n_cells):
        test, gen = d_real[cells_real == c], d_synth[cells_synth == c]
        row: dict[str, Any] = {"cell": c, "n_real": int(len(test)), "n_synth": int(len(gen)), "z": None}
        if len(test) >= MIN_IN_CELL and len(gen) >= MIN_IN_CELL:
            z = _z_u(gen, test)
            row["z"] = float(z)
            num += len(test) / N * z
            den += len(test) / N
        info.append(row)
    return (num / den if den > 0 else float("nan")), info


def _partition(F_train: np.ndarray, n_real: int, seed: int):
    from sklearn.cluster import KMeans  # on use, as in nn_distances

    n = n_cells_for(n_real, len(np.unique(F_train, axis=0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return KMeans(n_clusters=n, n_init=10, random_state=seed).fit(F_train), n


def verdict(value: float) -> str:
    if not np.isfinite(value):
        return "C_T not defined (no k-means cell holds enough real and synthetic layouts)"
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
        (Fr, Fs, Ft), space, note = fidelity_features(real, synth, T)
        out.notes.extend([note] if note else [])
        km, n = _partition(Ft, len(Fr), o.seed)
        cr, cs = km.predict(Fr), km.predict(Fs)
        dr, ds = nn_distances(Ft, Fr), nn_distances(Ft, Fs)
        value, info = ct_statistic(cr, dr, cs, ds, n)
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

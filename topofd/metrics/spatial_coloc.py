"""SPIAT-style colocalisation of every ordered class pair (a, b), real vs
synthetic: mixing score, normalised mixing score, cells in neighbourhood
and average minimum distance (:mod:`topofd.spatial.coloc`), each pooled
over a set's layouts at the interaction radius ρ (``--spatial-radius``).

The per-class column is the mean, over the ordered pairs that involve the
class (same-type included), of |log(CIN_synth / CIN_real)| — how far, as a
factor, the synthetic set's neighbourhood counts are from the real ones
(0.1 ≈ 10 % off) — with a delete-a-group jackknife interval over the
synthetic layouts (real set fixed).  The pair table holds all four scores
of both sets.
"""

from __future__ import annotations

import math

import numpy as np

from topofd.metrics.base import Column, Context, Metric, MetricOption, MetricResult, Section
from topofd.metrics.spatial_common import class_means, jackknife_labels, pair_name, points_missing, put_class_column
from topofd.option_spec import Spec
from topofd.spatial.coloc import SCORES, ColocSums, coloc_sums, scores
from topofd.state import SetView
from topofd.stats.uncertainty import Estimate

__all__ = ["RADIUS", "SpatialColoc", "METRIC"]

RADIUS = MetricOption(
    "spatial_radius",
    20.0,
    Spec(
        "Interaction radius (px) of the colocalisation scores (mixing score, cells in neighbourhood).",
        "float",
        "--spatial-radius",
        low=0,
        low_open=True,
        metavar="PX",
    ),
)


def _log_ratio(s: np.ndarray, r: np.ndarray) -> np.ndarray:
    """|log(s / r)| per ordered pair ``(C, C)`` (NaN where either is 0 or undefined)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.abs(np.log(s / r))
    return np.where(np.isfinite(v), v, np.nan)


def _flat(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, float).reshape(-1)


class SpatialColoc(Metric):
    name = "spatial_coloc"
    summary = "SPIAT-style colocalisation of class pairs (mixing score, cells in neighbourhood, minimum distance)"
    groups = ("spatial",)
    columns = (
        Column(
            "spatial_cin",
            "CIN log-ratio",
            "lower",
            range=(0.0, math.inf),
            help="mean over the ordered class pairs that involve the class of |log(CIN_synth / CIN_real)|, "
            "CIN = cells of the other class within the interaction radius",
        ),
    )
    needs = frozenset({"points"})
    options = (RADIUS,)

    def score(self, real: SetView, synth: SetView, ctx: Context) -> MetricResult:
        out = MetricResult()
        why = points_missing(real, synth)
        if why:
            out.cells["spatial_cin"] = {c: Estimate(np.nan) for c in (*ctx.names, "mean")}
            out.notes.append(f"spatial_coloc: not measured: {why}")
            return out
        C, nS = len(ctx.names), len(synth)
        rho = float(ctx.option("spatial_radius"))
        lab = jackknife_labels(ctx, nS)
        G = 0 if lab is None else int(lab.max()) + 1
        jobs = ctx.options.n_jobs
        rs = coloc_sums(real.points or [], rho, np.ones((1, len(real)), np.int8), jobs)
        bins = np.zeros(nS, np.int64) if lab is None else np.asarray(lab, np.int64)
        one_hot = (bins[None, :] == np.arange(max(G, 1))[:, None]).astype(np.int8)
        ss_bins = coloc_sums(synth.points or [], rho, one_hot, jobs)
        ss = ss_bins.select(slice(None))
        sr, sc = scores(rs), scores(ss)
        ordered = [(a, b) for a in range(C) for b in range(C)]
        values = class_means(_flat(_log_ratio(sc["cin"][0], sr["cin"][0])), ordered, C)
        reps = []
        for g in range(G):
            left = ColocSums(
                *(getattr(ss, f) - getattr(ss_bins.select([g]), f) for f in ColocSums.__dataclass_fields__)
            )
            reps.append(class_means(_flat(_log_ratio(scores(left)["cin"][0], sr["cin"][0])), ordered, C))
        put_class_column(out, ctx, "spatial_cin", "CIN log-ratio", values, reps, lab, nS)
        out.sections.append(_section(ctx.names, ordered, sr, sc, rho))
        return out


def _section(names, ordered, sr: dict, sc: dict, rho: float) -> Section:
    rows, sentences = [], []
    for a, b in ordered:
        row: dict = {"pair": pair_name(names, a, b), "reference": names[a], "target": names[b], "radius_px": rho}
        for f in SCORES:
            r, s = float(sr[f][0, a, b]), float(sc[f][0, a, b])
            row[f"{f}_real"] = r if np.isfinite(r) else None
            row[f"{f}_synthetic"] = s if np.isfinite(s) else None
        rows.append(row)
    # the pair whose neighbourhood count is furthest off, in words
    lr = np.array([_log_ratio(np.array(sc["cin"][0, a, b]), np.array(sr["cin"][0, a, b])) for a, b in ordered], float)
    if np.isfinite(lr).any():
        a, b = ordered[int(np.nanargmax(lr))]
        r, s = float(sr["cin"][0, a, b]), float(sc["cin"][0, a, b])
        other = f"other {names[a]}" if a == b else names[b]
        sentences.append(
            f"{pair_name(names, a, b)}: a synthetic {names[a]} cell has {s:.2f} {other} cells within {rho:g} px, "
            f"real tissue {r:.2f} ({100 * (s / r - 1):+.0f} %); average minimum distance "
            f"{float(sc['amd'][0, a, b]):.1f} px vs {float(sr['amd'][0, a, b]):.1f} px."
        )
    return Section(f"Class pairs: colocalisation within {rho:g} px (SPIAT scores)", sentences, rows)


METRIC = SpatialColoc()

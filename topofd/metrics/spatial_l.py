"""Cross-type Besag's L of every class pair: how the classes sit relative to
each other, which every per-class score (TopoFD, TopoKD, MMD) cannot see.

For each unordered class pair (a, b), same-type included, the K function
with the translation edge correction of the canvas rectangle
(:mod:`topofd.spatial.ripley`) is pooled over each set's layouts by the
ratio estimator (each layout weighted by its point-pair count), on the
radius grid r_j = j · r_max / n, r_max a quarter of the shortest window
side; L = √(K/π).  The pair's distance is the mean over the grid of
|L_synth(r) − L_real(r)| (px), the per-class column its mean over the pairs
that involve the class, with a delete-a-group jackknife interval over the
synthetic layouts (real set fixed).

A permutation test with a studentized global envelope (:mod:`topofd.spatial.envelope`)
says whether ΔL(r) = L_synth(r) − L_real(r) is larger than two sets drawn
alike would give: the units of both sets are pooled and dealt at random
into a "real" and a "synthetic" part, s = 199 times (replicated patterns,
not points, are the exchangeable units: the permutation test of
replicated point patterns, Diggle, Lange & Beneš 1991; Hahn 2012), and
the observed ΔL curve is ranked among the relabelled ones by its largest
departure in units of the relabelled curves' pointwise standard deviation.
A unit is a whole source image when the real set's images are known
(:func:`units`: overlapping windows of one image are not exchangeable
with windows of other images), else a layout.  The band drawn is the real
curve plus the 95 % envelope of ΔL.  A pair is flagged when its p-value is at most
0.05 / (number of pairs) — Bonferroni over the pairs, so that "some pair
departs" has a family-wise level of 5 %.  Each pair gets a sentence
naming its largest departure, its envelope plot and a row of the pair
table; ``meta["spatial"]`` holds the curves (r, real, synthetic, band) and
the pooled g and G.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from topofd.metrics.base import Column, Context, Curve, Metric, MetricOption, MetricResult, Section
from topofd.metrics.spatial_common import (
    class_means,
    jackknife_labels,
    json_floats,
    pair_name,
    points_missing,
    put_class_column,
    windows,
)
from topofd.option_spec import Spec
from topofd.spatial.envelope import studentized_envelope_test
from topofd.spatial.explain import largest_departure, pair_sentence
from topofd.spatial.ripley import PairSums, accumulate, class_pairs, l_function, pcf_from_k, radius_grid
from topofd.state import SetView
from topofd.stats.uncertainty import Estimate

__all__ = ["ALPHA", "Units", "units", "members", "pooled_curves", "SpatialL", "METRIC"]

ALPHA = 0.05
RADII = MetricOption(
    "spatial_radii",
    32,
    Spec(
        "Number of radii of the spatial statistics' grid, evenly spaced up to a quarter of the shortest window side.",
        "int",
        "--spatial-radii",
        low=2,
        metavar="N",
    ),
)
NULL = MetricOption(
    "spatial_envelope",
    199,
    Spec(
        "Relabellings of the spatial statistics' permutation envelope test: the units of both sets (whole "
        "source images when known, else layouts) dealt at random into two parts that many times (199: "
        "p-values in steps of 1/200).",
        "int",
        "--spatial-envelope",
        low=2,
        metavar="S",
    ),
)


@dataclass(frozen=True)
class Units:
    """The exchangeable units of the relabelling test (:func:`units`): an
    integer label per layout of each set (the two sets counted apart), what
    a unit is (``"images"`` or ``"layouts"``) and how they were chosen, in words."""

    real: np.ndarray
    synth: np.ndarray
    kind: str
    how: str

    @property
    def distinct(self) -> int:
        """How many deals give different values of the two-sided statistic:
        C(k_r + k_s, k_r), halved when the parts have as many units."""
        k_r, k_s = _count(self.real), _count(self.synth)
        c = math.comb(k_r + k_s, k_r)
        return c // 2 if k_r == k_s else c


def _count(labels: np.ndarray) -> int:
    return int(labels.max()) + 1 if len(labels) else 0


def units(real: SetView, synth: SetView, pairs, seed: int) -> Units:
    """The units the relabelling test deals.

    Windows cut from one image share its tissue: dealing them one by one
    makes two samples of the same tissue look less alike than other images
    of it are (real tissue of 15 other images was flagged on all six pairs;
    ``benchmarks/README.md``).  So, when the real set's source images are
    known, a unit is a whole image: for the synthetic set its own images
    when known, else its real partner's image (paired sets; a layout
    without a partner is its own unit), else its layouts dealt (seeded)
    into as many groups as the real set has images.  With no real image
    known, a unit is a layout.  (A paired test that flips each image's
    real and synthetic layouts was tried: its null keeps every image's
    difference, and on 15 images it flagged less — a class swap on one
    cross pair of two — than this unpaired deal.)"""
    n_r, n_s = len(real), len(synth)
    u_r = real.image_labels()
    if u_r is None:
        how = f"layouts ({n_r} real, {n_s} synthetic; no source image known)"
        return Units(np.arange(n_r), np.arange(n_s), "layouts", how)
    k_r = _count(u_r)
    u_s = synth.image_labels()
    if u_s is not None:
        return Units(u_r, u_s, "images", f"source images ({k_r} real, {_count(u_s)} synthetic)")
    if pairs:
        lab = np.full(n_s, -1, np.int64)
        for i, j in pairs:
            lab[j] = u_r[i]
        alone = lab < 0
        lab[alone] = k_r + np.arange(int(alone.sum()))
        u_s = np.unique(lab, return_inverse=True)[1].astype(np.int64)
        how = f"source images ({k_r} real; a synthetic layout with its real partner's image: {_count(u_s)} units)"
        return Units(u_r, u_s, "images", how)
    u_s = np.random.default_rng([int(seed), 0x1A6E]).permutation(np.arange(n_s) % k_r)
    how = f"{k_r} real source images and {_count(u_s)} random groups of the synthetic layouts"
    return Units(u_r, u_s, "images", how)


def members(u: Units, lab: np.ndarray | None, s: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Bins of layouts, ``(rows, n)`` for the real and the synthetic set:
    row 0 the whole set; then ``s`` seeded relabellings — the units of both
    sets pooled and dealt at random into a "real" part of as many units as
    the real set has (row ``1 + q`` marks, in each set, the layouts that
    went to it); the synthetic set then has a row per jackknife group."""
    g = np.random.default_rng([int(seed), 0x5BA9])
    G = 0 if lab is None else int(lab.max()) + 1
    k_r, k_s = _count(u.real), _count(u.synth)
    MR = np.zeros((1 + s, len(u.real)), dtype=np.int8)
    MS = np.zeros((1 + s + G, len(u.synth)), dtype=np.int8)
    MR[0], MS[0] = 1, 1
    for q in range(s):
        first = np.zeros(k_r + k_s, dtype=np.int8)
        first[g.permutation(k_r + k_s)[:k_r]] = 1
        MR[1 + q], MS[1 + q] = first[u.real], first[k_r + u.synth]
    for j in range(G):
        MS[1 + s + j] = lab == j
    return MR, MS


@dataclass
class _Curves:
    """The pooled functions of one comparison, pairs of :func:`class_pairs` first."""

    radii: np.ndarray
    Kr: np.ndarray
    Ks: np.ndarray
    reps_L: list  # leave-one-group-out synthetic L
    null_D: np.ndarray  # (s, pairs, R): L(other part) − L("real" part) of each relabelling
    Gr: np.ndarray
    Gs: np.ndarray
    s: int
    units: Units  # what was relabelled

    @property
    def Lr(self):
        return l_function(self.Kr)

    @property
    def Ls(self):
        return l_function(self.Ks)


def _rows(sums: PairSums, rows: slice) -> PairSums:
    return PairSums(sums.radii, sums.k_num[rows], sums.k_den[rows], sums.g_num[rows], sums.g_den[rows])


def pooled_curves(real: SetView, synth: SetView, ctx: Context, lab) -> _Curves:
    o = ctx.options
    wr, ws = windows(real)[0], windows(synth)[0]
    radii = radius_grid(wr + ws, int(ctx.option("spatial_radii")))
    s = int(ctx.option("spatial_envelope"))
    u = units(real, synth, ctx.pairs, o.seed)
    MR, MS = members(u, lab, s, o.seed)
    rs = accumulate(real.points or [], wr, radii, MR, o.n_jobs)
    ss = accumulate(synth.points or [], ws, radii, MS, o.n_jobs)
    tot_r, tot_s = _rows(rs, slice(0, 1)), _rows(ss, slice(0, 1))
    both = tot_r.plus(tot_s)
    first = _rows(rs, slice(1, 1 + s)).plus(_rows(ss, slice(1, 1 + s)))
    null_D = both.minus(first).L() - first.L()
    reps = [tot_s.minus(_rows(ss, slice(1 + s + g, 2 + s + g))).L()[0] for g in range(ss.k_num.shape[0] - 1 - s)]
    K_r, K_s, G_r, G_s = tot_r.K()[0], tot_s.K()[0], tot_r.G()[0], tot_s.G()[0]
    return _Curves(radii, K_r, K_s, reps, null_D, G_r, G_s, s, u)


class SpatialL(Metric):
    name = "spatial_l"
    summary = (
        "cross-type Besag's L of every class pair (translation-corrected, pooled over layouts): mean |ΔL| and a "
        "permutation test with a studentized global envelope"
    )
    groups = ("spatial",)
    columns = (
        Column(
            "spatial_l",
            "Cross-L dist.",
            "lower",
            range=(0.0, math.inf),
            help="mean over the class pairs that involve the class of the mean |L_synth(r) − L_real(r)| (px), "
            "r up to a quarter of the window",
        ),
    )
    needs = frozenset({"points"})
    options = (RADII, NULL)
    meta_keys = ("spatial",)

    def score(self, real: SetView, synth: SetView, ctx: Context) -> MetricResult:
        out = MetricResult()
        why = points_missing(real, synth)
        if why:
            out.cells["spatial_l"] = {c: Estimate(np.nan) for c in (*ctx.names, "mean")}
            out.notes.append(f"spatial_l: not measured: {why}")
            return out
        C, nS = len(ctx.names), len(synth)
        pairs = class_pairs(C)
        lab = jackknife_labels(ctx, nS)
        cv = pooled_curves(real, synth, ctx, lab)
        Lr, Ls = cv.Lr, cv.Ls
        dist = _mean_abs(Ls - Lr)[0]
        values = class_means(dist, pairs, C)
        reps = [class_means(_mean_abs(L - Lr)[0], pairs, C) for L in cv.reps_L]
        put_class_column(out, ctx, "spatial_l", "cross-L distance", values, reps, lab, nS)
        out.sections.append(_section(cv, dist, ctx, out))
        if not np.isfinite(dist).all():
            empty = [pair_name(ctx.names, a, b) for q, (a, b) in enumerate(pairs) if not np.isfinite(dist[q])]
            out.notes.append(f"spatial_l: pairs {', '.join(empty)} not measured: a class has too few cells in one set")
        return out


def _section(cv: _Curves, dist: np.ndarray, ctx: Context, out: MetricResult) -> Section:
    """The pair table, sentences and envelope plots; ``meta["spatial"]`` into ``out``."""
    names, radii, Lr, Ls = ctx.names, cv.radii, cv.Lr, cv.Ls
    rows, curves, sentences, meta_pairs = [], [], [], {}
    n_pairs = len(class_pairs(len(names)))
    level = ALPHA / n_pairs  # Bonferroni over the pairs: a family-wise 5 % for "some pair departs"
    label = f"real ± permutation envelope ({cv.s} deals of whole {cv.units.kind}, {1 - ALPHA:.0%})"
    for q, (a, b) in enumerate(class_pairs(len(names))):
        nm = pair_name(names, a, b)
        test = studentized_envelope_test(Ls[q] - Lr[q], cv.null_D[:, q], ALPHA)
        fn = (cv.Kr[q], cv.Ks[q], Lr[q], Ls[q])
        dl_reps = [L[q] - Lr[q] for L in cv.reps_L]
        row, sentence = _pair_row(nm, names[a], names[b], radii, fn, dl_reps, test, ctx, level)
        row["L_dist_px"] = float(dist[q]) if np.isfinite(dist[q]) else None
        rows.append(row)
        if sentence:
            sentences.append(sentence)
        # where the synthetic curve may lie if both sets were drawn alike: the real curve plus the envelope of ΔL
        band = (Lr[q] - radii + test["lo"], Lr[q] - radii + test["hi"])
        lines = {"real": Lr[q] - radii, "synthetic": Ls[q] - radii}
        curves.append(Curve(nm, radii.tolist(), lines, band, label, "r (px)", "L(r) − r (px)"))
        meta_pairs[nm] = _pair_meta(radii, fn, band, test, cv, a, b)
    out.meta["spatial"] = {
        "edge_correction": "translation",
        "pooling": "ratio estimator: sum of numerators over sum of point-pair-count denominators",
        "radii": json_floats(radii),
        "envelope": {
            "test": "studentized global envelope of the permutation distribution of ΔL",
            "curve": "L_synth(r) - L_real(r)",
            "units": cv.units.how,
            "relabellings": cv.s,
            "band_level": 1 - ALPHA,
            "flag_level": level,
        },
        "pairs": meta_pairs,
    }
    distinct = cv.units.distinct
    if distinct < math.ceil(1 / level):  # ints: C(n, k) can exceed a float
        out.notes.append(
            f"spatial_l: no pair can be flagged: the units relabelled ({cv.units.how}) allow only {distinct} "
            f"different relabellings, so no p-value falls below {level:.3g}; compare sets of more images"
        )
    return Section("Class pairs: cross-type L (translation-corrected, pooled)", sentences, rows, curves)


def _mean_abs(d: np.ndarray) -> np.ndarray:
    """Mean |d| over the radius axis per pair, NaN where no radius is finite: ``(1, pairs)``."""
    ok = np.isfinite(d)
    with np.errstate(invalid="ignore"):
        v = np.where(ok.any(-1), np.where(ok, np.abs(d), 0.0).sum(-1) / np.maximum(ok.sum(-1), 1), np.nan)
    return v[None, :]


def _pair_row(nm, a, b, radii, curves, dl_reps, test, ctx: Context, level: float) -> tuple[dict, str | None]:
    """A pair-table row and the pair's sentence."""
    Kr, Ks, Lr, Ls = curves
    found = largest_departure(radii, Lr, Ls)
    row: dict = {"pair": nm, "a": a, "b": b}
    se = None
    if found is not None:
        j = found[0]
        dl = float(Ls[j] - Lr[j])
        if dl_reps:
            se = ctx.plan.jackknife(dl, [float(x[j]) for x in dl_reps]).se
        row.update({"max_dL_px": dl, "max_dL_se": se, "at_r_px": float(radii[j])})
    p = test["p"]
    row.update(
        {
            "envelope_p": float(p) if np.isfinite(p) else None,
            "outside_envelope_at_px": json_floats(radii[test["outside"]]),
            "flag_level": level,
            "flagged": bool(np.isfinite(p) and p <= level),
        }
    )
    return row, pair_sentence(a, b, radii, Kr, Ks, Lr, Ls, se, p, level)


def _pair_meta(radii, curves, band, test, cv: _Curves, a: int, b: int) -> dict:
    Kr, Ks, Lr, Ls = curves
    mid, gr = pcf_from_k(radii, Kr)
    _, gs = pcf_from_k(radii, Ks)
    Gr, Gs = cv.Gr, cv.Gs
    return {
        "r": json_floats(radii),
        "real": json_floats(Lr - radii),
        "synthetic": json_floats(Ls - radii),
        "band": [json_floats(band[0]), json_floats(band[1])],
        "function": "L(r) - r",
        "envelope_p": float(test["p"]) if np.isfinite(test["p"]) else None,
        "K_real": json_floats(Kr),
        "K_synthetic": json_floats(Ks),
        "g_r": json_floats(mid),
        "g_real": json_floats(gr),
        "g_synthetic": json_floats(gs),
        "G_ab_real": json_floats(Gr[a, b]),
        "G_ab_synthetic": json_floats(Gs[a, b]),
        "G_ba_real": json_floats(Gr[b, a]),
        "G_ba_synthetic": json_floats(Gs[b, a]),
    }


METRIC = SpatialL()

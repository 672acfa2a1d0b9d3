"""Memorisation, test 2: the share of synthetic layouts that are near copies
of a training layout, in point space.

Needs the cells of the synthetic, real and training layouts (kept when this
metric is selected; a set loaded from a reference file has none).  Each
layout's distance to its nearest training layout is the per-class optimal
matching distance of :mod:`topofd.layouts.point_distance` (mean per-cell
displacement in pixels, unmatched cells cost the cap, the cap the median
nearest-cell spacing of the training layouts).

Threshold τ: half the 1st percentile of the *real* (held-out) layouts'
distances to their nearest training layout; a synthetic layout strictly
below τ is a near copy (an exact copy is at 0, a copy with every cell moved
by δ px at about δ).  Why not the percentile itself: the distances of
natural layouts are concentrated (BRCA-M2C: 1st percentile 11.3–12.1 px
over 20 draws of 15 held-out images, cap 18), and where that
lower edge lies depends on which source images a set comes from — windows
of one image share their cell density, so a held-out set from other images
can sit 0.5 px closer to the training set as a whole.  With τ at the edge
itself a set of held-out real layouts was flagged in 6 of 20 draws
(``benchmarks/README.md``, *Over draws*): the binomial below counts windows
as independent draws, but the shift is one per source, not one per window.
A near copy is a layout much closer to a training layout than natural
layouts get, so τ keeps a margin of a factor 2 below the edge: a
source-level shift of the edge (measured: < 7 %) would have to halve it
to push natural layouts below τ, while copies moved by up to τ px
(about 6 px on BRCA-M2C, against 1.1 px for a 1-px jitter) stay flagged.
Without copying the share below τ is therefore at most the 1 % below the
percentile (in practice ≈ 0); the verdict says "copying" when the
observed share is above 1 % with a one-sided binomial p below 0.001 —
conservative, the 1 % being an upper bound.  Layouts without any cell are
left out (two empty windows are trivially identical).

``meta["near_copies"]``: τ, the cap, the share expected under no copying,
and the ``worst`` offenders (the 10 synthetic layouts closest to a training
layout: synthetic name, training name, distance); ``artifacts[class]
["near_copy_pairs"]``: the cells of the first ``N_GALLERY`` of them and of
their training layouts, ``(train, synthetic)`` per pair (the HTML report's
gallery).  Interval: delete-a-group
jackknife over the synthetic set (τ fixed), its bounds the Wilson interval
at the jackknife's effective sample size (a share: in [0, 1];
:mod:`topofd.stats.shares`).  Real layouts that are also training layouts
are left out of the held-out set (:func:`topofd.metrics.copying.held_out`:
at distance 0 they would set τ to 0).  ``mean`` row only.
"""

from __future__ import annotations

import numpy as np

from topofd.layouts.point_distance import cell_spacing, nearest_layouts
from topofd.metrics.base import Column, Context, Metric, MetricResult, no_interval_reason
from topofd.metrics.copying import held_out
from topofd.state import SetView
from topofd.stats.shares import SHARE_METHOD, share_estimate
from topofd.stats.uncertainty import MIN_LAYOUTS, Estimate

__all__ = ["QUANTILE", "MARGIN", "P_COPYING", "N_WORST", "N_GALLERY", "copy_threshold", "NearCopies", "METRIC"]

QUANTILE = 0.01
MARGIN = 0.5
P_COPYING = 1e-3
N_WORST = 10
N_GALLERY = 4


def copy_threshold(d_real: np.ndarray, q: float = QUANTILE, margin: float = MARGIN) -> float:
    """τ: ``margin`` times the ``q``-quantile (lower interpolation) of the
    real layouts' distances to the training set (module docstring: why the margin)."""
    d = np.asarray(d_real, float)
    d = d[np.isfinite(d)]
    return margin * float(np.quantile(d, q, method="lower")) if len(d) else float("nan")


def _extent(*sets) -> tuple[float, float]:
    pts = [p for s in sets for lay in s for p in lay if len(p)]
    if not pts:
        return (1.0, 1.0)
    m = np.max([p.max(axis=0) for p in pts], axis=0) + 1.0
    return float(m[0]), float(m[1])


def _missing(real: SetView, synth: SetView, train: SetView | None) -> str | None:
    if train is None or len(train) == 0:
        return "near copies not measured: they need a training set (--train)"
    for what, v in (("training", train), ("real", real), ("synthetic", synth)):
        if v.points is None:
            return (
                f"near copies not measured: the {what} set has no cell coordinates "
                "(a reference file keeps diagrams only)"
            )
    return None


def _verdict(k: int, n: int, tau: float, p: float) -> str:
    head = (
        f"memorisation: {k} of {n} synthetic layouts ({100 * k / max(n, 1):.1f} %) are near copies of training "
        f"layouts (matching distance < {tau:.2f} px, half the 1st percentile of the real layouts')"
    )
    if p < P_COPYING:
        return f"{head}: more than the at most 1 % expected without copying (binomial p = {p:.1e}) — copying"
    return f"{head}: no more than expected without copying (binomial p = {p:.2f})"


class NearCopies(Metric):
    name = "near_copies"
    summary = "share of synthetic layouts closer to a training layout than real layouts come (needs --train)"
    groups = ("memorisation",)
    columns = (
        Column(
            "near_copies",
            "Near copies",
            "lower",
            scope="layout",
            range=(0.0, 1.0),
            help="memorisation, a share well above 1 % = copying",
        ),
    )
    needs = frozenset({"train", "points"})
    meta_keys = ("near_copies",)

    def score(self, real: SetView, synth: SetView, ctx: Context) -> MetricResult:
        o, T = ctx.options, ctx.train
        out = MetricResult()
        cells = {c: Estimate(np.nan) for c in ctx.names}
        why = _missing(real, synth, T)
        if why:
            out.notes.append(why)
            out.cells["near_copies"] = {**cells, "mean": Estimate(np.nan)}
            return out
        assert T is not None
        real, leaked = held_out(real, T, "near copies")
        out.notes.extend([leaked] if leaked else [])
        assert T.points is not None and real.points is not None and synth.points is not None
        tp, rp, sp = T.points, real.points, synth.points
        cap = cell_spacing(tp)
        ext = _extent(tp, rp, sp)
        dr, _ = nearest_layouts(rp, tp, cap, ext)
        ds, js = nearest_layouts(sp, tp, cap, ext)
        r_ok = np.array([sum(len(p) for p in lay) > 0 for lay in rp])
        s_ok = np.array([sum(len(p) for p in lay) > 0 for lay in sp])
        tau = copy_threshold(dr[r_ok])
        flag = (ds < tau).astype(float)
        n, k = int(s_ok.sum()), int(flag[s_ok].sum())
        value = float(flag[s_ok].mean()) if n else float("nan")
        est = Estimate(value)
        if ctx.want_se and len(synth) >= MIN_LAYOUTS and n:
            lab = ctx.plan.groups(o.se_groups)
            reps = [float(flag[s_ok & (lab != g)].mean()) for g in range(lab.max() + 1)]
            est = share_estimate(ctx.plan.jackknife(value, reps), n)
        out.cells["near_copies"] = {**cells, "mean": est}
        from scipy.stats import binom  # on use: scipy.stats costs ~0.5 s at start-up

        p = float(binom.sf(k - 1, n, QUANTILE)) if n else float("nan")
        if n:
            out.notes.append(_verdict(k, n, tau, p))
        if n < len(synth):
            out.notes.append(f"near copies: {len(synth) - n} synthetic layouts without any cell left out")
        order = [j for j in np.argsort(ds, kind="stable") if s_ok[j]][:N_WORST]
        out.meta["near_copies"] = {
            "threshold_px": tau,
            "quantile": QUANTILE,
            "margin": MARGIN,
            "cap_px": cap,
            "expected_without_copying": QUANTILE,
            "binomial_p": p,
            "n_flagged": k,
            "median_distance_px": {"real": float(np.median(dr[r_ok])), "synthetic": float(np.median(ds[s_ok]))}
            if n
            else None,
            "worst": [
                {"synthetic": synth.names[j], "train": T.names[js[j]], "distance_px": float(ds[j])} for j in order
            ],
        }
        # the gallery of the HTML report: each of the closest pairs' cells, per class
        for k, c in enumerate(ctx.names):
            out.artifacts[c] = {"near_copy_pairs": [(tp[js[j]][k], sp[j][k]) for j in order[:N_GALLERY]]}
        if ctx.want_se:
            out.uncertainty["near_copies"] = (
                f"delete-a-group jackknife over the synthetic set, {o.se_groups} groups at most, threshold fixed; "
                + SHARE_METHOD
                if est.se is not None
                else f"none ({no_interval_reason(len(synth))})"
            )
        return out


METRIC = NearCopies()

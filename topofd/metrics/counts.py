"""Cell count errors between paired layouts (TopoCellGen Suppl. Sec. 11).

For N pairs (real_i, synthetic_i) with per-class counts n_ic and n̂_ic
(connected components per channel, i.e. the cells a reader finds):

* CCE_c = (1/N) Σ_i |n̂_ic − n_ic|   — per-class cell count error;
* TCE   = (1/N) Σ_i |Σ_c n̂_ic − Σ_c n_ic| — total count error.

A class with no cell in either set is not scored (NaN) and is left out of
the mean CCE, which is the mean over the scored classes (per pair, so its
interval is that of the same numbers); TCE sums every class (an empty one
adds 0).

Intervals are analytic over the pairs (:meth:`Plan.mean`): twin differences
when the synthetic layouts were generated from the real ones' counts.
"""

from __future__ import annotations

import math

import numpy as np

from topofd.metrics.base import Column, Context, Metric, MetricResult, nonnegative, resampling_plan
from topofd.state import SetView
from topofd.stats.uncertainty import Estimate

__all__ = ["count_errors", "CountErrors", "METRIC"]


def count_errors(counts_real: np.ndarray, counts_synth: np.ndarray) -> tuple[np.ndarray, float]:
    """``(CCE per class, TCE)`` from paired ``(N, C)`` count arrays."""
    r = np.asarray(counts_real, dtype=np.float64)
    s = np.asarray(counts_synth, dtype=np.float64)
    if r.shape != s.shape or r.ndim != 2:
        raise ValueError(f"paired count arrays must have the same (N, C) shape, got {r.shape} and {s.shape}")
    if len(r) == 0:
        raise ValueError("count errors need at least one real/synthetic pair")
    return np.abs(s - r).mean(axis=0), float(np.abs(s.sum(axis=1) - r.sum(axis=1)).mean())


class CountErrors(Metric):
    name = "counts"
    summary = "cell count errors of paired layouts: CCE per class, TCE of whole layouts"
    default = True
    columns = (
        Column("cce", "CCE", "lower", range=(0.0, math.inf), help="mean absolute count error per class"),
        Column("tce", "TCE", "lower", scope="layout", range=(0.0, math.inf), help="mean absolute total count error"),
    )
    needs = frozenset({"pairs"})

    def score(self, real: SetView, synth: SetView, ctx: Context) -> MetricResult:
        pairs = ctx.pairs or []
        cr = np.array([real.counts[i] for i, _ in pairs])
        cs = np.array([synth.counts[j] for _, j in pairs])
        # the count pairs are the synthetic layouts in pair order: a plan of their own
        cplan = resampling_plan(real, [(i, q) for q, (i, _) in enumerate(pairs)], len(pairs), ctx.options.seed)
        err = (cs - cr).astype(float)
        est = cplan.mean if ctx.want_se else (lambda x: Estimate(float(np.mean(x))))
        # a class empty in both sets is not scored (NaN) and stays out of the
        # mean, whose per-pair values are over the scored classes only
        scored = [k for k in range(len(ctx.names)) if not ctx.both_empty[k]]
        cce = {c: est(np.abs(err[:, k])) if k in scored else Estimate(np.nan) for k, c in enumerate(ctx.names)}
        cce["mean"] = est(np.abs(err[:, scored]).mean(axis=1)) if scored else Estimate(np.nan)
        tce = est(np.abs(err.sum(axis=1)))
        out = MetricResult(cells={"cce": cce, "tce": {"mean": tce}}, counts=(cr, cs))
        if ctx.want_se:
            out.uncertainty["cce"] = out.uncertainty["tce"] = (
                f"analytic over the N = {len(err)} pairs: se² = sum of squared twin differences of the per-pair "
                "absolute errors / N², t interval"
                if cplan.mode == "twins"
                else f"analytic: se = sd/sqrt(N) of the per-pair absolute errors, N = {len(err)} pairs, t interval"
            )
        if tce.why:
            out.notes.append(f"count errors: {tce.why}")
        nonnegative(out, ("cce", "tce"), "CCE, TCE")
        return out


METRIC = CountErrors()

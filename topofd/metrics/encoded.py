"""What FID and KID share: each layout encoded by a feature extractor.

The extractor (option ``extractor``; default the shipped BRCA-M2C layout
encoder, :mod:`topofd.encoders.train`) reads each layout rasterised at
128 x 128 px, one channel per class in report order
(:mod:`topofd.encoders.raster`), and returns one feature vector per layout.
Both sets need their cells, or the real set its stored features: a real
set loaded from a ``.topofd`` reference file (no cells) uses the features
stored in it by the same extractor file (:mod:`topofd.storage.reference`);
without them the score is not measured (a note says how to make the file
again), with another extractor's the comparison is refused.  Features of one set are computed once per comparison
(FID and KID share them).  Whole layouts: the columns fill the ``mean`` row only.
"""

from __future__ import annotations

from collections.abc import Callable

from topofd.metrics.base import Column, Context, Metric, MetricResult, nonnegative, put_whole_layout
from topofd.state import SetView
from topofd.stats.uncertainty import MIN_LAYOUTS

__all__ = ["set_features", "whole_layout_result", "EncodedMetric"]


def set_features(real: SetView, synth: SetView, ctx: Context):
    """``(F_real, F_synth, meta)`` or ``(None, None, note)`` when a set has
    neither cells nor (the real set) stored features."""
    if synth.points is None:
        return None, None, "the synthetic set has no cells"
    from topofd.encoders.extract import encode, load_extractor

    ex = load_extractor(ctx.options.extractor)
    if real.points is not None:
        Fr = encode(ex, real.points, real.canvases, real.keys)
        Fs = encode(ex, synth.points, synth.canvases, synth.keys)
    else:
        got = ctx.real_features(ex) if callable(ctx.real_features) else ctx.real_features
        if got is None or isinstance(got, str):
            return None, None, got or "the real set has no cells (layouts given as diagrams only)"
        Fr, Fs = got, encode(ex, synth.points, synth.canvases, synth.keys)
    if Fr.shape[1] != Fs.shape[1]:  # a callable may be inconsistent
        raise ValueError(f"extractor {ex.name}: {Fr.shape[1]} features for real layouts, {Fs.shape[1]} for synthetic")
    return Fr, Fs, {"extractor": ex.name, "sha256": ex.sha256, "features": int(Fr.shape[1])}


def whole_layout_result(name: str, column: str, title: str, value, reps, lab, info, nS: int, ctx: Context):
    """The :class:`MetricResult` of a whole-layout score (``mean`` row; jackknife over ``lab`` groups)."""
    out = MetricResult()
    if isinstance(info, str):
        out.notes.append(f"{title} not measured: {info}")
        value, reps = float("nan"), []
    else:
        out.meta[name] = info
    put_whole_layout(out, ctx, column, value, reps, lab, nS, "not measured")
    return out


def groups(ctx: Context, nS: int):
    """The synthetic set's jackknife labels, or ``None`` (no interval)."""
    return ctx.plan.groups(ctx.options.se_groups) if ctx.want_se and nS >= MIN_LAYOUTS else None


class EncodedMetric(Metric):
    """The plug-in of one whole-layout score of the encoder features:
    ``scores(F_real, F_synth, labels, ctx) -> (value, replicates)``;
    ``floor``: the score cannot be negative (interval bounds raised to 0)."""

    groups = ("fid",)
    needs = frozenset({"points"})

    def __init__(self, name: str, column: Column, summary: str, scores: Callable, floor: bool):
        self.name, self.columns, self.title, self.summary = name, (column,), column.title, summary
        self.meta_keys = (column.key,)
        self.scores, self.floor = scores, floor

    def score(self, real: SetView, synth: SetView, ctx: Context) -> MetricResult:
        nS, col = len(synth), self.columns[0].key
        lab = groups(ctx, nS)
        Fr, Fs, info = set_features(real, synth, ctx)
        value, reps = (float("nan"), []) if Fr is None else self.scores(Fr, Fs, lab, ctx)
        out = whole_layout_result(col, col, self.title, value, reps, lab, info, nS, ctx)
        if self.floor:
            nonnegative(out, (col,), self.title)
        return out

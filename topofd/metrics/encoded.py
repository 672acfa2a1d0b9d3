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
from pathlib import Path

import numpy as np

from topofd.metrics.base import Column, Context, Metric, MetricResult, nonnegative, put_whole_layout
from topofd.state import SetView
from topofd.stats.uncertainty import MIN_LAYOUTS

__all__ = [
    "reference_features",
    "shipped_channels",
    "set_features",
    "whole_layout_result",
    "feature_notes",
    "EncodedMetric",
]


def set_features(real: SetView, synth: SetView, ctx: Context):
    """``(F_real, F_synth, meta)`` or ``(None, None, note)`` when a set has
    neither cells nor (the real set) stored features."""
    if synth.points is None:
        return None, None, "the synthetic set has no cells"
    from topofd.encoders.extract import encode, load_extractor

    if ctx.options.extractor is None:
        from topofd.encoders.extract import shipped_record

        reads = int(shipped_record()["input"]["channels"])
        if reads != len(ctx.names):
            raise ValueError(
                f"FID/KID: the shipped encoder reads {reads} classes, these sets have {len(ctx.names)}; give "
                "--extractor (an encoder trained with topofd train-encoder on layouts of these classes)"
            )
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


def feature_notes(title: str, Fr, Fs) -> list[str]:
    """What a score of these features cannot say: too few layouts for a
    covariance, or an extractor that gives every layout the same features."""
    if min(len(Fr), len(Fs)) < 2:
        return [f"{title} not defined: {len(Fr)} real and {len(Fs)} synthetic layouts (at least 2 in each set)"]
    if not np.ptp(np.vstack([Fr, Fs]), axis=0).any():
        return [f"{title}: the extractor gives every layout the same features; the score measures nothing"]
    return []


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
        if Fr is not None:
            out.notes.extend(feature_notes(self.title, Fr, Fs))
        if self.floor:
            nonnegative(out, (col,), self.title)
        return out


def shipped_channels() -> int:
    from topofd.encoders.extract import shipped_record

    return int(shipped_record()["input"]["channels"])


def reference_features(options, view, want: bool | None) -> tuple[dict, list, str]:
    """``(arrays, records, note)``: the real set's features by the
    ``extractor`` option's file, for a reference file
    (:func:`topofd.storage.reference.make_reference` stores them, keyed by
    the file's SHA-256); ``want`` ``None``: when possible, ``True``:
    required, ``False``: none."""
    import importlib.util

    spec = options.extractor
    if want is False:
        return {}, [], "no encoder features (--no-features)"
    why = ""
    if view.points is None:
        why = "the real layouts' cells were not kept (Evaluator options without fid/kid)"
    elif spec is not None and callable(spec) and not isinstance(spec, (str, Path)):
        why = "a Python callable extractor has no file hash to key them by"
    elif spec is None and importlib.util.find_spec("torch") is None:
        why = "the [fid] extra (torch) is not installed"
    elif spec is None and shipped_channels() != len(view.points[0]):
        why = f"the shipped encoder reads {shipped_channels()} classes, not {len(view.points[0])}; see --extractor"
    if why:
        if want:
            raise ValueError(f"cannot store encoder features: {why}")
        return {}, [], f"no encoder features ({why}; FID/KID will need the real layouts)"
    from topofd.encoders.extract import encode, load_extractor

    ex = load_extractor(spec)
    assert ex.sha256 is not None  # a file extractor
    F = encode(ex, view.points, view.canvases, view.keys)
    rec = {
        "array": f"features_{ex.sha256[:16]}",
        "extractor": Path(ex.name).name,
        "sha256": ex.sha256,
        "features": int(F.shape[1]),
    }
    return {rec["array"]: F}, [rec], f"encoder features of {rec['extractor']} (sha256 {ex.sha256[:12]})"

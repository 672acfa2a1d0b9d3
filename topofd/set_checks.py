"""Checks and fixes of the sets at compute time that the metric plug-ins
rely on: a training set that can serve the memorisation metrics, and one
canvas for two sets when only one of them says its size."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from topofd.layouts.matching import match_train
from topofd.option_spec import OptionError
from topofd.state import SetState, SetView

__all__ = ["train_view", "shared_canvas", "check_paths"]


def train_view(t: SetState, names, R: SetView, real_shapes) -> SetView:
    """The training set in compute order, its classes in report order;
    ``ValueError`` (one line) when it is the real set (the real set is the
    held-out one) or has no cell at all (a nearest training layout would
    then be an empty window: every verdict meaningless)."""
    assert t.classes is not None, "a training set with layouts has class names"
    T = t.view(synthetic=False).reordered(match_train(names, (t.classes, t.origin), real_shapes, t.shapes))
    if sorted(T.keys) == sorted(R.keys):
        raise ValueError(
            "the training set is the real set (same layouts): memorisation compares training layouts with "
            "held-out real ones; give a test set as REAL and the training set as --train"
        )
    if not np.asarray(T.counts).sum():
        raise ValueError(f"training set: all {len(T)} layouts are empty (no cell); memorisation needs its cells")
    return T


def _sizes(v: SetView) -> set:
    return {tuple(c) for c in v.canvases or () if c is not None}


def _reach(v: SetView) -> np.ndarray:
    pts = [p for lay in v.points or () for p in lay if len(p)]
    return np.max([np.asarray(p).max(axis=0) for p in pts], axis=0) if pts else np.zeros(2)


def shared_canvas(R: SetView, S: SetView) -> tuple[SetView, SetView, list[str]]:
    """When one set's layouts have no canvas size (a CSV of points) and the
    other's all have one size that holds their cells, the size-less set is
    put on that canvas, with a note: the scale-free spacing of the fidelity
    scores (cells per canvas area) and the encoder rasters of FID/KID
    depend on it, and the smallest box around the cells understates it
    (precision 0.25 instead of 1.0 on the same layouts)."""
    for a, b, what in ((R, S, "synthetic"), (S, R, "real")):
        if a.canvases is None or b.canvases is None or any(c is not None for c in b.canvases):
            continue
        sizes = _sizes(a)
        if len(sizes) != 1 or not all(c is not None for c in a.canvases):
            continue
        H, W = next(iter(sizes))
        r = _reach(b)
        if r[0] >= H or r[1] >= W:
            continue
        fixed = dataclasses.replace(b, canvases=[(H, W)] * len(b))
        note = f"{what} layouts have no canvas size: put on the other set's {H}x{W} canvas (give --canvas to say)"
        return (R, fixed, [note]) if what == "synthetic" else (fixed, S, [note])
    return R, S, []


def check_paths(options) -> None:
    """The path options name something: ``train`` is not empty (an empty
    path would read the current folder), a file given as ``extractor``
    exists whichever metrics run (a misspelt path is an error, not an
    option silently unused)."""
    if options.train is not None and not str(options.train).strip():
        raise OptionError("train", "empty path; give the folder, file or named set of the training layouts")
    spec = options.extractor
    if spec is None or callable(spec) and not isinstance(spec, (str, bytes)) and not hasattr(spec, "__fspath__"):
        return
    if not Path(spec).is_file():
        raise OptionError("extractor", f"{spec}: no such file")

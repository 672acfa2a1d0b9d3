"""What the ``spatial`` plug-ins share: windows, layout bins, per-class
means over class pairs, JSON-safe lists.  Not a metric (no ``METRIC``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from topofd.metrics.base import (
    Context,
    MetricResult,
    jackknife_method,
    no_interval_reason,
    nonnegative,
    per_class_column,
)
from topofd.state import SetView
from topofd.stats.uncertainty import MIN_LAYOUTS

__all__ = [
    "put_class_column",
    "windows",
    "jackknife_labels",
    "class_means",
    "json_floats",
    "pair_name",
    "points_missing",
]


def windows(view: SetView) -> tuple[list[tuple[float, float]], int]:
    """Each layout's window ``(H, W)``: its canvas, or (unknown canvas) the
    box from 0 to its farthest cell; and how many layouts had no canvas."""
    out, guessed = [], 0
    for i, pts in enumerate(view.points or []):
        cv = view.canvases[i] if view.canvases is not None else None
        if cv is None:
            guessed += 1
            allp = np.concatenate([np.asarray(p, float).reshape(-1, 2) for p in pts]) if len(pts) else np.zeros((0, 2))
            cv = tuple(np.ceil(allp.max(axis=0)) + 1.0) if len(allp) else (1.0, 1.0)
        out.append((float(cv[0]), float(cv[1])))
    return out, guessed


def points_missing(real: SetView, synth: SetView) -> str | None:
    """Why the cells are not there (``None``: both sets have them)."""
    for what, v in (("real", real), ("synthetic", synth)):
        if v.points is None:
            return f"the {what} set has no cell positions (a reference file without cells)"
        if len(v) < 1:
            return f"the {what} set is empty"
    return None


def jackknife_labels(ctx: Context, n_synth: int) -> np.ndarray | None:
    """The jackknife group of each synthetic layout (``None``: no interval)."""
    if not ctx.want_se or n_synth < MIN_LAYOUTS:
        return None
    return ctx.plan.groups(ctx.options.se_groups)


def class_means(values: np.ndarray, pairs: Sequence[tuple[int, int]], n_classes: int) -> np.ndarray:
    """``(..., C)``: per class the mean of ``values[..., pair]`` over the
    pairs that involve it (NaN pairs left out; NaN when none is finite)."""
    v = np.asarray(values, float)
    out = np.full((*v.shape[:-1], n_classes), np.nan)
    for k in range(n_classes):
        cols = [q for q, p in enumerate(pairs) if k in p]
        sel = v[..., cols]
        ok = np.isfinite(sel)
        with np.errstate(invalid="ignore"):
            out[..., k] = np.where(ok.any(-1), np.where(ok, sel, 0.0).sum(-1) / np.maximum(ok.sum(-1), 1), np.nan)
    return out


def json_floats(v) -> list:
    """A list of floats with ``None`` for NaN (JSON has no NaN)."""
    return [float(x) if np.isfinite(x) else None for x in np.asarray(v, float).ravel()]


def pair_name(names: Sequence[str], a: int, b: int) -> str:
    return f"{names[a]}–{names[b]}"


def put_class_column(
    out: MetricResult, ctx: Context, column: str, title: str, values: np.ndarray, reps: list, lab, n_synth: int
) -> None:
    """Write a per-class distance column (classes empty in both sets not
    scored), its jackknife interval from the per-group replicates ``reps``
    (each a per-class vector; none: no interval) and how it was made; the
    distance cannot be negative (lower bounds raised to 0)."""
    values = np.array(values, float)
    values[np.asarray(ctx.both_empty, bool)] = np.nan
    per_reps: list[list | None] = [[float(r[k]) for r in reps] if reps else None for k in range(len(values))]
    out.cells[column] = per_class_column(ctx.names, list(values), per_reps, ctx.plan.jackknife, bool(reps))
    if ctx.want_se:
        out.uncertainty[column] = jackknife_method(lab) if lab is not None else f"none ({no_interval_reason(n_synth)})"
    nonnegative(out, (column,), title)

"""Every score on one scale, from real tissue (floor) to random placement.

A score alone does not say how good it is: a perfect generator does not
score 0, because tissue differs from image to image.  Two reference rows
fix the scale of a real set (issue 27): ``floor``, the score of real
tissue from *other* images with the nearest per-class counts
(:func:`topofd.layouts.baselines.matched_real`), and ``random``, the score
of the matched-count random placement (:func:`topofd.layouts.baselines.perturb`).
A score ``x`` becomes

    s = (x - f) / (r - f)

0: as good as real tissue of other images; 1: no better than random
placement (below 0: closer to the real set than other real tissue, e.g. a
slightly jittered copy of it).  Its standard error is the delta method's
first order, with ``x``, ``f`` and ``r`` taken as independent draws (each
interval is over another draw of its synthetic set, the real set fixed)::

    se(s)^2 = (se_x^2 + s^2 se_r^2 + (s - 1)^2 se_f^2) / (r - f)^2

and its 95 % interval ``s ± 1.96 se`` (normal).  The scale is undefined
(NaN and a note) where the rows cannot separate floor from random:
``r - f <= 2 sqrt(se_f^2 + se_r^2)`` (e.g. the paper TopoFD of epithelial
and stromal cells on BRCA-M2C, where random placement scores *below* real
tissue).  Only the columns declared ``scaled`` are (the default distances: TopoFD, TopoKD, MMD); count
errors are not: the random baseline keeps the counts (0 error) and the
floor cannot (its count error is the match's).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["DEPENDS", "Z", "scaled", "scale_options", "rows_for", "add_scaled", "put_on_scale"]

# the default scores put on the scale (cce/tce are not: see the module docstring)
# the options a metric's value depends on (its plug-in options are added by the caller)
DEPENDS = {
    "topofd": ("protocol", "complex", "n_bins", "n_layers", "fd_method"),
    "topokd": ("complex",),
    "mmd": ("complex", "mmd_sigma", "mmd_samples", "mmd_estimator"),
}
Z = 1.959963984540054  # 97.5 % normal quantile
SEPARATION = 2.0  # r - f must exceed this many combined standard errors


def scaled(
    x: float, x_se: float | None, f: float, f_se: float | None, r: float, r_se: float | None
) -> tuple[float, float | None, str | None]:
    """``(s, se, why)``: the scaled score of ``x`` between floor ``f`` and
    random ``r`` and its delta-method standard error (``None`` when any
    input has none); ``s`` is NaN and ``why`` says so when the rows do not
    separate (see the module docstring)."""
    if not all(math.isfinite(v) for v in (x, f, r)):
        return math.nan, None, "a value is missing"
    gap = r - f
    spread = math.hypot(f_se or 0.0, r_se or 0.0)
    if gap <= SEPARATION * spread or gap <= 0:
        return math.nan, None, f"random {r:.4g} vs floor {f:.4g}, combined se {spread:.2g}"
    s = (x - f) / gap
    if x_se is None or f_se is None or r_se is None:
        return s, None, None
    return s, math.sqrt(x_se**2 + s**2 * r_se**2 + (s - 1) ** 2 * f_se**2) / abs(gap), None


def scale_options(options, metric: str, own: Sequence[str] = ()) -> dict:
    """The option values ``metric``'s rows must be made with to apply
    (:data:`DEPENDS` and the plug-in's own options ``own``)."""
    core = {n: getattr(options, n) for n in DEPENDS.get(metric, ("complex",))}
    return {**core, **{n: options.option(n) for n in own}}


def rows_for(entries: Sequence[Mapping], want: Mapping, paired: bool = True) -> Mapping | None:
    """The stored rows of one metric made with the options ``want`` for
    paired (count-conditioned) or unpaired synthetic sets (``None``: none)."""
    for e in entries:
        if dict(e.get("options", {})) == dict(want) and bool(e.get("paired", True)) == paired:
            return e
    return None


def _row(entry: Mapping, kind: str, i: int) -> tuple[float, float | None]:
    v, se = entry[kind]["value"][i], entry[kind]["se"][i]
    return (math.nan if v is None else float(v)), (None if se is None else float(se))


def add_scaled(table: pd.DataFrame, metric: str, entry: Mapping, order: Sequence[int]) -> tuple[dict, list[str]]:
    """Add ``<metric>_scaled`` (and ``_se/_lo/_hi``) to ``table`` in place
    from the stored ``entry`` (``floor``/``random`` ``value`` and ``se``
    lists: the reference's classes, then the mean); ``order[j]`` is the
    stored index of the table's ``j``-th class row (the mean row last).
    Returns ``meta["scale"][metric]`` and the notes of undefined rows."""
    rows = list(table.index)
    col = f"{metric}_scaled"
    meta: dict = {"floor": {}, "floor_se": {}, "random": {}, "random_se": {}, "how": entry.get("how", "")}
    has_se = f"{metric}_se" in table.columns
    xs = table[metric].to_numpy(float) if metric in table.columns else np.full(len(rows), np.nan)
    x_ses = table[f"{metric}_se"].to_numpy(float) if has_se else np.full(len(rows), np.nan)
    out = np.full((len(rows), 4), np.nan)  # scaled, se, lo, hi: whole columns at once (cell writes are slow)
    undefined = []
    for j, row in enumerate(rows):
        i = len(order) if row == "mean" else order[j]
        f, f_se = _row(entry, "floor", i)
        r, r_se = _row(entry, "random", i)
        meta["floor"][row], meta["floor_se"][row], meta["random"][row], meta["random_se"][row] = f, f_se, r, r_se
        x_se = float(x_ses[j]) if np.isfinite(x_ses[j]) else None
        s, se, why = scaled(float(xs[j]), x_se, f, f_se, r, r_se)
        out[j, 0] = s
        if se is not None:
            out[j, 1:] = [se, s - Z * se, s + Z * se]
        if why and "missing" not in why:
            undefined.append(f"{row} ({why})")
    table[col] = out[:, 0]
    if has_se:  # the interval columns exist wherever the score has one, if only NaN
        table[[f"{col}_se", f"{col}_lo", f"{col}_hi"]] = out[:, 1:]
    notes = []
    if undefined:
        notes.append(
            f"{metric}: scale undefined where the score cannot tell real tissue from random placement: "
            + "; ".join(undefined)
        )
    return meta, notes


def put_on_scale(
    table: pd.DataFrame,
    rows: Mapping | None,
    options,
    own: Mapping[str, Sequence[str]],
    order: Sequence[int] | None,
    paired: bool = True,
) -> tuple[dict, list[str]]:
    """Add the scaled columns of every selected metric of ``own`` (selected
    metric with a scaled column -> its plug-in options) whose stored ``rows``
    were made with this run's options, for paired (count-conditioned:
    floor = nearest-count real layouts) or unpaired synthetic sets (floor =
    a draw of the pool); ``order``: the stored class index of each report
    class (``None``: the same order).  ``(meta["scale"], notes)``."""
    if not rows:
        return {}, []
    n_classes = len(table.index) - 1
    if len(rows["classes"]) != n_classes:
        return {}, [f"scale rows skipped: made for {len(rows['classes'])} classes, this comparison has {n_classes}"]
    idx = list(order) if order is not None else list(range(n_classes))
    out, notes = {}, []
    for name in own:
        want = scale_options(options, name, own[name])
        entry = rows_for(rows["metrics"].get(name, []), want, paired)
        if entry is None:
            made = [{**e["options"], "paired": e.get("paired", True)} for e in rows["metrics"].get(name, [])]
            notes.append(
                f"{name}: no scale (floor and random rows made with {made}, this run uses {want}, paired {paired})"
            )
            continue
        out[name], why = add_scaled(table, name, entry, idx)
        notes += why
    return out, notes

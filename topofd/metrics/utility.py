"""Utility of the synthetic layouts for a downstream model: train on
synthetic, test on real (TSTR; Esteban, Hyland & Rätsch 2017, Sec. 3.2),
in the per-class F1 layout of TopoCellGen's Table 2.

Task: classify each cell's type from its spatial context (the counts of
each class within 8/16/32/64 px, the nearest cell of each class, local
density, distance to the border: :mod:`topofd.utility.features`) with one
fixed model (:mod:`topofd.utility.model`).  A model that learns from
synthetic layouts how cell types arrange themselves, and still reads real
tissue, shows that the arrangement is right; placing cells at random, or
labels that do not follow the tissue, leave nothing to learn.

Design (:mod:`topofd.utility.design`): the real images are dealt into two
halves; each half's model is tested on the other half's cells and the
predictions are pooled (two-fold cross-fitting: no image on both sides).
Each synthetic layout goes with its real partner's half (so a synthetic
layout made from a real window never trains the model that is tested on
that window).  Per half, at most ``--utility-cells`` cells of each set are
drawn with a fixed seed.  Columns (F1 per class, mean = macro F1):

* ``tstr``: trained on the synthetic half, tested on the other real half;
* ``trtr``: trained on the real half instead — the real ceiling;
* ``tstr_ratio``: TSTR / TRTR (mean row: macro over macro);
* ``trts``: trained on the real half, tested on the other synthetic half;
* ``aug_delta``: augmentation gain — F1 of a model trained on a scarce
  real set (every :data:`SCARCE`-th drawn real cell of the half) plus the
  synthetic half, minus F1 of the scarce real set alone (same real test
  cells).  Scarce because the classifier saturates: on BRCA-M2C its macro
  F1 is flat from 5,000 real cells on, so adding anything to a full half
  can only show harm, never help (as in TopoCellGen's Table 2, synthetic
  data augments scarce labelled data).

Intervals: delete-a-group jackknife over the *test* layouts with the four
fitted models fixed (conditional on the fits; refitting per group would
cost G times the fits): TSTR, TRTR, the ratio and the gain over groups of
real images (the real test cells), TRTS over the plan's groups of the
synthetic set.  Refused (``ValueError``): a class with no cell in the
synthetic set, or fewer than :data:`MIN_CELLS` of a class in a half.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from topofd.metrics.base import Column, Context, Metric, MetricOption, MetricResult, Section, per_class_column
from topofd.option_spec import Spec
from topofd.state import SetView
from topofd.stats.uncertainty import MIN_LAYOUTS, Estimate, assign_groups, jackknife
from topofd.utility.design import halves, layout_units, sample_cells, synthetic_folds
from topofd.utility.features import RADII, CellTable, cell_table, context_features
from topofd.utility.model import PARAMS, confusion, f1_leave_out, fit, predict

__all__ = ["MIN_CELLS", "MIN_UNITS", "Utility", "METRIC"]

MIN_CELLS = 20  # per class and half: fewer cannot train a 31-leaf booster with 20 cells a leaf
MIN_UNITS = 4  # real images (or layouts) to deal into two halves
SCARCE = 10  # the augmentation arms train on every SCARCE-th drawn real cell
_F1 = (0.0, 1.0)

CELLS = MetricOption(
    "utility_cells",
    10000,
    Spec(
        "Cells of each set drawn (fixed seed) per image half to train and test the utility model (TSTR/TRTR/TRTS).",
        "int",
        "--utility-cells",
        low=100,
        metavar="N",
    ),
)


@dataclass
class _Side:
    """One set's sampled cells: features, labels, fold and test group of each."""

    X: np.ndarray
    y: np.ndarray
    fold: np.ndarray
    group: np.ndarray
    n_groups: int


def _side(cells: CellTable, layout_fold: np.ndarray, layout_group: np.ndarray, cap: int, seed: int, tag: int):
    fold = layout_fold[cells.layout]
    idx = np.concatenate([sample_cells(np.flatnonzero(fold == f), cap, seed, 2 * tag + f) for f in (0, 1)])
    return _Side(
        context_features(cells, idx),
        cells.label[idx],
        fold[idx],
        layout_group[cells.layout[idx]],
        int(layout_group.max()) + 1 if len(layout_group) else 1,
    )


def _check(side: _Side, what: str, names, skip) -> None:
    for f in (0, 1):
        n = np.bincount(side.y[side.fold == f], minlength=len(names))
        for k, c in enumerate(names):
            if skip[k]:
                continue
            if what == "synthetic" and not (side.y == k).any():
                raise ValueError(
                    f"utility: class {c} has no cell in the synthetic layouts: a model trained on them cannot "
                    "learn it (TSTR undefined)"
                )
            if n[k] < MIN_CELLS:
                raise ValueError(
                    f"utility: too few cells: class {c} has {n[k]} cells in one image half of the {what} set "
                    f"(at least {MIN_CELLS} needed)"
                )


def _scarce_note(real: _Side, names, skip) -> str | None:
    """A note when the scarce real set of the augmentation arm is too thin to train on for a class."""
    thin: dict[str, int] = {}
    for f in (0, 1):
        n = np.bincount(real.y[np.flatnonzero(real.fold == f)[::SCARCE]], minlength=len(names))
        thin.update(
            {c: min(int(n[k]), thin.get(c, int(n[k]))) for k, c in enumerate(names) if not skip[k] and n[k] < MIN_CELLS}
        )
    if not thin:
        return None
    few = ", ".join(f"{c} {n}" for c, n in thin.items())
    return (
        f"utility: the scarce real set of the augmentation arm has fewer than {MIN_CELLS} cells of a class "
        f"({few}): ΔF1 is noisy"
    )


def _fits(real: _Side, synth: _Side, seed: int) -> dict[str, np.ndarray]:
    """Pooled out-of-half predictions: ``trtr``/``tstr``/``scarce``/``aug``
    of the real test cells, ``trts`` of the synthetic ones."""
    out = {k: np.zeros(len(real.y), np.int64) for k in ("trtr", "tstr", "scarce", "aug")}
    out["trts"] = np.zeros(len(synth.y), np.int64)
    for f in (0, 1):
        rt, st = real.fold == f, synth.fold == f  # training cells of fold f
        rtest, stest = ~rt, ~st
        m_real = fit(real.X[rt], real.y[rt], seed)
        out["trtr"][rtest] = predict(m_real, real.X[rtest])
        out["trts"][stest] = predict(m_real, synth.X[stest])
        out["tstr"][rtest] = predict(fit(synth.X[st], synth.y[st], seed), real.X[rtest])
        few = np.flatnonzero(rt)[::SCARCE]
        out["scarce"][rtest] = predict(fit(real.X[few], real.y[few], seed), real.X[rtest])
        aug = fit(np.vstack([real.X[few], synth.X[st]]), np.concatenate([real.y[few], synth.y[st]]), seed)
        out["aug"][rtest] = predict(aug, real.X[rtest])
    return out


def _scores(side: _Side, pred: np.ndarray, C: int, skip) -> tuple[np.ndarray, np.ndarray]:
    """F1 per class and its leave-one-group-out replicates (skipped classes NaN)."""
    v, reps = f1_leave_out(confusion(side.y, pred, side.group, side.n_groups, C))
    v[list(np.flatnonzero(skip))] = np.nan
    return v, reps


class Utility(Metric):
    name = "utility"
    summary = "train on synthetic, test on real (TSTR): per-class F1 of a cell-type classifier from spatial context"
    groups = ("utility",)
    columns = (
        Column("tstr", "TSTR F1", "higher", range=_F1, help="F1 of a model trained on synthetic, tested on real cells"),
        Column("trtr", "TRTR F1", "none", range=_F1, help="F1 trained and tested on real (other images): the ceiling"),
        Column("tstr_ratio", "TSTR/TRTR", "higher", range=(0.0, np.inf), help="share of the real-trained F1 kept"),
        Column("trts", "TRTS F1", "higher", range=_F1, help="F1 of the real-trained model on synthetic cells"),
        Column(
            "aug_delta",
            "Aug. ΔF1",
            "higher",
            range=(-1.0, 1.0),
            help="F1 gain of scarce real + synthetic over scarce real",
        ),
    )
    needs = frozenset({"points"})
    options = (CELLS,)
    meta_keys = ("utility",)

    def score(self, real: SetView, synth: SetView, ctx: Context) -> MetricResult:
        out = MetricResult()
        if real.points is None or synth.points is None:
            out.notes.append("utility not measured: a set has no cell coordinates (a reference file keeps diagrams)")
            out.cells = {c.key: {n: Estimate(np.nan) for n in (*ctx.names, "mean")} for c in self.columns}
            return out
        o, C, skip = ctx.options, len(ctx.names), np.array(ctx.both_empty, bool)
        units, by_image = layout_units(real.names, real.images)
        n_units = int(units.max(initial=-1)) + 1
        if n_units < MIN_UNITS:
            what = "images" if by_image else "layouts"
            raise ValueError(
                f"utility: too few cells: the real set has {n_units} {what}, at least {MIN_UNITS} needed for two halves"
            )
        rfold = halves(units, o.seed)
        sfold, s_how = synthetic_folds(len(synth), ctx.pairs, synth.names, real.names, rfold, o.seed)
        rgroup = assign_groups(n_units, min(o.se_groups, n_units), o.seed)[units]
        sgroup = ctx.plan.groups(o.se_groups) if len(synth) >= MIN_LAYOUTS else np.zeros(len(synth), np.int64)
        cap = int(ctx.option("utility_cells"))
        R = _side(cell_table(real.points, real.canvases, C), rfold, rgroup, cap, o.seed, 0)
        S = _side(cell_table(synth.points, synth.canvases, C), sfold, sgroup, cap, o.seed, 1)
        _check(S, "synthetic", ctx.names, skip)
        _check(R, "real", ctx.names, skip)
        note = _scarce_note(R, ctx.names, skip)
        if note:
            out.notes.append(note)
        pred = _fits(R, S, o.seed)
        res = {k: _scores(S if k == "trts" else R, p, C, skip) for k, p in pred.items()}
        self._fill(out, res, ctx, len(synth) >= MIN_LAYOUTS)
        how_real = "real images" if by_image else "real layouts (names carry no image)"
        if ctx.want_se:
            g_real = f"{int(rgroup.max()) + 1} groups of {how_real}"
            for col in ("tstr", "trtr", "tstr_ratio", "aug_delta"):
                out.uncertainty[col] = (
                    f"delete-a-group jackknife over the real test cells, {g_real}, fitted models fixed, t interval"
                )
            out.uncertainty["trts"] = (
                f"delete-a-group jackknife over the synthetic test cells, the plan's {int(sgroup.max()) + 1} groups, "
                "fitted model fixed, t interval"
                if len(synth) >= MIN_LAYOUTS
                else f"none ({len(synth)} synthetic layouts: fewer than {MIN_LAYOUTS})"
            )
        if not by_image:
            out.notes.append(
                "utility: the real layout names carry no image (<image>_r<row>_c<col>): halves of layouts, "
                "not images — overlapping windows of one image may train and test (TRTR optimistic)"
            )
        out.meta["utility"] = {
            "radii_px": list(RADII),
            "model": {"HistGradientBoostingClassifier": {**PARAMS, "random_state": o.seed}},
            "cells_per_half": cap,
            "augmentation_real_cells": f"every {SCARCE}th drawn real cell of a half",
            "n_cells": {"real": len(R.y), "synthetic": len(S.y)},
            "halves": f"two halves of {how_real}, seed {o.seed}; a synthetic layout goes with {s_how}",
        }
        out.sections.append(_section(out, ctx.names, res))
        return out

    def _fill(self, out: MetricResult, res: dict, ctx: Context, synth_se: bool) -> None:
        names, se = ctx.names, ctx.want_se

        def col(v, reps, combine):
            return per_class_column(names, list(v), [list(reps[:, k]) for k in range(len(names))], combine, se)

        for key in ("tstr", "trtr"):
            out.cells[key] = col(res[key][0], res[key][1], jackknife)
        out.cells["trts"] = col(res["trts"][0], res["trts"][1], ctx.plan.jackknife if synth_se else None)
        (a, ar), (t, tr) = res["aug"], res["scarce"]
        out.cells["aug_delta"] = col(a - t, ar - tr, jackknife)
        out.cells["tstr_ratio"] = _ratio(names, res["tstr"], res["trtr"], se)


def _ratio(names, tstr, trtr, se: bool) -> dict[str, Estimate]:
    """TSTR / TRTR per class; the mean row is macro TSTR / macro TRTR (not a mean of ratios)."""
    (s, sr), (t, tr) = tstr, trtr
    with np.errstate(invalid="ignore", divide="ignore"):
        v, r = s / t, sr / tr
        ok = np.isfinite(t)
        mv = float(np.mean(s[ok]) / np.mean(t[ok])) if ok.any() else np.nan
        mr = sr[:, ok].mean(axis=1) / tr[:, ok].mean(axis=1)
    out = {c: (jackknife(float(v[k]), r[:, k]) if se else Estimate(float(v[k]))) for k, c in enumerate(names)}
    out = {c: e if np.isfinite(v[k]) else Estimate(np.nan) for k, (c, e) in enumerate(out.items())}
    out["mean"] = jackknife(mv, mr) if se and np.isfinite(mv) else Estimate(mv)
    return out


def _section(out: MetricResult, names, res: dict) -> Section:
    """The Table 2-style block: F1 per class of every training/testing arm, and what it says."""
    cells = out.cells
    rows = []
    scarce, aug = (np.append(res[k][0], np.nanmean(res[k][0])) for k in ("scarce", "aug"))
    for i, c in enumerate((*names, "mean")):
        rows.append(
            {
                "class": "macro F1" if c == "mean" else c,
                "TSTR": float(cells["tstr"][c].value),
                "TRTR (real ceiling)": float(cells["trtr"][c].value),
                "TSTR/TRTR": float(cells["tstr_ratio"][c].value),
                "TRTS": float(cells["trts"][c].value),
                f"scarce real (1/{SCARCE})": float(scarce[i]),
                "scarce real + synthetic": float(aug[i]),
                "ΔF1 (augmentation)": float(cells["aug_delta"][c].value),
            }
        )
    m = rows[-1]
    loss = {c: cells["trtr"][c].value - cells["tstr"][c].value for c in names if np.isfinite(cells["tstr"][c].value)}
    worst = max(loss, key=lambda c: loss[c]) if loss else None
    s = [
        f"A model trained on the synthetic layouts recovers {100 * m['TSTR/TRTR']:.0f} % of the real-trained macro F1 "
        f"(TSTR {m['TSTR']:.3f}, TRTR {m['TRTR (real ceiling)']:.3f})"
        + (
            f"; {worst} cells suffer most (F1 {cells['trtr'][worst].value:.2f} → {cells['tstr'][worst].value:.2f})."
            if worst and loss[worst] > 0
            else "."
        ),
        f"The real-trained model reads the synthetic layouts with macro F1 {m['TRTS']:.3f} (TRTS; on real cells "
        f"{m['TRTR (real ceiling)']:.3f}); adding the synthetic cells to a tenth of the real ones changes macro F1 by "
        f"{m['ΔF1 (augmentation)']:+.3f}.",
    ]
    return Section("Train on synthetic, test on real (TopoCellGen Table 2 layout)", sentences=s, table=rows)


METRIC = Utility()

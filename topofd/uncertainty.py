"""Standard errors and 95 % intervals of the scores.

What an interval describes: the spread of a score over **another draw of the
synthetic set from the same generator, with the real set fixed** (the real
test set of a benchmark is fixed; a generator is re-sampled).  The
resampling therefore acts on the synthetic side only, and never duplicates a
layout: the percentile bootstrap does, and biases every score here upwards
(a copy of a layout is a perfect match for itself; a covariance of fewer
distinct samples is smaller), so its intervals can miss their own estimate.

Methods (each validated by ``benchmarks/calibration.py``, which re-draws
known generators and counts how often a single draw's interval covers the
mean over draws; results in ``benchmarks/README.md``):

* **delete-a-group jackknife** (Quenouille–Tukey; grouped form as in Efron &
  Tibshirani 1993, Sec. 11.5) for smooth statistics of the synthetic set —
  ``grid`` TopoFD and its extrapolation, MMD: the synthetic layouts are dealt
  into ``G`` seeded groups, the score recomputed with each group left out,
  ``se² = (G − 1)/G · Σ_g (θ_(g) − θ̄)²``, interval ``θ ± t_{G−1} se``.
* **split halves** (delete-d jackknife with d = n/2, Shao & Wu 1989) for the
  ``paper`` TopoFD, whose synthetic barycenter is too expensive to
  recompute G times: ``B`` seeded splits of the synthetic set into two
  halves, ``se² = mean_b (θ_A − θ_B)² / 4``, interval ``θ ± t_B se``.  Each
  half starts its barycenter from its own first diagram, so the spread
  includes the barycenter's dependence on its starting diagram.
* **analytic** for count errors (means of per-pair absolute errors):
  ``se = sd / √N``, interval ``θ ± t_{N−1} se``.

With fewer than :data:`MIN_LAYOUTS` synthetic layouts (or pairs) no interval
is given: the value is reported with a note saying why.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import stats

__all__ = ["MIN_LAYOUTS", "Estimate", "assign_groups", "jackknife", "split_halves", "mean_with_se", "interval",
           "halves"]

MIN_LAYOUTS = 10
LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A score with its standard error and 95 % interval (``None`` when not
    computed; ``why`` then says why)."""

    value: float
    se: float | None = None
    lo: float | None = None
    hi: float | None = None
    df: int | None = None
    why: str | None = None


def interval(value: float, se: float, df: int) -> tuple[float, float]:
    """``value ± t_{df, 0.975} · se`` (t, not normal: with few groups or
    splits the se itself is uncertain, and t accounts for it)."""
    q = float(stats.t.ppf(0.5 + LEVEL / 2, df))
    return value - q * se, value + q * se


def _estimate(value: float, se: float, df: int) -> Estimate:
    if not np.isfinite(se):
        return Estimate(value, why="standard error not finite")
    lo, hi = interval(value, se, df)
    return Estimate(value, float(se), float(lo), float(hi), int(df))


def assign_groups(n: int, n_groups: int, seed: int) -> np.ndarray:
    """Group label ``0..G-1`` of each of ``n`` items: a seeded random deal
    into groups whose sizes differ by at most one (depends only on ``n``,
    ``n_groups`` and ``seed``)."""
    G = min(n_groups, n)
    labels = np.arange(n) % max(G, 1)
    return np.random.default_rng([int(seed), 0x6A4B]).permutation(labels)


def jackknife(value: float, replicates: Sequence[float]) -> Estimate:
    """Delete-a-group jackknife from the leave-one-group-out replicates."""
    r = np.asarray(replicates, float)
    G = len(r)
    if G < 2:
        return Estimate(value, why="fewer than 2 jackknife groups")
    se = np.sqrt((G - 1) / G * np.sum((r - r.mean()) ** 2))
    return _estimate(value, se, G - 1)


def halves(n: int, n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_splits`` seeded splits of ``range(n)`` into two halves, each half
    sorted (kept in the set's own order)."""
    g = np.random.default_rng([int(seed), 0x5A1F])
    out = []
    for _ in range(n_splits):
        p = g.permutation(n)
        out.append((np.sort(p[: n // 2]), np.sort(p[n // 2:])))
    return out


def split_halves(value: float, pairs: Sequence[tuple[float, float]]) -> Estimate:
    """Split-half standard error from ``(θ_A, θ_B)`` of each split."""
    d = np.array([a - b for a, b in pairs], float)
    if len(d) < 1:
        return Estimate(value, why="no splits")
    se = np.sqrt(np.mean(d**2) / 4.0)
    return _estimate(value, se, len(d))


def mean_with_se(x: np.ndarray) -> Estimate:
    """Mean of independent values with its analytic standard error."""
    x = np.asarray(x, float)
    n = len(x)
    if n < MIN_LAYOUTS:
        return Estimate(float(x.mean()) if n else float("nan"),
                        why=f"{n} pairs: fewer than {MIN_LAYOUTS}, no interval")
    return _estimate(float(x.mean()), float(x.std(ddof=1) / np.sqrt(n)), n - 1)


def grouped(value: float, n: int, n_groups: int, seed: int, leave_out: Callable[[np.ndarray], float]) -> Estimate:
    """Jackknife of a statistic of ``n`` synthetic items: ``leave_out(mask)``
    recomputes it on the items where ``mask`` is True."""
    if n < MIN_LAYOUTS:
        return Estimate(value, why=f"{n} synthetic layouts: fewer than {MIN_LAYOUTS}, no interval")
    lab = assign_groups(n, n_groups, seed)
    return jackknife(value, [leave_out(lab != g) for g in range(lab.max() + 1)])

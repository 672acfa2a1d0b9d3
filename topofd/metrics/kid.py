"""KID of layouts: the unbiased MMD² between the encoder features of the
real and the synthetic layouts with the cubic polynomial kernel
k(x, y) = (x·y / d + 1)³, d the feature dimension (Bińkowski et al. 2018),
in the feature space of a layout encoder (:mod:`topofd.metrics.encoded`).

Estimator: the full unbiased U-statistic over all layouts (within-set sums
without self pairs; the cross sum without each synthetic layout's real
counterpart when the sets are paired, as TopoKD), not torch-fidelity's mean
over 100 random subsets of min(1000, n): the subset mean estimates the same
quantity with extra Monte-Carlo noise, and equals the full estimate (up to
that noise) when n ≤ 1000.  Reported as MMD² (not its root), as KID is;
it can fall below 0 when the sets match.  Interval: the closed-form
delete-a-group jackknife of the kernel sums
(:func:`topofd.metrics.landscape_kd.kernel_sums`), over the synthetic set.
"""

from __future__ import annotations

import numpy as np

from topofd.metrics.base import Column
from topofd.metrics.encoded import EncodedMetric
from topofd.metrics.landscape_kd import kernel_sums

__all__ = ["polynomial_kernel", "kid_scores", "METRIC"]


def polynomial_kernel(d: int):
    """k(A, B) = (A Bᵀ / d + 1)³, row by row."""
    return lambda A, B: (A @ B.T / d + 1.0) ** 3


def kid_scores(Fr: np.ndarray, Fs: np.ndarray, labels=None, pairs=None) -> tuple[float, list[float]]:
    """``(KID, replicates)``: unbiased MMD² and its leave-one-group-out replicates."""
    if len(Fr) < 2 or len(Fs) < 2:
        return float("nan"), []
    ks = kernel_sums(Fr, Fs, 1.0, pairs=pairs, labels=labels, kernel=polynomial_kernel(Fr.shape[1]), what="KID")
    return ks.mmd2(), ks.replicates(labels) if labels is not None else []


METRIC = EncodedMetric(
    "kid",
    Column("layout_kid", "Layout KID", "lower", scope="layout"),
    "KID of a layout encoder's features (--extractor; needs torch)",
    lambda Fr, Fs, lab, ctx: kid_scores(Fr, Fs, lab, ctx.pairs),
    False,
)

"""FID of layouts: the Fréchet distance between Gaussians fitted to the
encoder features of the real and the synthetic layouts (Heusel et al. 2017),
in the feature space of a layout encoder (:mod:`topofd.metrics.encoded`;
default the shipped BRCA-M2C encoder), not Inception's.  Not comparable
with a published FID of images or of another encoder.

d² = |μ_r − μ_s|² + tr Σ_r + tr Σ_s − 2 tr (Σ_r Σ_s)^½, by
:func:`topofd.tda.frechet.frechet_distance` (the one Fréchet distance of
topofd, ``--fd-method``); covariances with ddof = 1.  Interval:
delete-a-group jackknife over the synthetic set (the comparison's
resampling plan, real set fixed, as grid TopoFD), the replicates by
:class:`topofd.tda.frechet.FrechetTo`; lower bounds floored at 0.
"""

from __future__ import annotations

import math

import numpy as np

from topofd.metrics.base import Column
from topofd.metrics.encoded import EncodedMetric
from topofd.tda.frechet import FrechetTo, frechet_distance

__all__ = ["gaussian", "fid_scores", "METRIC"]


def gaussian(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (ddof = 1) of the rows of ``F``."""
    return F.mean(0), np.atleast_2d(np.cov(F, rowvar=False))


def fid_scores(Fr: np.ndarray, Fs: np.ndarray, labels=None, method: str = "sqrtm") -> tuple[float, list[float]]:
    """``(FID, replicates)``: the replicates leave out each synthetic group in turn."""
    if len(Fr) < 2 or len(Fs) < 2:
        return float("nan"), []
    mu_r, s_r = gaussian(Fr)
    value = frechet_distance(mu_r, s_r, *gaussian(Fs), method)
    if labels is None:
        return value, []
    fd = FrechetTo(mu_r, s_r)
    return value, [fd(*gaussian(Fs[labels != g])) for g in range(int(labels.max()) + 1)]


METRIC = EncodedMetric(
    "fid",
    Column("layout_fid", "Layout FID", "lower", scope="layout", range=(0.0, math.inf), help="not the quoted image FID"),
    "FID of a layout encoder's features (--extractor; needs torch)",
    lambda Fr, Fs, lab, ctx: fid_scores(Fr, Fs, lab, ctx.options.fd_method),
    True,
)

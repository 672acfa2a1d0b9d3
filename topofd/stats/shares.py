"""Intervals of share-valued scores (precision, recall, coverage, near
copies, C_T's cell shares) that stay inside [0, 1].

A t interval ``p ± t·se`` of a share reaches outside [0, 1] near the edges
(coverage 1.000 [0.875, 1.125]).  Here the share keeps its standard error
(the jackknife's, which knows how the score was resampled) and gets the
**Wilson score interval** (Wilson 1927) at the sample size that standard
error implies — the *effective sample size* of a design-based proportion,
``n_eff = p(1 − p) / se²`` (Kish 1965; its use with Wilson-type intervals:
Korn & Graubard 1998, "Confidence intervals for proportions with small
expected number of positive counts estimated from survey data"; Dean &
Pagano 2015 compare it with the alternatives).  The Wilson interval solves
``|p − π| ≤ z √(π(1 − π)/n_eff)`` for π, so its bounds lie in [0, 1] and
it stays informative at p = 0 or 1, where the t interval collapses or
overflows.

Two edge cases: ``p(1 − p)`` is 0 at a share of 0 or 1, which would make
``n_eff`` 0 whatever the se; the variance is therefore taken at the share
shrunk towards ½ by the Wilson centre, ``p̃ = (n p + z²/2) / (n + z²)``, n
the items the share counts.  A standard error of 0 (every replicate equal)
gives ``n_eff = n``: the plain Wilson interval of the count.  ``z`` is the
t quantile of the jackknife's degrees of freedom, as for the other scores.
Coverage over draws: ``benchmarks/share_intervals.py`` (results in
``benchmarks/README.md``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import special

from topofd.stats.uncertainty import LEVEL, Estimate

__all__ = ["wilson", "effective_size", "share_estimate", "SHARE_METHOD"]

SHARE_METHOD = "Wilson interval at the jackknife's effective sample size p(1 − p)/se² (bounds in [0, 1])"


def wilson(p: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a share ``p`` of ``n`` (possibly
    fractional, an effective size) items at quantile ``z``."""
    if not (n > 0) or not np.isfinite(p):
        return float("nan"), float("nan")
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * np.sqrt(max(p * (1 - p), 0.0) / n + z2 / (4 * n * n))
    # the interval holds p (|p − π| ≤ … is true at π = p): clip the rounding of p = 0 or 1
    return float(min(p, max(0.0, centre - half))), float(max(p, min(1.0, centre + half)))


def effective_size(p: float, se: float, n: int, z: float) -> float:
    """``n_eff = p̃(1 − p̃) / se²`` (module docstring; ``n`` when ``se`` is 0)."""
    if not se > 0:
        return float(n)
    q = (n * p + z * z / 2) / (n + z * z)
    return q * (1 - q) / (se * se)


def share_estimate(e: Estimate, n: int) -> Estimate:
    """``e`` (a share with its jackknife se and df) with the Wilson interval
    at its effective sample size; ``n``: the items the share counts.
    Unchanged when it has no standard error or its value is not finite."""
    if e.se is None or e.df is None or not np.isfinite(e.value) or n < 1:
        return e
    z = float(special.stdtrit(e.df, 0.5 + LEVEL / 2))
    lo, hi = wilson(float(np.clip(e.value, 0.0, 1.0)), effective_size(e.value, e.se, n, z), z)
    return dataclasses.replace(e, lo=lo, hi=hi)

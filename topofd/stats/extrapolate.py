"""Sample-size-free scores: the value extrapolated to infinitely many layouts
(in the manner of FID∞, Chong & Forsyth, CVPR 2020, Sec. 3.2).

A Fréchet distance computed from n samples is biased upwards by a term of
order 1/n (the covariance and the mean are estimated).  Evaluate the score on
nested random subsets holding a fraction f of the layouts of both sets, fit
``score(f) = a + b / f`` by least squares, and report ``a``: the value at
1/n = 0.  Subsets are prefixes of one seeded permutation (nested, as in the
paper); paired sets are subsampled by pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["FRACTIONS", "nested", "fit_intercept", "extrapolated"]

# 8 subset sizes evenly spaced in n from 30 % to 100 % of the set
FRACTIONS = tuple(float(x) for x in np.linspace(0.3, 1.0, 8))


def nested(n: int, fractions: Sequence[float], seed: int, stream: int = 0) -> list[np.ndarray]:
    """Index sets of the nested subsets: the first ``round(f·n)`` items of a
    seeded permutation, each sorted (the set's own order is kept)."""
    perm = np.random.default_rng([int(seed), 0xF1D, int(stream)]).permutation(n)
    return [np.sort(perm[: max(2, int(round(f * n)))]) for f in fractions]


def fit_intercept(fractions: Sequence[float], values: Sequence[float]) -> tuple[float, float]:
    """``(a, b)`` of the least-squares line ``value = a + b / f``."""
    x = 1.0 / np.asarray(fractions, float)
    A = np.stack([np.ones_like(x), x], axis=1)
    (a, b), *_ = np.linalg.lstsq(A, np.asarray(values, float), rcond=None)
    return float(a), float(b)


def extrapolated(
    score: Callable[[np.ndarray, np.ndarray], float],
    n_real: int,
    n_synth: int,
    fractions: Sequence[float] = FRACTIONS,
    *,
    seed: int = 0,
    pairs: Sequence[tuple[int, int]] | None = None,
) -> tuple[float, list[float]]:
    """``(score∞, [score at each fraction])``; ``score(real_idx, synth_idx)``
    computes the score on a subset.  With a one-to-one ``pairs`` list the
    subsets take whole pairs."""
    values = []
    if pairs:
        p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        for idx in nested(len(p), fractions, seed):
            values.append(score(np.sort(p[idx, 0]), np.sort(p[idx, 1])))
    else:
        for ir, js in zip(nested(n_real, fractions, seed, 1), nested(n_synth, fractions, seed, 2)):
            values.append(score(ir, js))
    return fit_intercept(fractions, values)[0], values

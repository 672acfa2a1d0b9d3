"""Persistence landscapes (Bubenik 2015), sampled on a grid.

The k-th landscape layer at t is the k-th largest tent value
``max(0, (d - b)/2 - |t - (b + d)/2|)`` over the diagram's points.

Two sampling protocols:

``paper``
    What the TopoCellGen evaluation does: giotto-tda 0.6.2
    ``PersistenceLandscape()`` (1 layer, 100 bins) fitted and transformed on
    each diagram on its own, so each diagram is sampled on
    ``np.linspace(lo, hi, 100)`` with ``lo``/``hi`` the smallest/largest of its
    births and deaths; an empty diagram gives zeros.  Reproduced here with the
    same arithmetic (same values to the last bit), vectorised over all
    diagrams at once and without depending on giotto-tda.
``grid``
    One sampling range shared by every diagram of a comparison (both sets),
    so that landscape coordinates mean the same filtration values across
    diagrams; layers and bins configurable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["own_range_sampling", "landscapes_own_range", "shared_sampling", "landscapes_on"]


def _linspace_rows(lo: np.ndarray, hi: np.ndarray, n_bins: int) -> np.ndarray:
    """Row-wise ``np.linspace(lo[i], hi[i], n_bins)`` with numpy's arithmetic
    (``k * step + lo``, last sample set to ``hi``; ``k / div * delta`` when the
    step is 0)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    if n_bins == 1:
        return lo[:, None].copy()
    div = n_bins - 1
    delta = hi - lo
    step = delta / div
    k = np.arange(n_bins, dtype=float)[None, :]
    zero = step == 0
    t = np.where(zero[:, None], (k / div) * delta[:, None], k * step[:, None]) + lo[:, None]
    t[:, -1] = hi
    return t


def own_range_sampling(diagrams: Sequence[np.ndarray], n_bins: int = 100) -> np.ndarray:
    """``(n_diagrams, n_bins)`` sample positions, each diagram on its own
    [min, max] of births and deaths (rows of empty diagrams are zeros)."""
    lo = np.array([d.min() if len(d) else 0.0 for d in diagrams])
    hi = np.array([d.max() if len(d) else 0.0 for d in diagrams])
    return _linspace_rows(lo, hi, n_bins)


def shared_sampling(diagrams: Sequence[np.ndarray], n_bins: int = 100) -> np.ndarray:
    """``(n_bins,)`` sample positions spanning every diagram's births and deaths."""
    nonempty = [d for d in diagrams if len(d)]
    if not nonempty:
        return np.zeros(n_bins)
    lo = min(float(d.min()) for d in nonempty)
    hi = max(float(d.max()) for d in nonempty)
    return _linspace_rows(np.array([lo]), np.array([hi]), n_bins)[0]


def _layers(diagrams, t_rows, n_layers):
    """Top ``n_layers`` tent values per sample: ``(n_diagrams, n_layers, n_bins)``.

    ``t_rows``: one row of sample positions per diagram.
    """
    n = len(diagrams)
    n_bins = t_rows.shape[1]
    out = np.zeros((n, n_layers, n_bins))
    sizes = np.array([len(d) for d in diagrams])
    if sizes.sum() == 0:
        return out
    P = np.concatenate([np.asarray(d, float).reshape(-1, 2) for d in diagrams])
    owner = np.repeat(np.arange(n), sizes)
    mid = (P[:, 1] + P[:, 0]) / 2.0
    height = (P[:, 1] - P[:, 0]) / 2.0
    starts = np.concatenate([[0], np.cumsum(sizes)])
    # chunks of whole diagrams keep the (points x bins) tent matrix ~16 MB
    cuts = np.searchsorted(starts, np.arange(0, starts[-1], max(1, 2_000_000 // n_bins)), side="right") - 1
    bounds = np.unique(np.concatenate([cuts, [n]]))
    for i0, i1 in zip(bounds[:-1], bounds[1:]):
        ids = np.arange(i0, i1)[sizes[i0:i1] > 0]
        if len(ids) == 0:
            continue
        lo, hi = starts[i0], starts[i1]
        tent = np.maximum(-np.abs(t_rows[owner[lo:hi]] - mid[lo:hi, None]) + height[lo:hi, None], 0)
        if n_layers == 1:
            out[ids, 0] = np.maximum.reduceat(tent, starts[ids] - lo, axis=0)
            continue
        for i in ids:
            f = tent[starts[i] - lo : starts[i + 1] - lo]
            k = min(n_layers, len(f))
            out[i, :k] = np.sort(f, axis=0)[::-1][:k]
    return out


def landscapes_own_range(diagrams: Sequence[np.ndarray], n_bins: int = 100, n_layers: int = 1):
    """Landscapes under the ``paper`` protocol (TopoCellGen Sec. 3.4, Eq. 11's
    landscape map): ``(n_diagrams, n_layers * n_bins)`` and the sample rows."""
    diagrams = [np.asarray(d, float).reshape(-1, 2) for d in diagrams]
    t = own_range_sampling(diagrams, n_bins)
    return _layers(diagrams, t, n_layers).reshape(len(diagrams), -1), t


def landscapes_on(diagrams: Sequence[np.ndarray], sampling: np.ndarray, n_layers: int = 1) -> np.ndarray:
    """Landscapes of every diagram on one shared ``sampling`` (the ``grid``
    protocol): ``(n_diagrams, n_layers * len(sampling))``."""
    diagrams = [np.asarray(d, float).reshape(-1, 2) for d in diagrams]
    t = np.broadcast_to(np.asarray(sampling, float), (len(diagrams), len(sampling)))
    return _layers(diagrams, t, n_layers).reshape(len(diagrams), -1)

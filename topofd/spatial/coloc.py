"""Colocalisation scores of cell types (the SPIAT family: Feng et al. 2023,
*SPIAT: an R package for the spatial image analysis of cells in tissues*;
the mixing score of Keren et al. 2018), for an ordered pair (a, b) —
a the reference type — at an interaction radius ρ, without edge correction
(as SPIAT):

* mixing score MS_ab = N_ab / N_aa, N_ab the number of (a, b) cell pairs
  closer than ρ, N_aa the number of unordered (a, a) pairs closer than ρ;
* normalised mixing score NMS_ab = (N_ab / (n_a n_b)) / (N_aa / (n_a (n_a − 1)/2)):
  the mixing score divided by its value when the cells' types are
  exchangeable (1 for a random labelling of the same positions);
* cells in neighbourhood CIN_ab = N_ab / n_a: b-cells within ρ of an
  a-cell on average (a = b: other a-cells);
* average minimum distance AMD_ab: mean over a-cells of the distance to the
  nearest b-cell (another a-cell when a = b).

Over the layouts of a set, numerators and denominators are summed before
the ratios are taken (the ratio pooling of :mod:`topofd.spatial.ripley`),
kept per bin of layouts (jackknife groups): :class:`ColocSums`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from topofd.spatial.pool import binned_sums

__all__ = ["SCORES", "ColocSums", "coloc_sums", "scores"]

SCORES = ("mixing", "nmixing", "cin", "amd")


@dataclass
class ColocSums:
    """Sums per bin of layouts, ``[bin, a, b]``: ``close`` (N_ab; a = b:
    unordered pairs), ``pairs`` (n_a n_b; a = b: n_a(n_a − 1)/2), ``cells``
    (n_a of the layouts with a b-cell), ``nn_sum`` and ``nn_n`` (nearest
    distances, a-cells with a b-neighbour)."""

    close: np.ndarray
    pairs: np.ndarray
    cells: np.ndarray
    nn_sum: np.ndarray
    nn_n: np.ndarray

    def select(self, bins) -> ColocSums:
        b = bins if isinstance(bins, slice) else np.asarray(bins)
        return ColocSums(*(getattr(self, f)[b].sum(0, keepdims=True) for f in self.__dataclass_fields__))


def _layout(pts: Sequence, rho: float, rows: int = 1024) -> tuple[np.ndarray, ...]:
    """One layout's ``(close, pairs, cells, nn_sum, nn_n)`` ``(C, C)``, from
    its full distance matrix ``rows`` cells at a time."""
    P = [np.asarray(p, float).reshape(-1, 2) for p in pts]
    C = len(P)
    n_c = np.array([len(p) for p in P])
    off = np.r_[0, np.cumsum(n_c)]
    X = np.concatenate(P) if C else np.zeros((0, 2))
    lab = np.repeat(np.arange(C), n_c)
    close = np.zeros(C * C)
    nearest = np.full((len(X), C), np.inf)
    for s in range(0, len(X), rows):
        idx = np.arange(s, min(s + rows, len(X)))
        d = np.hypot(X[idx, 0, None] - X[None, :, 0], X[idx, 1, None] - X[None, :, 1])
        d[np.arange(len(idx)), idx] = np.inf  # a cell is not its own neighbour
        i, j = np.nonzero(d <= rho)
        close += np.bincount(lab[idx[i]] * C + lab[j], minlength=C * C)
        for c in np.flatnonzero(n_c):
            nearest[idx, c] = d[:, off[c] : off[c + 1]].min(axis=1)
    close2 = close.reshape(C, C)
    # a = b: the ordered count holds each pair twice; a layout needs two a-cells
    same = np.eye(C, dtype=bool)
    cells, nn_sum = np.zeros((C, C)), np.zeros((C, C))
    has = np.isfinite(nearest)
    for a in np.flatnonzero(n_c):
        rows_a = slice(off[a], off[a + 1])
        ok = has[rows_a].all(axis=0)  # the layout has a b-neighbour for its a-cells
        cells[a] = np.where(ok, n_c[a], 0)
        nn_sum[a] = np.where(ok, np.where(has[rows_a], nearest[rows_a], 0.0).sum(axis=0), 0.0)
    pairs = np.where(same, np.outer(n_c, n_c - 1) / 2.0, np.outer(n_c, n_c).astype(float))
    return np.where(same, close2 / 2.0, close2), pairs, cells, nn_sum, cells.copy()


def coloc_sums(points: Sequence, rho: float, member: np.ndarray, n_jobs: int = 1) -> ColocSums:
    """:class:`ColocSums` of the layouts ``points[i][k]``: bin q sums the
    layouts i with weight ``member[q, i]``; on ``n_jobs`` processes, the
    same sums for any value."""
    n_bins, n = member.shape
    C = len(points[0]) if n else 0
    got = binned_sums(partial(_layout, rho=rho), list(points), member, n_jobs)
    return ColocSums(*(got if got is not None else [np.zeros((n_bins, C, C)) for _ in range(5)]))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def scores(s: ColocSums) -> dict[str, np.ndarray]:
    """The pooled scores of every bin, ``{score: [bin, a, b]}`` (NaN where undefined)."""
    diag = np.diagonal(s.close, axis1=1, axis2=2)[:, :, None]
    pdiag = np.diagonal(s.pairs, axis1=1, axis2=2)[:, :, None]
    same = np.eye(s.close.shape[1], dtype=bool)[None]
    # a = b: the close pairs are unordered; each a-cell sees 2 N_aa / n_a others
    cin = _ratio(np.where(same, 2.0 * s.close, s.close), s.cells)
    return {
        "mixing": _ratio(s.close, np.broadcast_to(diag, s.close.shape)),
        "nmixing": _ratio(_ratio(s.close, s.pairs), np.broadcast_to(_ratio(diag, pdiag), s.close.shape)),
        "cin": cin,
        "amd": _ratio(s.nn_sum, s.nn_n),
    }

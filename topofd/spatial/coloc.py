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

import numpy as np
from scipy.spatial import cKDTree

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


def _layout(P: list[np.ndarray], rho: float, out: ColocSums, b: int) -> None:
    C = len(P)
    trees = [cKDTree(p) for p in P]
    for a in range(C):
        na = len(P[a])
        for c in range(C):
            nc = len(P[c])
            if a == c:
                if na < 2:
                    continue
                out.close[b, a, a] += len(trees[a].query_pairs(rho, output_type="ndarray"))
                out.pairs[b, a, a] += na * (na - 1) / 2.0
                d, _ = trees[a].query(P[a], k=2)
                d = d[:, 1]
            else:
                if not na or not nc:
                    continue
                out.close[b, a, c] += trees[a].count_neighbors(trees[c], rho)
                out.pairs[b, a, c] += float(na) * nc
                d, _ = trees[c].query(P[a], k=1)
            out.cells[b, a, c] += na
            out.nn_sum[b, a, c] += float(np.sum(d))
            out.nn_n[b, a, c] += len(d)


def coloc_sums(points: Sequence, rho: float, bins: np.ndarray, n_bins: int) -> ColocSums:
    """:class:`ColocSums` of the layouts ``points[i][k]``, layout i in bin ``bins[i]``, in order."""
    C = len(points[0]) if len(points) else 0
    out = ColocSums(*(np.zeros((n_bins, C, C)) for _ in range(5)))
    for i, pts in enumerate(points):
        _layout([np.asarray(p, float).reshape(-1, 2) for p in pts], rho, out, int(bins[i]))
    return out


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

"""Persistence diagrams of cell point clouds (H0 and H1).

Vietoris–Rips by default (the TopoCellGen protocol, Sec. 3.4: H1 of the Rips
filtration of each class's cell centres), alpha complex as an option.

Rips diagrams are computed with ripser (coefficients in Z/11, as gudhi's
default field) and are the same multisets of intervals as
``gudhi.RipsComplex(points=P).create_simplex_tree(max_dimension=2)``'s: ripser
works in float32, so every birth and death it returns is snapped back to the
float64 pairwise distance it rounds (each value of a Rips diagram *is* a
pairwise distance).  This is ~10x faster than gudhi's Rips on these clouds.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist, squareform

__all__ = ["rips_diagrams", "rips_h1", "h1_diagrams", "alpha_diagrams", "diagrams", "EMPTY"]

EMPTY = np.zeros((0, 2))
_FIELD = 11  # gudhi's default coefficient field Z/11

try:  # ripser's compiled core, skipping its Python wrapper's per-call overhead
    from pyRipser import doRipsFiltrationDM as _ripser_dense
except ImportError:  # pragma: no cover - ripser always ships it
    _ripser_dense = None


def _snap(values: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Map float32-rounded values onto the nearest of the sorted float64 ``exact``."""
    if values.size == 0:
        return values
    i = np.clip(np.searchsorted(exact, values), 1, len(exact) - 1)
    lo, hi = exact[i - 1], exact[i]
    return np.where(np.abs(values - lo) <= np.abs(hi - values), lo, hi)


def rips_diagrams(points: np.ndarray, maxdim: int = 1) -> list[np.ndarray]:
    """Rips persistence diagrams ``[H0, ..., H_maxdim]`` of an ``(n, 2)`` cloud.

    Each diagram is a float64 ``(k, 2)`` array of (birth, death) pairs with
    positive persistence, in gudhi's ``persistence()`` order (decreasing
    length).  H0 contains one
    essential class (death ``inf``) when ``n > 0``.  Fewer than 3 points give an
    empty H1.
    """
    P = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = len(P)
    if n == 0:
        return [EMPTY.copy() for _ in range(maxdim + 1)]
    if n == 1:
        return [np.array([[0.0, np.inf]])] + [EMPTY.copy() for _ in range(maxdim)]
    d = pdist(P)
    if _ripser_dense is not None:
        res = _ripser_dense(d.astype(np.float32), maxdim, np.inf, _FIELD, 0)["births_and_deaths_by_dim"]
    else:  # pragma: no cover
        import ripser

        res = [
            x.ravel() for x in ripser.ripser(squareform(d), distance_matrix=True, maxdim=maxdim, coeff=_FIELD)["dgms"]
        ]
    exact = np.unique(np.concatenate([[0.0], d]))
    out = []
    for dim in range(maxdim + 1):
        dg = np.asarray(res[dim], dtype=np.float64).reshape(-1, 2) if dim < len(res) else EMPTY.copy()
        finite = np.isfinite(dg)
        dg = np.where(finite, _snap(np.where(finite, dg, 0.0), exact), dg)
        out.append(_gudhi_order(dg[dg[:, 1] > dg[:, 0]]))
    return out


def rips_h1(points: np.ndarray) -> np.ndarray:
    """``rips_diagrams(points)[1]``, the same array, with less work: ripser
    stops at the enclosing radius (past it the Rips complex is a cone, every
    H1 class is dead, the same pairs come out) and only H1 is snapped."""
    P = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(P) < 3 or _ripser_dense is None:
        return rips_diagrams(P, 1)[1]
    d = pdist(P)
    d32 = d.astype(np.float32)
    # enclosing radius in the float32 metric ripser sees: min over points of the farthest
    radius = float(squareform(d32).max(axis=1).min())
    res = _ripser_dense(d32, 1, radius, _FIELD, 0)["births_and_deaths_by_dim"]
    dg = np.asarray(res[1], dtype=np.float64).reshape(-1, 2) if len(res) > 1 else EMPTY.copy()
    if not len(dg):
        return EMPTY.copy()
    if not np.isfinite(dg).all():  # cannot happen below the enclosing radius: the reference path
        return rips_diagrams(P, 1)[1]
    dg = _snap(dg, np.unique(np.concatenate([[0.0], d])))
    return _gudhi_order(dg[dg[:, 1] > dg[:, 0]])


def h1_diagrams(point_sets, complex: str = "rips") -> list[np.ndarray]:
    """H1 diagram of each point cloud (``diagrams(p, complex)[1]`` each)."""
    if complex == "rips":
        return [rips_h1(p) for p in point_sets]
    return [diagrams(p, complex, maxdim=1)[1] for p in point_sets]


def _gudhi_order(dg: np.ndarray) -> np.ndarray:
    """Points in the order gudhi's ``persistence()`` lists them: by decreasing
    length (essential classes first), equal lengths by (birth, death).

    The order matters downstream: the barycenter's transport solver breaks
    ties by it, so the published numbers depend on it.
    """
    length = dg[:, 1] - dg[:, 0]
    return dg[np.lexsort((dg[:, 1], dg[:, 0], -length))]


def alpha_diagrams(points: np.ndarray, maxdim: int = 1) -> list[np.ndarray]:
    """Alpha-complex persistence diagrams ``[H0, ..., H_maxdim]`` (gudhi).

    Filtration values are gudhi's: *squared* circumradii.
    """
    import gudhi

    P = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(P) == 0:
        return [EMPTY.copy() for _ in range(maxdim + 1)]
    st = gudhi.AlphaComplex(points=P).create_simplex_tree()
    st.compute_persistence()
    out = []
    for dim in range(maxdim + 1):
        dg = np.asarray(st.persistence_intervals_in_dimension(dim), dtype=np.float64).reshape(-1, 2)
        out.append(_gudhi_order(dg[dg[:, 1] > dg[:, 0]]))
    return out


def diagrams(points: np.ndarray, complex: str = "rips", maxdim: int = 1) -> list[np.ndarray]:
    """Persistence diagrams of one point cloud under ``complex`` (``rips`` | ``alpha``)."""
    if complex == "rips":
        return rips_diagrams(points, maxdim)
    if complex == "alpha":
        return alpha_diagrams(points, maxdim)
    raise ValueError(f"unknown complex {complex!r}; choose 'rips' or 'alpha'")

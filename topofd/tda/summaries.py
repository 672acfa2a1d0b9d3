"""TopoFD: Fréchet distance between landscape distributions of persistence
diagrams (TopoCellGen, CVPR 2025, Sec. 3.4, Eqs. 11–12; Suppl. Sec. 11).

For one cell class, each set of layouts gives H1 diagrams D_1..D_n.  The
landscape map λ sends a diagram to a vector; the set is summarised by a
Gaussian N(μ, Σ) with

* ``paper`` protocol (the published computation): μ = λ(barycenter of the
  D_i) with the barycenter of :func:`topofd.tda.barycenter.lagrangian_barycenter`
  started at D_1, λ sampled on each diagram's own range
  (:func:`topofd.tda.landscapes.landscapes_own_range`, 1 layer, 100 bins);
  Σ = ``np.cov`` of the λ(D_i);
* ``grid`` protocol: every landscape of both sets on one shared sampling,
  μ = mean landscape, Σ = their covariance (coordinates comparable across
  diagrams; no barycenter, linear cost).

TopoFD = Fréchet distance (Eq. 12) between the real and synthetic Gaussians.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from topofd.tda.barycenter import lagrangian_barycenter
from topofd.tda.frechet import frechet_distance
from topofd.tda.landscapes import landscapes_on, landscapes_own_range

__all__ = ["PROTOCOLS", "LandscapeStats", "landscape_stats", "barycenter_note", "topofd_from_stats", "gaussian"]

PROTOCOLS = ("paper", "grid")


@dataclass
class LandscapeStats:
    """Gaussian summary of one set's landscapes (what TopoFD compares)."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int
    barycenter: np.ndarray | None = None
    mu_x: np.ndarray | None = None  # sample positions of mu (for plots)
    # Set when the barycenter iteration stopped without its fixed point (a
    # cycle, or the iteration cap): the caller turns it into a report note.
    note: str | None = None


def barycenter_note(log: dict) -> str | None:
    """A sentence for the report when the barycenter's log (see
    :func:`topofd.tda.barycenter.lagrangian_barycenter`) shows no fixed point."""
    if log.get("stopped") == "cycle" and log["cycle_length"] == 1:
        # the state maps to itself, yet each update adds points that vanish
        # again, so gudhi's rule ("no point added") never holds
        return (
            f"barycenter did not converge: from iteration {log['cycle_start']} every update adds points "
            f"that vanish again (a cycle of period 1, not a fixed point under gudhi's rule); that state was used"
        )
    if log.get("stopped") == "cycle":
        return (
            f"barycenter did not converge: the iteration cycles with period {log['cycle_length']} "
            f"from iteration {log['cycle_start']}; the lowest-cost state of the cycle was used"
        )
    if log.get("stopped") == "max_iter":
        return (
            f"barycenter did not converge: no fixed point or cycle within {log['nb_iter']} "
            f"iterations; the last iterate was used"
        )
    return None


def gaussian(L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and ``np.cov`` covariance of the rows of ``L`` (Eq. 11's Gaussian)."""
    return L.mean(axis=0), np.atleast_2d(np.cov(L, rowvar=False))


def _cov(L: np.ndarray, what: str) -> np.ndarray:
    if len(L) < 2:
        raise ValueError(f"{what}: TopoFD needs at least 2 layouts per set (covariance undefined for {len(L)})")
    return np.atleast_2d(np.cov(L, rowvar=False))


def landscape_stats(
    diagrams: Sequence[np.ndarray],
    protocol: str = "paper",
    *,
    sampling: np.ndarray | None = None,
    n_bins: int = 100,
    n_layers: int = 1,
    what: str = "set",
    n_threads: int = 1,
    barycenter: tuple | None = None,
) -> LandscapeStats:
    """(μ, Σ) of one set of H1 diagrams under ``protocol``.

    ``grid`` needs the shared ``sampling`` (see :func:`shared_sampling`).
    ``paper``: ``barycenter``, the ``(Y, log)`` of
    ``lagrangian_barycenter(diagrams, 0, return_log=True)`` when it was
    computed elsewhere (another process).
    """
    if protocol == "paper":
        L, _ = landscapes_own_range(diagrams, n_bins, n_layers)
        if barycenter is None:
            barycenter = lagrangian_barycenter(diagrams, init=0, n_threads=n_threads, return_log=True)
        Y, log = barycenter
        Y = np.zeros((0, 2)) if Y is None else Y
        mu_row, t = landscapes_own_range([Y], n_bins, n_layers)
        return LandscapeStats(mu_row[0], _cov(L, what), len(L), Y, np.tile(t[0], n_layers), barycenter_note(log))
    if protocol == "grid":
        if sampling is None:
            raise ValueError("the grid protocol needs a shared sampling")
        L = landscapes_on(diagrams, sampling, n_layers)
        if len(L) == 0:
            raise ValueError(f"{what}: no layouts")
        return LandscapeStats(L.mean(axis=0), _cov(L, what), len(L), None, np.tile(sampling, n_layers))
    raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")


def topofd_from_stats(real: LandscapeStats, synth: LandscapeStats, fd_method: str = "sqrtm") -> float:
    """Eq. 12 between the two Gaussians."""
    return frechet_distance(real.mu, real.sigma, synth.mu, synth.sigma, method=fd_method)

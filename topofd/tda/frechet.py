"""Fréchet distance between two Gaussians (Dowson & Landau 1982).

d² = |μ1 − μ2|² + tr(Σ1) + tr(Σ2) − 2 tr((Σ1 Σ2)^{1/2}) — TopoCellGen Eq. 12,
the formula FID uses (Heusel et al. 2017).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

__all__ = ["frechet_distance", "trace_sqrt_product", "FrechetTo"]


def _psd_root(S: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh((S + S.T) / 2)
    return (V * np.sqrt(np.clip(w, 0, None))) @ V.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray, method: str = "sqrtm") -> float:
    """tr((Σ1 Σ2)^{1/2}).

    ``sqrtm``: the pytorch-fid computation — ``scipy.linalg.sqrtm(Σ1 Σ2)``;
    if the result is not finite, again with 1e-6 added to both diagonals; the
    real part of the trace.  ``eig``: Σ1 Σ2 has the spectrum of A Aᵀ with
    A = Σ1^{1/2} Σ2^{1/2} (symmetric PSD roots by eigen-decomposition), so the
    trace is the sum of A's singular values — no complex arithmetic, and no
    squaring that would let rounding on near-zero eigenvalues grow into the
    square roots.
    """
    if method == "eig":
        return float(np.linalg.svd(_psd_root(sigma1) @ _psd_root(sigma2), compute_uv=False).sum())
    if method != "sqrtm":
        raise ValueError(f"unknown method {method!r}; choose 'sqrtm' or 'eig'")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on near-singular products; handled below
        covmean = linalg.sqrtm(sigma1.dot(sigma2))
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * 1e-6
            covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    return float(np.real(np.trace(covmean)))


def frechet_distance(mu1, sigma1, mu2, sigma2, method: str = "sqrtm") -> float:
    """Fréchet distance between N(μ1, Σ1) and N(μ2, Σ2) (TopoCellGen Eq. 12).

    ``method="sqrtm"`` (default) is pytorch-fid's computation step for step:
    it reproduces published TopoFD values (to ~1e-8 relative across LAPACK
    builds).  Its error is absolute, of order 1e-7 x (tr Σ1 + tr Σ2) on the
    rank-deficient covariances that landscapes give, so FD(X, X) can come out
    as -2e-5 rather than 0.  ``method="eig"`` computes the trace term from
    singular values (see :func:`trace_sqrt_product`): non-negative and exact to
    rounding, but it differs from published numbers by up to ~1e-6 relative.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, float)), np.atleast_1d(np.asarray(mu2, float))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, float)), np.atleast_2d(np.asarray(sigma2, float))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shape mismatch: mu {mu1.shape} vs {mu2.shape}, sigma {s1.shape} vs {s2.shape}")
    for name, a in (("mu1", mu1), ("mu2", mu2), ("sigma1", s1), ("sigma2", s2)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} has NaN or infinite entries")
    if np.array_equal(mu1, mu2) and np.array_equal(s1, s2):
        # the same Gaussian: 0 by definition, where the sqrtm route would
        # return its rounding residue (~1e-7 x trace, of either sign)
        return 0.0
    diff = mu1 - mu2
    tr = trace_sqrt_product(s1, s2, method)
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2.0 * tr)


class FrechetTo:
    """Fréchet distance from one fixed Gaussian N(μ, Σ) to many others (the
    replicates of a jackknife or of nested subsets, real side fixed).

    Σ^½ is computed once; for each other Σ', tr((Σ Σ')^½) is the sum of the
    square roots of the eigenvalues of the symmetric PSD matrix Σ^½ Σ' Σ^½
    (same spectrum as Σ Σ'), which costs one symmetric eigensolve instead of
    a general matrix square root.  Equal to ``frechet_distance(...,
    method="eig")`` to rounding; used where many values are compared with each
    other, never for the reported point value of the ``paper`` protocol.
    """

    def __init__(self, mu, sigma):
        self.mu = np.atleast_1d(np.asarray(mu, float))
        self.sigma = np.atleast_2d(np.asarray(sigma, float))
        self._root = _psd_root(self.sigma)
        self._tr = float(np.trace(self.sigma))

    def __call__(self, mu, sigma) -> float:
        mu, sigma = np.atleast_1d(np.asarray(mu, float)), np.atleast_2d(np.asarray(sigma, float))
        M = self._root @ sigma @ self._root
        w = np.linalg.eigvalsh((M + M.T) / 2)
        d = self.mu - mu
        return float(d.dot(d) + self._tr + np.trace(sigma) - 2.0 * np.sqrt(np.clip(w, 0, None)).sum())

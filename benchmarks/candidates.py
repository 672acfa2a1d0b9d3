"""Candidate protocols for a recommended TopoFD-like score (issue: a protocol
chosen by evidence).  Each candidate maps one class's real and synthetic H1
diagrams to a number; ``benchmarks/validity.py`` scores every candidate on
the same stored synthetic sets and tabulates monotonicity, resolution and
sample-size bias.

* ``grid``      TopoFD, one landscape sampling shared by both sets, 100 bins
                (topofd's ``grid`` protocol);
* ``grid20``    the same with 20 bins;
* ``grid_inf``  ``grid`` extrapolated to infinitely many layouts
                (:mod:`topofd.stats.extrapolate`; paired sets subsampled by pairs);
* ``pca10``     FD of the ``grid`` landscapes projected on the real set's top
                10 principal components;
* ``gridq``     FD of landscapes sampled on [0, 99th percentile of the real
                deaths] (fixed by the real set alone: a range that converges
                with the number of windows), 100 bins; ``gridq20``: 20 bins;
                ``gridq20_inf``: ``gridq20`` extrapolated;
* ``kid_land``  unbiased MMD² with the cubic polynomial kernel
                k(x, y) = (xᵀy / d + 1)³ (the KID kernel, Bińkowski et al.
                2018) on landscapes sampled on [0, 99th percentile of the real
                deaths] (100 bins: a range that converges with the number of
                windows, where a maximum keeps growing), scaled by the real
                set's RMS landscape value;
* ``rbf_land``  unbiased MMD² with a Gaussian kernel on the same vectors,
                bandwidth² = 2 tr Σ_real (the mean squared distance between
                two real landscapes);
* ``rbf_sqrtland`` the same on √λ (compresses the heavy tail of a few tall
                tents);
* ``kid_pi``    KID on persistence images (Adams et al. 2017: birth ×
                persistence, 20 × 20 pixels on the real set's 99th-percentile range,
                Gaussian σ = one pixel, linear persistence weight).

All MMD-type candidates leave each synthetic layout's own real counterpart
out of the cross term when the sets are paired (:mod:`topofd.metrics.diagram_mmd`).
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from topofd.metrics.diagram_mmd import mmd2, pair_mask
from topofd.stats.extrapolate import FRACTIONS, extrapolated
from topofd.tda.frechet import FrechetTo, frechet_distance
from topofd.tda.landscapes import landscapes_on, shared_sampling

CANDIDATES = ("grid", "grid20", "grid_inf", "pca10", "gridq", "gridq20", "gridq20_inf", "kid_land", "rbf_land",
              "rbf_sqrtland", "kid_pi")
# scores derived from stored per-class values: the signed square root (a
# distance instead of a squared one), averaged over classes
DERIVED = {"sqrt_rbf_land": "rbf_land", "sqrt_rbf_sqrtland": "rbf_sqrtland", "sqrt_gridq20": "gridq20",
           "sqrt_grid": "grid", "sqrt_kid_pi": "kid_pi"}


def _gauss(L):
    return L.mean(axis=0), np.atleast_2d(np.cov(L, rowvar=False))


def _grid_L(dr, ds, n_bins):
    t = shared_sampling([*dr, *ds], n_bins)
    return landscapes_on(dr, t), landscapes_on(ds, t)


def _real_top(dr, col=1, q=0.99):
    """A range end that converges as the set grows: the 99th percentile of
    the real deaths (a maximum keeps growing with the number of windows)."""
    vals = np.concatenate([d[:, col] if col < 2 else d[:, 1] - d[:, 0] for d in dr if len(d)] or [np.ones(1)])
    return float(np.quantile(vals, q)) or 1.0


def _real_range_L(dr, ds, n_bins=100):
    t = np.linspace(0.0, _real_top(dr), n_bins)
    return landscapes_on(dr, t), landscapes_on(ds, t)


def persistence_images(dgms, b_max, p_max, n=20):
    """``(len(dgms), n*n)`` persistence images (vectorised; see module docstring)."""
    be = np.linspace(0, b_max, n + 1)
    pe = np.linspace(0, p_max, n + 1)
    sb, sp = b_max / n, p_max / n
    out = np.zeros((len(dgms), n * n))
    for i, d in enumerate(dgms):
        if not len(d):
            continue
        b, p = d[:, 0], d[:, 1] - d[:, 0]
        w = p / p_max
        fb = np.diff(ndtr((be[None, :] - b[:, None]) / sb), axis=1)  # (k, n)
        fp = np.diff(ndtr((pe[None, :] - p[:, None]) / sp), axis=1)
        out[i] = np.einsum("k,ki,kj->ij", w, fb, fp).ravel()
    return out


def _mmd_vectors(Xr, Xs, kernel, pairs):
    Z = np.vstack([Xr, Xs])
    if kernel == "poly":
        d = Z.shape[1]
        K = (Z @ Z.T / d + 1.0) ** 3
    else:
        h2 = 2.0 * np.trace(np.atleast_2d(np.cov(Xr, rowvar=False)))
        sq = (Z**2).sum(1)
        D = np.maximum(sq[:, None] + sq[None, :] - 2 * Z @ Z.T, 0)
        K = np.exp(-D / (2 * h2)) if h2 > 0 else np.ones_like(D)
    return mmd2(K, len(Xr), cross=pair_mask(len(Xr), len(Xs), pairs))


def _scaled(Lr, Ls):
    s = np.sqrt(np.mean(Lr**2))
    return (Lr / s, Ls / s) if s > 0 else (Lr, Ls)


def score(name: str, dr, ds, pairs=None, seed: int = 0) -> float:
    """Candidate ``name`` for one class (real diagrams ``dr``, synthetic ``ds``)."""
    if name in ("grid", "grid20"):
        Lr, Ls = _grid_L(dr, ds, 100 if name == "grid" else 20)
        return frechet_distance(*_gauss(Lr), *_gauss(Ls))
    if name == "grid_inf":
        Lr, Ls = _grid_L(dr, ds, 100)

        def fd(ir, js):
            return FrechetTo(*_gauss(Lr[ir]))(*_gauss(Ls[js]))

        one_to_one = pairs if pairs and len(pairs) == len(Lr) == len(Ls) else None
        return extrapolated(fd, len(Lr), len(Ls), FRACTIONS, seed=seed, pairs=one_to_one)[0]
    if name in ("gridq", "gridq20", "gridq20_inf"):
        Lr, Ls = _real_range_L(dr, ds, 100 if name == "gridq" else 20)
        if name != "gridq20_inf":
            return frechet_distance(*_gauss(Lr), *_gauss(Ls))
        one_to_one = pairs if pairs and len(pairs) == len(Lr) == len(Ls) else None
        return extrapolated(lambda ir, js: FrechetTo(*_gauss(Lr[ir]))(*_gauss(Ls[js])), len(Lr), len(Ls),
                            FRACTIONS, seed=seed, pairs=one_to_one)[0]
    if name == "pca10":
        Lr, Ls = _grid_L(dr, ds, 100)
        mu = Lr.mean(axis=0)
        _, _, Vt = np.linalg.svd(Lr - mu, full_matrices=False)
        P = Vt[:10].T
        return frechet_distance(*_gauss((Lr - mu) @ P), *_gauss((Ls - mu) @ P))
    if name in ("kid_land", "rbf_land"):
        Lr, Ls = _scaled(*_real_range_L(dr, ds))
        return _mmd_vectors(Lr, Ls, "poly" if name == "kid_land" else "rbf", pairs)
    if name == "rbf_sqrtland":
        Lr, Ls = _real_range_L(dr, ds)
        return _mmd_vectors(np.sqrt(Lr), np.sqrt(Ls), "rbf", pairs)
    if name == "kid_pi":
        b_max, p_max = _real_top(dr, 0), _real_top(dr, 2)
        Ir, Is = _scaled(persistence_images(dr, b_max, p_max), persistence_images(ds, b_max, p_max))
        return _mmd_vectors(Ir, Is, "poly", pairs)
    raise ValueError(f"unknown candidate {name!r}")


def signed_sqrt(x: float) -> float:
    return float(np.sign(x) * np.sqrt(abs(x)))


def derived(row: dict) -> dict:
    """Derived scores of one stored set's row (``{score: {class: value}}``)."""
    out = {}
    for name, base in DERIVED.items():
        if base in row:
            per = [signed_sqrt(row[base][c]) for c in ("lym", "epi", "stro") if c in row[base]]
            out[name] = {"mean": float(np.mean(per))}
    return out

"""The transport problem of ``gudhi.wasserstein.wasserstein_distance`` (W2,
Euclidean ground metric, with matching) as the published barycenter poses
it, solved so that ties go where POT's ``ot.emd`` sends them: the compiled
replay of POT's network simplex (:mod:`topofd.tda._simplex`) when it is
built, POT itself through gudhi otherwise.  :mod:`topofd.tda.barycenter`
uses it for the diagrams whose optimal matching is not unique.
"""

from __future__ import annotations

import numpy as np

__all__ = ["REPLAY_BUILT", "import_pot", "cost_matrix", "gudhi_matching"]


def import_pot():
    """Import POT (behind gudhi.wasserstein) without its framework backends:
    by default POT imports torch, jax, cupy and tensorflow when installed,
    which costs seconds and would make topofd import torch."""
    import os
    import sys

    if "ot" in sys.modules:
        return
    keys = [f"POT_BACKEND_DISABLE_{k}" for k in ("PYTORCH", "JAX", "CUPY", "TENSORFLOW")]
    saved = {k: os.environ.get(k) for k in keys}
    for k in keys:
        os.environ[k] = "1"
    try:
        import ot  # noqa: F401
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


try:  # compiled replay of POT's solver (topofd/tda/_simplex.pyx); optional at build time
    from topofd.tda._simplex import emd_pairs as _emd_pairs
except ImportError:  # pragma: no cover - only when the extension could not be built
    _emd_pairs = None

REPLAY_BUILT = _emd_pairs is not None
"""Whether the compiled replay is available (else POT solves the ties)."""


def cost_matrix(Y, D):
    """gudhi's ``_build_dist_matrix(Y, D, order=2, internal_p=2)``, the same
    numpy/scipy operations so the same bits: squared distances between the
    points, then each point's squared distance to the diagonal (last column
    for Y, last row for D, 0 in the corner)."""
    from scipy.spatial.distance import cdist

    half = 2 ** (1.0 / 2.0 - 1)
    M = np.empty((len(Y) + 1, len(D) + 1))
    M[:-1, :-1] = cdist(Y, D, metric="minkowski", p=2.0) ** 2.0
    M[:-1, -1] = ((Y[:, 1] - Y[:, 0]) * half) ** 2.0
    M[-1, :-1] = ((D[:, 1] - D[:, 0]) * half) ** 2.0
    M[-1, -1] = 0.0
    return M


def gudhi_matching(Y, D):
    """(x, y) pairs of ``gudhi.wasserstein.wasserstein_distance``'s W2 matching.

    The transport problem gudhi hands to ``ot.emd`` is solved by
    :func:`topofd.tda._simplex.emd_pairs`, which replays POT's network simplex
    pivot for pivot (same optimal vertex, in less time); POT
    itself through gudhi when the extension is not built.
    """
    if _emd_pairs is not None and len(Y) and len(D):
        a = np.ones(len(Y) + 1)
        a[-1] = len(D)
        b = np.ones(len(D) + 1)
        b[-1] = len(Y)
        rows, cols, status = _emd_pairs(cost_matrix(Y, D), a, b, 2000000)
        if status == 1:
            keep = (rows < len(Y)) & (cols < len(D))
            return cols[keep], rows[keep]
    import_pot()
    from gudhi.wasserstein import wasserstein_distance

    _, match = wasserstein_distance(Y, D, matching=True, order=2.0, internal_p=2.0)
    match = np.asarray(match, dtype=np.int64).reshape(-1, 2)
    match = match[(match[:, 0] >= 0) & (match[:, 1] >= 0)]
    return match[:, 1], match[:, 0]

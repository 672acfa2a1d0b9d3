"""Cell count errors between paired layouts (TopoCellGen Suppl. Sec. 11).

For N pairs (real_i, synthetic_i) with per-class counts n_ic and n̂_ic
(connected components per channel, i.e. the cells a reader finds):

* CCE_c = (1/N) Σ_i |n̂_ic − n_ic|   — per-class cell count error;
* TCE   = (1/N) Σ_i |Σ_c n̂_ic − Σ_c n_ic| — total count error.
"""
from __future__ import annotations

import numpy as np

__all__ = ["count_errors"]


def count_errors(counts_real: np.ndarray, counts_synth: np.ndarray) -> tuple[np.ndarray, float]:
    """``(CCE per class, TCE)`` from paired ``(N, C)`` count arrays."""
    r = np.asarray(counts_real, dtype=np.float64)
    s = np.asarray(counts_synth, dtype=np.float64)
    if r.shape != s.shape or r.ndim != 2:
        raise ValueError(f"paired count arrays must have the same (N, C) shape, got {r.shape} and {s.shape}")
    if len(r) == 0:
        raise ValueError("count errors need at least one real/synthetic pair")
    cce = np.abs(s - r).mean(axis=0)
    tce = float(np.abs(s.sum(axis=1) - r.sum(axis=1)).mean())
    return cce, tce

"""Content keys: what identifies a layout's diagrams and a set's statistics
in the cache, the reference files and the bundled reference sets."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["CACHE_VERSION", "digest", "layout_key", "diagrams_key", "stats_key"]

CACHE_VERSION = 2  # 2: diagrams in gudhi persistence() order


def digest(*parts: Any) -> str:
    """sha256 of the parts (bytes as they are, anything else by ``repr``)."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, (bytes, bytearray, memoryview)):
            h.update(bytes(p))
        else:
            h.update(repr(p).encode())
        h.update(b"\x00")
    return h.hexdigest()


def layout_key(layout: Any, complex: str = "rips") -> str:
    """Content key of a layout's diagrams: its per-class coordinates (a
    :class:`~topofd.Layout` or its ``points``) and the complex."""
    points = getattr(layout, "points", layout)
    return digest("dgm", CACHE_VERSION, complex, *[p.tobytes() for p in points], tuple(len(p) for p in points))


def diagrams_key(diagrams: Sequence[np.ndarray]) -> str:
    """Key of a layout known only by its diagrams (``Evaluator.update_diagrams``)."""
    return digest("dgm-only", CACHE_VERSION, *[d.tobytes() for d in diagrams], tuple(map(len, diagrams)))


def stats_key(layout_keys: Sequence[str], protocol: str, k: int, n_bins: int, n_layers: int) -> str:
    """Cache key of one class's real-side landscape statistics: the ordered
    layout keys (the barycenter starts from the first diagram) and options."""
    return digest("stats", CACHE_VERSION, protocol, k, n_bins, n_layers, *layout_keys)

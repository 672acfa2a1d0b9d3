"""Arrays on disk without pickle: diagram sets and statistics as ``.npz``
files with a JSON header.

Reference files and cache entries are shared between people, so reading one
must never run code: everything is a plain numeric or string array, read
with ``allow_pickle=False``, plus one JSON document (``__meta__``).
Diagram sets (ragged: a diagram per layout and class) are stored flat — all
points in one ``(P, 2)`` array and the length of each ``[layout][class]``
diagram.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from topofd.storage.atomic import atomic_write

__all__ = ["pack_diagrams", "unpack_diagrams", "save_npz", "load_npz"]


def pack_diagrams(diagrams: Sequence[Sequence[np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """``[layout][class]`` diagrams → ``(points (P, 2), sizes (n, C))``: all
    points in layout-major, class-minor order and each diagram's length."""
    sizes = np.array([[len(d) for d in row] for row in diagrams], dtype=np.int64)
    sizes = sizes.reshape(len(diagrams), len(diagrams[0]) if len(diagrams) else 0)
    flat = [np.asarray(d, np.float64).reshape(-1, 2) for row in diagrams for d in row]
    points = np.concatenate(flat) if flat else np.zeros((0, 2))
    return points, sizes


def unpack_diagrams(points: np.ndarray, sizes: np.ndarray) -> list[list[np.ndarray]]:
    """Inverse of :func:`pack_diagrams`; every diagram is its own copy."""
    points = np.asarray(points, np.float64).reshape(-1, 2)
    sizes = np.asarray(sizes, np.int64)
    if sizes.ndim != 2 or (sizes < 0).any() or sizes.sum() != len(points):
        raise ValueError("diagram sizes do not match the stored points")
    ends = np.cumsum(sizes.ravel())
    parts = np.split(points, ends[:-1]) if sizes.size else []
    C = sizes.shape[1]
    return [[parts[i * C + k].copy() for k in range(C)] for i in range(sizes.shape[0])]


def save_npz(path, arrays: dict[str, np.ndarray], meta: dict | None = None, *, fsync: bool = True) -> None:
    """Write ``arrays`` (+ ``meta`` as JSON) to ``path`` with
    :func:`topofd.storage.atomic.atomic_write` (``fsync`` passed on)."""
    # Any: numpy's stub types savez's **kwds like its allow_pickle: bool keyword
    payload: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in payload.items():
        if v.dtype == object:
            raise ValueError(f"{k}: object arrays cannot be stored without pickle")
    payload["__meta__"] = np.array(json.dumps(meta or {}, sort_keys=True))
    atomic_write(path, lambda fh: np.savez_compressed(fh, **payload), fsync=fsync)


def load_npz(path) -> tuple[dict[str, np.ndarray], dict]:
    """``(arrays, meta)`` of a file written by :func:`save_npz`; never
    unpickles.  Raises ``ValueError`` naming the file when it is not one."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise ValueError(f"{path}: not a readable topofd array file ({e.__class__.__name__})") from None
    raw = arrays.pop("__meta__", None)
    if raw is None:
        raise ValueError(f"{path}: not a topofd array file (no metadata)")
    try:
        meta = json.loads(str(raw))
    except json.JSONDecodeError:
        raise ValueError(f"{path}: corrupt metadata") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: corrupt metadata")
    return arrays, meta

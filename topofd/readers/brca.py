"""BRCA-M2C dot annotations: ``Y X CLASS`` per line, classes 1-based."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..layout import Layout
from ..patches import ImagePoints

SUFFIX = "_gt_class_coords"
CLASSES = ("lym", "epi", "stro")


def read_points(path: str | Path, n_classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``(coords (n, 2) as (row, col), 0-based labels)``; raises ``ValueError``
    naming the file on malformed content."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read ({e.__class__.__name__})") from None
    rows = [l.split() for l in text.splitlines() if l.strip()]
    if not rows:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    try:
        arr = np.array(rows, dtype=np.float64)
    except ValueError:
        raise ValueError(f"{path}: expected 'Y X CLASS' numbers on every line") from None
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{path}: expected 3 columns 'Y X CLASS'")
    if not np.isfinite(arr).all():
        raise ValueError(f"{path}: NaN or infinite values")
    labels = arr[:, 2].astype(np.int64) - 1
    if (labels < 0).any() or (labels >= n_classes).any() or (arr[:, 2] != labels + 1).any():
        raise ValueError(f"{path}: CLASS must be an integer in 1..{n_classes}")
    return arr[:, :2], labels


def read_image(path: str | Path, shape: tuple[int, int], n_classes: int = 3) -> ImagePoints:
    path = Path(path)
    stem = path.stem[: -len(SUFFIX)] if path.stem.endswith(SUFFIX) else path.stem
    coords, labels = read_points(path, n_classes)
    return ImagePoints(stem, coords, labels, shape)


def read_layout(path: str | Path, classes=CLASSES, shape=None) -> Layout:
    coords, labels = read_points(path, len(classes))
    p = Path(path)
    return Layout.from_labelled_points(coords, labels, classes, shape=shape, name=p.stem, source=str(p))

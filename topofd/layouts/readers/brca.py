"""BRCA-M2C dot annotations: ``Y X CLASS`` per line, classes 1-based.

Duplicate cells: an exact duplicate (same x, y and class) is one cell listed
twice and is kept once, as in every point format (csv/tsv, BRCA ``.txt``,
GeoJSON, ``.mat``; :meth:`Layout.from_labelled_points`); the layout's
``duplicates`` counts the rows dropped and the report names the file.

Published with "Multi-Class Cell Detection Using Spatial Context
Representation" (Abousamra et al., ICCV 2021); the TopoCellGen paper
evaluates on this dataset.  Files are ``<image-stem>_gt_class_coords.txt``.

A ``.txt`` file is a label file when its name ends in ``_gt_class_coords.txt``
(then an empty file is a layout without cells) or when its first non-blank
line is three numbers; any other ``.txt`` (a ``README.txt``, an empty
``notes.txt``) raises :class:`~topofd.layouts.readers.NotLayoutFile`, which the
folder reader skips.  Coordinates must not be negative, nor beyond the
canvas when its ``shape`` is given.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from topofd.layouts.layout import Layout
from topofd.layouts.patches import ImagePoints
from topofd.layouts.readers import NotLayoutFile

SUFFIX = "_gt_class_coords"
SUFFIXES = (".txt",)
CLASSES = ("lym", "epi", "stro")


def read_points(path: str | Path, n_classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``(coords (n, 2) as (row, col), 0-based labels)``; raises ``ValueError``
    naming the file on malformed content."""
    path = Path(path)
    named = path.stem.endswith(SUFFIX)
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        if not named:
            raise NotLayoutFile(f"{path}: not a text file") from None
        raise ValueError(f"{path}: cannot read (not UTF-8 text)") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.__class__.__name__})") from None
    rows = [l.split() for l in text.splitlines() if l.strip()]
    if not named and not (rows and _numbers(rows[0], 3)):
        what = "not 'Y X CLASS' lines" if rows else "empty file"
        raise NotLayoutFile(f"{path}: {what} (and not named *{SUFFIX}.txt)")
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
    cls = arr[:, 2]
    # checked as floats: a huge value would not survive the cast to int64
    if (cls < 1).any() or (cls > n_classes).any() or (cls != np.round(cls)).any():
        raise ValueError(f"{path}: CLASS must be an integer in 1..{n_classes}")
    return arr[:, :2], cls.astype(np.int64) - 1


def _numbers(fields, n: int) -> bool:
    if len(fields) != n:
        return False
    try:
        [float(f) for f in fields]
    except ValueError:
        return False
    return True


def image_stem(path: str | Path) -> str:
    """The image a label file annotates: its stem without ``_gt_class_coords``."""
    stem = Path(path).stem
    return stem[: -len(SUFFIX)] if stem.endswith(SUFFIX) else stem


def read_image(path: str | Path, shape: tuple[int, int], n_classes: int = 3) -> ImagePoints:
    path = Path(path)
    coords, labels = read_points(path, n_classes)
    return ImagePoints(image_stem(path), coords, labels, shape)


def read_layout(path: str | Path, classes=CLASSES, shape=None) -> Layout:
    coords, labels = read_points(path, len(classes))
    p = Path(path)
    return Layout.from_labelled_points(coords, labels, classes, shape=shape, name=p.stem, source=str(p))


def read(path: str | Path, classes=None, *, shape: tuple[int, int] | None = None) -> Layout:
    """Reader entry point (``topofd.layouts.sets.READERS["txt"]``).

    ``classes`` defaults to BRCA-M2C's ``lym, epi, stro``; more or fewer names
    change how many 1-based CLASS values are accepted.  The layout is named
    after the image (``_gt_class_coords`` dropped) so that synthetic files
    ``<image-stem>..._gen`` pair with it; the canvas shape is unknown unless
    given (``shape=(H, W)``).
    """
    classes = tuple(classes) if classes is not None else CLASSES
    coords, labels = read_points(path, len(classes))
    p = Path(path)
    return Layout.from_labelled_points(coords, labels, classes, shape=shape, name=image_stem(p), source=str(p))

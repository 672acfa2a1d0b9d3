"""Lizard and CoNSeP labels in MATLAB ``.mat`` files (``scipy.io.loadmat``).

Duplicate cells: an exact duplicate (same x, y and class) is one cell listed
twice and is kept once, as in every point format (csv/tsv, BRCA ``.txt``,
GeoJSON, ``.mat``; :meth:`Layout.from_labelled_points`); the layout's
``duplicates`` counts the rows dropped and the report names the file.

Centres: ``inst_centroid`` (CoNSeP, HoVer-Net style) or ``centroid``
(Lizard), ``(n, 2)`` as ``(x, y)`` → stored as ``(row, col) = (y, x)``.
Classes, 1-based, one per instance: ``class`` (Lizard: neutrophil,
epithelial, lymphocyte, plasma, eosinophil, connective) or ``inst_type``
(CoNSeP: other, inflammatory, healthy epithelial, dysplastic/malignant
epithelial, fibroblast, muscle, endothelial).  Without ``classes`` those
dataset names are used; with ``classes``, values must lie in
``1..len(classes)``.  Every class of the list is a class of the layout,
also one without any instance in the file (Lizard images often lack
neutrophils or eosinophils): it is an empty class, not a missing one.  The
canvas shape comes from ``inst_map`` when present; centroids off it, or
negative, are an error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from topofd.layouts.layout import Layout

SUFFIXES = (".mat",)
LIZARD_CLASSES = ("neutrophil", "epithelial", "lymphocyte", "plasma", "eosinophil", "connective")
CONSEP_CLASSES = (
    "other",
    "inflammatory",
    "healthy_epithelial",
    "malignant_epithelial",
    "fibroblast",
    "muscle",
    "endothelial",
)


def _numeric(m, key: str, path: Path) -> np.ndarray:
    a = np.asarray(m[key])
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{path}: {key!r} must be a numeric array, found {a.dtype.kind!r} data ({a.dtype})")
    return a


def read(path: str | Path, classes=None) -> Layout:
    from scipy.io import loadmat

    path = Path(path)
    try:
        m = loadmat(path)
    except NotImplementedError:
        raise ValueError(f"{path}: MATLAB v7.3 (HDF5) files are not supported; save with -v7") from None
    except Exception as e:  # scipy raises a zoo of types on damaged files
        raise ValueError(f"{path}: corrupt or unreadable .mat file ({e.__class__.__name__})") from None
    key = "inst_centroid" if "inst_centroid" in m else "centroid" if "centroid" in m else None
    if key is None:
        raise ValueError(f"{path}: no 'inst_centroid' or 'centroid' array")
    for tkey, default in (("class", LIZARD_CLASSES), ("inst_type", CONSEP_CLASSES)):  # noqa: B007 (used after the loop)
        if tkey in m:
            break
    else:
        raise ValueError(f"{path}: no 'class' (Lizard) or 'inst_type' (CoNSeP) array")
    xy = _numeric(m, key, path).astype(np.float64)
    if xy.size == 0:
        xy = xy.reshape(0, 2)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"{path}: {key!r} must be (n, 2), got {xy.shape}")
    t = _numeric(m, tkey, path).reshape(-1)
    if len(t) != len(xy):
        raise ValueError(f"{path}: {len(xy)} centroids but {len(t)} {tkey!r} values")
    names = tuple(classes) if classes is not None else default
    if t.dtype.kind == "f" and not (np.all(np.isfinite(t)) and np.all(t == np.round(t))):
        raise ValueError(f"{path}: {tkey!r} values must be integers")
    # range first, then the cast: a huge value would not survive the cast to int64
    if len(t) and (t.min() < 1 or t.max() > len(names)):
        lo, hi = float(t.min()), float(t.max())
        raise ValueError(f"{path}: {tkey!r} values must lie in 1..{len(names)}, found {lo:g}..{hi:g}")
    t = t.astype(np.int64)
    shape = None
    if "inst_map" in m:
        inst = np.asarray(m["inst_map"])
        if inst.ndim < 2:
            raise ValueError(f"{path}: 'inst_map' must be an image, got shape {inst.shape}")
        shape = tuple(inst.shape[:2])
    return Layout.from_labelled_points(xy[:, ::-1], t - 1, names, shape=shape, name=path.stem, source=str(path))

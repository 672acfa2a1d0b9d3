"""Lizard and CoNSeP labels in MATLAB ``.mat`` files (``scipy.io.loadmat``).

Centres: ``inst_centroid`` (CoNSeP, HoVer-Net style) or ``centroid``
(Lizard), ``(n, 2)`` as ``(x, y)`` → stored as ``(row, col) = (y, x)``.
Classes, 1-based, one per instance: ``class`` (Lizard: neutrophil,
epithelial, lymphocyte, plasma, eosinophil, connective) or ``inst_type``
(CoNSeP: other, inflammatory, healthy epithelial, dysplastic/malignant
epithelial, fibroblast, muscle, endothelial).  Without ``classes`` those
dataset names are used; with ``classes``, values must lie in
``1..len(classes)``.  The canvas shape comes from ``inst_map`` when present.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..layout import Layout

SUFFIXES = (".mat",)
LIZARD_CLASSES = ("neutrophil", "epithelial", "lymphocyte", "plasma", "eosinophil", "connective")
CONSEP_CLASSES = ("other", "inflammatory", "healthy_epithelial", "malignant_epithelial", "fibroblast",
                  "muscle", "endothelial")


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
    for tkey, default in (("class", LIZARD_CLASSES), ("inst_type", CONSEP_CLASSES)):
        if tkey in m:
            break
    else:
        raise ValueError(f"{path}: no 'class' (Lizard) or 'inst_type' (CoNSeP) array")
    xy = np.asarray(m[key], dtype=np.float64)
    if xy.size == 0:
        xy = xy.reshape(0, 2)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"{path}: {key!r} must be (n, 2), got {xy.shape}")
    t = np.asarray(m[tkey]).reshape(-1)
    if len(t) != len(xy):
        raise ValueError(f"{path}: {len(xy)} centroids but {len(t)} {tkey!r} values")
    if t.dtype.kind == "f":
        if not np.all(np.isfinite(t)) or not np.all(t == np.round(t)):
            raise ValueError(f"{path}: {tkey!r} values must be integers")
    t = t.astype(np.int64)
    names = tuple(classes) if classes is not None else default
    if len(t) and (t.min() < 1 or t.max() > len(names)):
        raise ValueError(f"{path}: {tkey!r} values must lie in 1..{len(names)}, found {t.min()}..{t.max()}")
    shape = tuple(np.asarray(m["inst_map"]).shape[:2]) if "inst_map" in m else None
    return Layout.from_labelled_points(xy[:, ::-1], t - 1, names, shape=shape, name=path.stem, source=str(path))

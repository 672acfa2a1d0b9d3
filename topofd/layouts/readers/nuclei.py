"""Nuclei JSON as HoVer-Net and CellViT write it (``.json``): one centroid and
one type per detected nucleus.

* HoVer-Net (Graham et al. 2019, its ``json/<image>.json``):
  ``{"mag": ..., "nuc": {"<id>": {"centroid": [x, y], "type": t, "bbox":
  ..., "contour": ..., "type_prob": ...}, ...}}``;
* CellViT (Hörst et al. 2024, ``cells.json``): ``{"wsi_metadata": ...,
  "cells": [{"centroid": [x, y], "type": t, ...}, ...]}``, optionally with
  a ``"type_map"`` ``{"<t>": "name"}``.

Coordinates are ``(x, y)`` pixels (whole-slide level 0 for CellViT); a
:class:`Layout` stores ``(row, col) = (y, x)``.  Types are integers; type 0
is HoVer-Net's "no label" and CellViT's background class: those nuclei have
no cell class and are left out (a nucleus without a type at all — a model
run without a type head — is an error: the layout would have no classes).
The others follow the rules of point tables (:mod:`topofd.layouts.readers.points`):
with ``classes`` given, type ``t`` is ``classes[t - 1]``; without, the
file's ``type_map`` names them, else ``class<t>``.  The canvas is not
stored: pass ``shape``.

Any other JSON (GeoJSON is read by :mod:`topofd.layouts.readers.geojson`,
which the folder reader tries first; a ``report.json``) raises
:class:`~topofd.layouts.readers.NotLayoutFile`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from topofd.layouts.layout import Layout
from topofd.layouts.readers import NotLayoutFile, load_json
from topofd.layouts.readers.points import class_indices, class_origin

SUFFIXES = (".json",)
INFERS_CLASSES = True


def _entries(data, path: Path) -> tuple[list, dict | None]:
    if isinstance(data, dict) and isinstance(data.get("nuc"), dict):
        return list(data["nuc"].values()), None
    if isinstance(data, dict) and isinstance(data.get("cells"), list):
        tm = data.get("type_map")
        return data["cells"], tm if isinstance(tm, dict) else None
    raise NotLayoutFile(f"{path}: JSON but not HoVer-Net/CellViT nuclei (no 'nuc' object or 'cells' list)")


def _cell(e, path: Path, i: int) -> tuple[float, float, int]:
    try:
        x, y = float(e["centroid"][0]), float(e["centroid"][1])
    except (TypeError, KeyError, IndexError, ValueError, OverflowError):
        raise ValueError(f"{path}: nucleus {i} has no numeric 'centroid' [x, y]") from None
    t = e.get("type") if isinstance(e, dict) else None
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t != int(t) or t < 0:
        raise ValueError(f"{path}: nucleus {i} has no integer 'type' (a model run without a type head?)")
    return y, x, int(t)


def read(path: str | Path, classes=None, *, shape: tuple[int, int] | None = None) -> Layout:
    path = Path(path)
    data = load_json(path)
    entries, type_map = _entries(data, path)
    cells = np.array([_cell(e, path, i) for i, e in enumerate(entries)], dtype=np.float64).reshape(-1, 3)
    cells = cells[cells[:, 2] > 0]  # type 0: no label / background (module docstring)
    if not np.isfinite(cells).all():
        raise ValueError(f"{path}: NaN or infinite coordinates")
    types = cells[:, 2].astype(np.int64)
    if classes is None and type_map:
        names = [str(type_map.get(str(t), type_map.get(t, f"class{t}"))) for t in types]
        labels, cls = class_indices(names, None, path)
    else:
        labels, cls = class_indices([str(t) for t in types], classes, path)
    return Layout.from_labelled_points(
        cells[:, :2],
        labels,
        cls,
        shape=shape,
        name=path.stem,
        source=str(path),
        class_origin=class_origin(cls, classes),
    )

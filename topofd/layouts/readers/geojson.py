"""GeoJSON detections as QuPath exports them (``.geojson`` / ``.json``).

Duplicate cells: an exact duplicate (same x, y and class) is one cell listed
twice and is kept once, as in every point format (csv/tsv, BRCA ``.txt``,
GeoJSON, ``.mat``; :meth:`Layout.from_labelled_points`); the layout's
``duplicates`` counts the rows dropped and the report names the file.

Accepted: a ``FeatureCollection``, a bare list of features, or one feature.
Each ``Point`` is a cell, each point of a ``MultiPoint`` (QuPath's point
annotations) is a cell, and each ``Polygon`` / ``MultiPolygon`` (detected
nuclei or cells) is one cell at its area-weighted centroid (holes
subtracted).  The class is ``properties.classification.name`` (or a plain
string ``properties.classification``); a feature without one is an error
that names it.  GeoJSON coordinates are ``(x, y)``; a :class:`Layout` stores
``(row, col) = (y, x)``.  Classes follow the same rules as point tables
(:mod:`topofd.layouts.readers.points`): names, aligned on the folder's union when
``classes`` is not given.

A ``.geojson`` file is always read as a layout.  A ``.json`` file is one only
if its top level is a GeoJSON ``FeatureCollection`` or ``Feature``, or a list
of features (``[]`` too: an export without objects); any other JSON (a
``run_config.json``, topofd's own ``report.json``) raises
:class:`~topofd.layouts.readers.NotLayoutFile`, which the folder reader skips.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from topofd.layouts.layout import Layout
from topofd.layouts.readers import NotLayoutFile, load_json
from topofd.layouts.readers.points import class_indices, class_origin

SUFFIXES = (".geojson", ".json")
INFERS_CLASSES = True


def _ring_moments(ring) -> tuple[float, float, float]:
    """Signed area and first moments (shoelace) of a closed or open ring."""
    p = np.asarray(ring, dtype=np.float64)[:, :2]
    x, y = p[:, 0], p[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    a = cross.sum() / 2.0
    return a, ((x + x1) * cross).sum() / 6.0, ((y + y1) * cross).sum() / 6.0


def polygon_centroid(polygons) -> tuple[float, float]:
    """Area-weighted ``(x, y)`` centroid of a list of polygons, each a list of
    rings (exterior first, then holes).  Orientation does not matter: each
    exterior counts positively and each hole negatively.  A degenerate
    (zero-area) shape falls back to the mean of its vertices."""
    A = Mx = My = 0.0
    verts = []
    for rings in polygons:
        for i, ring in enumerate(rings):
            a, mx, my = _ring_moments(ring)
            s = (1.0 if i == 0 else -1.0) * (1.0 if a >= 0 else -1.0)
            A += s * a
            Mx += s * mx
            My += s * my
            verts.append(np.asarray(ring, dtype=np.float64)[:, :2])
    if abs(A) > 1e-12:
        return Mx / A, My / A
    v = np.concatenate(verts)
    return float(v[:, 0].mean()), float(v[:, 1].mean())


def _cells(geom, path, k) -> list[tuple[float, float]]:
    if not isinstance(geom, dict) or "type" not in geom:
        raise ValueError(f"{path}: feature {k} has no geometry")
    t = geom["type"]
    c: Any = geom.get("coordinates")  # None raises TypeError below
    try:
        if t == "Point":
            return [(float(c[0]), float(c[1]))]
        if t == "MultiPoint":
            return [(float(p[0]), float(p[1])) for p in c]
        if t == "Polygon":
            return [polygon_centroid([c])]
        if t == "MultiPolygon":
            return [polygon_centroid(c)]
    except (TypeError, IndexError, KeyError, ValueError, OverflowError):
        raise ValueError(f"{path}: feature {k} has malformed {t} coordinates") from None
    raise ValueError(f"{path}: feature {k} has unsupported geometry type {str(t)[:40]!r}")


def _class_name(feat, path, k) -> str:
    props = feat.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise ValueError(f"{path}: feature {k} has 'properties' that is not an object")
    cl = props.get("classification")
    name = cl.get("name") if isinstance(cl, dict) else cl
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{path}: feature {k} has no properties.classification.name (unclassified object)")
    return name.strip()


def _features(data):
    """The feature list of a parsed document, or ``None`` if it is not GeoJSON."""
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        return data.get("features")
    if isinstance(data, dict) and data.get("type") == "Feature":
        return [data]
    if isinstance(data, list) and all(isinstance(f, dict) and f.get("type") == "Feature" for f in data):
        return data
    return None


def read(path: str | Path, classes=None, *, shape: tuple[int, int] | None = None) -> Layout:
    path = Path(path)
    data = load_json(path, "GeoJSON")
    feats = _features(data)
    if feats is None:
        if path.suffix.lower() != ".geojson":
            raise NotLayoutFile(f"{path}: JSON but not GeoJSON (no FeatureCollection, Feature or list of features)")
        feats = data
    if not isinstance(feats, list) or not all(isinstance(f, dict) for f in feats):
        raise ValueError(f"{path}: expected a GeoJSON FeatureCollection or a list of features")
    xy, names = [], []
    for k, f in enumerate(feats):
        cells = _cells(f.get("geometry"), path, k)
        name = _class_name(f, path, k)
        xy.extend(cells)
        names.extend([name] * len(cells))
    rc = np.array(xy, dtype=np.float64).reshape(-1, 2)[:, ::-1]
    if not np.isfinite(rc).all():
        raise ValueError(f"{path}: NaN or infinite coordinates")
    labels, cls = class_indices(names, classes, path)
    return Layout.from_labelled_points(
        rc, labels, cls, shape=shape, name=path.stem, source=str(path), class_origin=class_origin(cls, classes)
    )

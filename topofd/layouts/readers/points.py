"""Point tables (``.csv`` / ``.tsv``): one cell per row with x, y and class.

Duplicate cells: an exact duplicate (same x, y and class) is one cell listed
twice and is kept once, as in every point format (csv/tsv, BRCA ``.txt``,
GeoJSON, ``.mat``; :meth:`Layout.from_labelled_points`); the layout's
``duplicates`` counts the rows dropped and the report names the file.

``x`` is the column (horizontal) and ``y`` the row coordinate, in pixels;
a :class:`Layout` stores ``(row, col) = (y, x)``.  Column names are matched
case-insensitively and can be changed (``x_col``, ``y_col``, ``class_col``).
Class values are either names or 1-based integers:

* with ``classes`` given, a name must be one of them and an integer ``k``
  means ``classes[k - 1]``;
* without, integers ``k`` become ``"class<k>"`` and names are kept; the
  folder reader (:func:`topofd.layouts.sets.read_layouts`) then aligns all files of a
  folder on the union of their classes (so a patch without any cell of one
  class still has that class, empty).

The canvas shape is not part of the format; pass ``shape=(H, W)`` when a
command needs it (baselines); cells outside it, or at negative coordinates,
are an error (:meth:`Layout.from_labelled_points`).

A table is a layout file only if its header has the x, y and class columns:
any other table (topofd's own ``report.csv``, an empty file) raises
:class:`~topofd.layouts.readers.NotLayoutFile`, which the folder reader skips.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from topofd.layouts.layout import Layout
from topofd.layouts.readers import NotLayoutFile

SUFFIXES = (".csv", ".tsv")
INFERS_CLASSES = True
_INT = re.compile(r"^\s*\+?(\d+)(\.0*)?\s*$")
# integer classes are 1-based indices; a larger value is a coordinate or an id in the wrong column
MAX_INT_CLASS = 1000


def _column(header: list[str], want: str, path: Path) -> int:
    for i, c in enumerate(header):
        if c.strip().lower() == want.strip().lower():
            return i
    cols = ", ".join(header)
    if len(cols) > 120:
        cols = cols[:117] + "..."
    raise NotLayoutFile(f"{path}: no column {want!r} (columns: {cols})")


def class_indices(values, classes, path) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class values (names or 1-based integers, as strings) → 0-based indices
    and the class names they refer to."""
    values = [str(v).strip() for v in values]
    if any(v == "" for v in values):
        raise ValueError(f"{path}: empty class value on row {values.index('') + 2}")
    ints = [m for m in (_INT.match(v) for v in values) if m is not None]
    if values and len(ints) == len(values):
        big = next((m.group(1) for m in ints if len(m.group(1).lstrip("0")) > 6), None)
        if big is not None:
            raise ValueError(f"{path}: class {big[:12]} is not a 1-based class index (at most {MAX_INT_CLASS})")
        k = np.array([int(m.group(1)) for m in ints], dtype=np.int64)
        if (k < 1).any():
            raise ValueError(f"{path}: integer classes are 1-based, found {k.min()}")
        if classes is None:
            if k.max() > MAX_INT_CLASS:
                raise ValueError(f"{path}: class {k.max()} is not a 1-based class index (at most {MAX_INT_CLASS})")
            names = tuple(f"class{i}" for i in range(1, k.max() + 1))
        else:
            names = tuple(classes)
            if k.max() > len(names):
                raise ValueError(f"{path}: class {k.max()} but only {len(names)} classes ({', '.join(names)})")
        return k - 1, names
    if classes is None:
        names = tuple(sorted(set(values)))
    else:
        names = tuple(classes)
        unknown = sorted(set(values) - set(names))
        if unknown:
            shown = ", ".join(repr(u[:40]) for u in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
            raise ValueError(f"{path}: class(es) {shown} not in {', '.join(names)}")
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[v] for v in values], dtype=np.int64), names


def class_origin(names, classes) -> str:
    """:attr:`Layout.class_origin` of names from :func:`class_indices`:
    ``content`` when they are names found in the file, else inferred."""
    if classes is not None or names == tuple(f"class{i}" for i in range(1, len(names) + 1)):
        return ""
    return "content"


def read(
    path: str | Path,
    classes=None,
    *,
    x_col: str = "x",
    y_col: str = "y",
    class_col: str = "class",
    shape: tuple[int, int] | None = None,
    image_col: str | None = None,
) -> Layout:
    """``image_col``: a column naming the source image (``--group-by
    column:NAME``); every row of the file must hold the same value."""
    import pandas as pd

    path = Path(path)
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        # header=None: the header row sets the field count, so a row with more
        # fields is an error instead of pandas taking its first fields as an index
        raw = pd.read_csv(path, sep=sep, header=None, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise NotLayoutFile(
            f"{path}: empty file (a point table has a header with {x_col}, {y_col}, {class_col})"
        ) from None
    except MemoryError:
        raise ValueError(f"{path}: table too large to load") from None
    except Exception as e:  # pandas' parsers raise many types on damaged input
        raise ValueError(f"{path}: corrupt or unreadable table ({e.__class__.__name__})") from None
    header, body = [str(c) for c in raw.iloc[0]], raw.iloc[1:]
    cx, cy, cc = (_column(header, c, path) for c in (x_col, y_col, class_col))
    if len({cx, cy, cc}) < 3:
        raise ValueError(f"{path}: {x_col!r}, {y_col!r} and {class_col!r} must be three different columns")
    try:
        xy = body.iloc[:, [cy, cx]].astype(np.float64).to_numpy().reshape(-1, 2)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{path}: non-numeric values in {x_col!r} or {y_col!r}") from None
    if not np.isfinite(xy).all():
        raise ValueError(f"{path}: NaN or infinite coordinates")
    labels, names = class_indices(body.iloc[:, cc].tolist(), classes, path)
    lay = Layout.from_labelled_points(
        xy, labels, names, shape=shape, name=path.stem, source=str(path), class_origin=class_origin(names, classes)
    )
    if image_col is None:
        return lay
    try:
        ci = _column(header, image_col, path)
    except NotLayoutFile as e:
        raise ValueError(f"{e} (--group-by column:{image_col})") from None
    return replace(lay, image=one_image(body.iloc[:, ci].tolist(), image_col, path))


def one_image(values, column: str, path) -> str:
    """The one image all rows of a file name (``ValueError`` for none or several)."""
    found = sorted({str(v).strip() for v in values} - {""})
    if len(found) != 1:
        what = (
            "no value"
            if not found
            else f"{len(found)} values ({', '.join(found[:3])}{', ...' if len(found) > 3 else ''})"
        )
        raise ValueError(f"{path}: image column {column!r} holds {what}; one file is one image's layout")
    return found[0]

"""Point tables (``.csv`` / ``.tsv``): one cell per row with x, y and class.

``x`` is the column (horizontal) and ``y`` the row coordinate, in pixels;
a :class:`Layout` stores ``(row, col) = (y, x)``.  Column names are matched
case-insensitively and can be changed (``x_col``, ``y_col``, ``class_col``).
Class values are either names or 1-based integers:

* with ``classes`` given, a name must be one of them and an integer ``k``
  means ``classes[k - 1]``;
* without, integers ``k`` become ``"class<k>"`` and names are kept; the
  folder reader (:func:`topofd.io.read_layouts`) then aligns all files of a
  folder on the union of their classes (so a patch without any cell of one
  class still has that class, empty).

The canvas shape is not part of the format; pass ``shape=(H, W)`` when a
command needs it (baselines).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..layout import Layout

SUFFIXES = (".csv", ".tsv")
INFERS_CLASSES = True
_INT = re.compile(r"^\s*\+?(\d+)(\.0*)?\s*$")


def _column(df, want: str, path: Path) -> str:
    for c in df.columns:
        if str(c).strip().lower() == want.strip().lower():
            return c
    raise ValueError(f"{path}: no column {want!r} (columns: {', '.join(map(str, df.columns))})")


def class_indices(values, classes, path) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class values (names or 1-based integers, as strings) → 0-based indices
    and the class names they refer to."""
    values = [str(v).strip() for v in values]
    if any(v == "" for v in values):
        raise ValueError(f"{path}: empty class value on row {values.index('') + 2}")
    ints = [_INT.match(v) for v in values]
    if values and all(ints):
        k = np.array([int(m.group(1)) for m in ints], dtype=np.int64)
        if (k < 1).any():
            raise ValueError(f"{path}: integer classes are 1-based, found {k.min()}")
        if classes is None:
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
            raise ValueError(f"{path}: class(es) {', '.join(map(repr, unknown))} not in {', '.join(names)}")
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[v] for v in values], dtype=np.int64), names


def read(path: str | Path, classes=None, *, x_col: str = "x", y_col: str = "y", class_col: str = "class",
         shape: tuple[int, int] | None = None) -> Layout:
    import pandas as pd

    path = Path(path)
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: empty file (expected a header with {x_col}, {y_col}, {class_col})") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, ValueError) as e:
        raise ValueError(f"{path}: corrupt or unreadable table ({e.__class__.__name__})") from None
    cx, cy, cc = (_column(df, c, path) for c in (x_col, y_col, class_col))
    try:
        xy = df[[cy, cx]].astype(np.float64).to_numpy().reshape(-1, 2)
    except ValueError:
        raise ValueError(f"{path}: non-numeric values in {x_col!r} or {y_col!r}") from None
    if not np.isfinite(xy).all():
        raise ValueError(f"{path}: NaN or infinite coordinates")
    labels, names = class_indices(df[cc].tolist(), classes, path)
    return Layout.from_labelled_points(xy, labels, names, shape=shape, name=path.stem, source=str(path))

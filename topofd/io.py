"""Folders of layout files → lists of :class:`Layout`, and real/synthetic pairing."""
from __future__ import annotations

import bisect
import inspect
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from .layout import Layout
from .readers import brca, geojson, mat, npy, png, points

__all__ = ["read_layouts", "pair_by_prefix", "READERS", "FORMATS"]

# format name -> reader module (``SUFFIXES`` and ``read(path, classes=None, **options)``)
READERS = {"npy": npy, "png": png, "csv": points, "txt": brca, "geojson": geojson, "mat": mat}
FORMATS = tuple(READERS)


def _accepted(mod) -> set[str] | None:
    """Keyword options a reader's ``read`` takes (``None``: any)."""
    params = inspect.signature(mod.read).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind is p.KEYWORD_ONLY}


def _options_for(mod, options: dict) -> dict:
    acc = _accepted(mod)
    return dict(options) if acc is None else {k: v for k, v in options.items() if k in acc}


def _class_key(name: str):
    m = re.fullmatch(r"class(\d+)", name)
    return (0, int(m.group(1)), "") if m else (1, 0, name)


def align_classes(layouts: list[Layout]) -> list[Layout]:
    """Put layouts whose classes were inferred from their content (point
    tables, GeoJSON) on the union of the folder's classes, so a file that
    happens to lack a class still has it (empty).  Order: ``class<k>`` by
    ``k``, then names alphabetically."""
    if len({l.classes for l in layouts}) <= 1:
        return layouts
    union = sorted({c for l in layouts for c in l.classes}, key=_class_key)
    empty = np.zeros((0, 2))
    out = []
    for l in layouts:
        own = dict(zip(l.classes, l.points))
        out.append(Layout(tuple(own.get(c, empty) for c in union), tuple(union), l.shape, l.name, l.source))
    return out


def _format_of(path: Path) -> str:
    for name, mod in READERS.items():
        if path.suffix.lower() in mod.SUFFIXES:
            return name
    raise ValueError(f"{path}: unknown layout format '{path.suffix}'")


def read_layouts(path, *, format: str = "auto", classes: Sequence[str] | None = None, skip_bad: bool = False,
                 **options) -> tuple[list[Layout], list[str]]:
    """Read every layout file of a folder (sorted by name).

    Returns ``(layouts, skipped)``; ``skipped`` lists ``"file: problem"`` for
    unreadable files when ``skip_bad`` (otherwise the first one raises
    ``ValueError``).  ``format``: ``"auto"`` (by file suffix) or one of
    :data:`FORMATS`.  ``options`` go to the readers that take them (e.g.
    ``colors`` for PNG, ``x_col``/``y_col``/``class_col`` for point tables,
    ``shape`` for formats without a canvas size, ``channels``/``threshold``
    for arrays); an option no reader takes is an error.
    """
    known = [_accepted(m) for m in READERS.values()]
    unknown = set() if None in known else set(options) - set().union(*known)
    if unknown:
        raise ValueError(f"unknown reader option(s): {', '.join(sorted(unknown))}")
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder")
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")) if path.is_dir() else [path]
    if format == "auto":
        fmts = {f: _format_of(f) for f in files if any(f.suffix.lower() in m.SUFFIXES for m in READERS.values())}
    else:
        if format not in READERS:
            raise ValueError(f"unknown format {format!r}; choose from {', '.join(READERS)}")
        fmts = {f: format for f in files if f.suffix.lower() in READERS[format].SUFFIXES}
    if not fmts:
        what = "layout" if format == "auto" else f"{format} ({', '.join(READERS[format].SUFFIXES)})"
        raise ValueError(f"{path}: no {what} files found")
    layouts, skipped, inferred = [], [], []
    for f, fmt in fmts.items():
        mod = READERS[fmt]
        try:
            lay = mod.read(f, classes, **_options_for(mod, options))
        except (ValueError, OSError) as e:
            if not skip_bad:
                raise ValueError(str(e) if str(f) in str(e) else f"{f}: {e}") from None
            skipped.append(str(e) if str(f) in str(e) else f"{f}: {e}")
            continue
        layouts.append(lay)
        inferred.append(classes is None and getattr(mod, "INFERS_CLASSES", False))
    if any(inferred):
        idx = [i for i, x in enumerate(inferred) if x]
        for i, lay in zip(idx, align_classes([layouts[i] for i in idx])):
            layouts[i] = lay
    return layouts, skipped


def pair_by_prefix(real_names: Sequence[str], synth_names: Sequence[str]):
    """The published pairing: a synthetic layout pairs with the real layout
    whose name is the longest prefix of its own (``X`` ↔ ``X_gen``).

    Returns ``(pairs, unmatched_real, unmatched_synth)``, ``pairs`` a list of
    ``(real_index, synth_index)``; a real layout may pair with several
    synthetic ones (several samples per condition).
    """
    order = sorted(range(len(real_names)), key=lambda i: real_names[i])
    keys = [real_names[i] for i in order]
    pairs, unmatched_synth = [], []
    for j, s in enumerate(synth_names):
        # candidates are prefixes of s: walk back from s's insertion point
        best = None
        k = bisect.bisect_right(keys, s) - 1
        while k >= 0 and keys[k][:1] == s[:1]:
            if s.startswith(keys[k]):
                best = order[k]
                break
            k -= 1
        if best is None:
            unmatched_synth.append(j)
        else:
            pairs.append((best, j))
    used = {i for i, _ in pairs}
    return pairs, [i for i in range(len(real_names)) if i not in used], unmatched_synth

"""Folders of layout files → lists of :class:`Layout` (:func:`read_layouts`)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from topofd.layouts.images import assign_images, image_options
from topofd.layouts.layout import Layout
from topofd.layouts.readers import NotLayoutFile, brca, geojson, h5ad, mat, npy, nuclei, png, points

__all__ = ["read_layouts", "align_classes", "duplicate_notes", "Skipped", "READERS", "FORMATS"]

# format name -> reader module (``SUFFIXES`` and ``read(path, classes=None, **options)``)
# (a .json file is tried as GeoJSON first, then as HoVer-Net/CellViT nuclei: _read_file)
READERS = {
    "npy": npy,
    "png": png,
    "csv": points,
    "txt": brca,
    "geojson": geojson,
    "mat": mat,
    "json": nuclei,
    "h5ad": h5ad,
}
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
    origin = "content" if any(l.class_origin == "content" for l in layouts) else ""
    empty = np.zeros((0, 2))
    out = []
    for l in layouts:
        own = dict(zip(l.classes, l.points))
        out.append(
            Layout(
                tuple(own.get(c, empty) for c in union),
                tuple(union),
                l.shape,
                l.name,
                l.source,
                origin,
                l.duplicates,
                l.image,
            )
        )
    return out


def duplicate_notes(layouts) -> list[str]:
    """Report notes on the exact duplicate cells (same x, y, class) the point
    readers kept once (:attr:`Layout.duplicates`), one per file."""
    return [
        f"{Path(l.source or l.name).name}: {l.duplicates} duplicate cell row(s) (same x, y, class) kept once"
        for l in layouts
        if getattr(l, "duplicates", 0)
    ]


# ------------------------------------------------------------------ reading
class Skipped(str):
    """One entry of :func:`read_layouts`' skipped list: the string
    ``"file: reason"``, with ``path``, ``reason`` and ``unreadable`` (``True``
    for a layout file that could not be read, skipped under ``skip_bad``;
    ``False`` for a file that is not a layout file)."""

    path: str
    reason: str
    unreadable: bool

    def __new__(cls, path, reason: str, unreadable: bool = False):
        self = super().__new__(cls, f"{path}: {reason}")
        self.path, self.reason, self.unreadable = str(path), reason, unreadable
        return self

    def __reduce__(self):
        return (Skipped, (self.path, self.reason, self.unreadable))


def _reason(f: Path, e: BaseException) -> str:
    """A reader's message without the file name it starts with."""
    msg = " ".join(str(e).split()) or e.__class__.__name__
    for pre in (f"{f}: ", f"{f.name}: "):
        if msg.startswith(pre):
            return msg[len(pre) :]
    return msg


def _dangling(f: Path) -> bool:
    return f.is_symlink() and not f.exists()


def _broken_link(f: Path) -> str:
    try:
        target = str(f.readlink())
    except OSError:  # pragma: no cover
        target = "?"
    return f"broken symbolic link (target {target} does not exist)"


def _format_for(f: Path, format: str) -> str | None:
    suffix = f.suffix.lower()
    names = READERS if format == "auto" else [format]
    return next((n for n in names if suffix in READERS[n].SUFFIXES), None)


def _read_file(f: Path, fmt: str, format: str, classes, options: dict) -> Layout:
    """Read ``f`` as ``fmt``; under ``auto``, a file that is not of that
    format is tried with the next reader of its suffix (``.json``: GeoJSON,
    then nuclei JSON); ``NotLayoutFile`` when none takes it."""
    names = [fmt] + (
        [n for n in READERS if n != fmt and f.suffix.lower() in READERS[n].SUFFIXES] if format == "auto" else []
    )
    why = []
    for n in names:
        mod = READERS[n]
        try:
            return mod.read(f, classes, **_options_for(mod, options))
        except NotLayoutFile as e:
            why.append(_reason(f, e))
    raise NotLayoutFile(f"{f}: {'; '.join(why)}")


def _summary(skipped: list[Skipped], n: int = 3) -> str:
    shown = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in skipped[:n])
    return shown + (f"; and {len(skipped) - n} more" if len(skipped) > n else "")


def read_layouts(
    path, *, format: str = "auto", classes: Sequence[str] | None = None, skip_bad: bool = False, **options
) -> tuple[list[Layout], list[Skipped]]:
    """Read every layout file of a folder (sorted by name), or one file.

    Returns ``(layouts, skipped)``.  ``skipped`` lists, as :class:`Skipped`
    strings ``"file: reason"``, every file of the folder that was not read:
    files that are not layout files (``unreadable`` false: an unknown suffix,
    a ``README.txt``, a ``run_config.json``, a table without the x/y/class
    columns; see each reader's rule), which never stop the run, and, with
    ``skip_bad``, layout files that could not be read (``unreadable`` true);
    without ``skip_bad`` the first of those raises ``ValueError``.  Hidden
    files and sub-folders are ignored.  A symbolic link whose target does not
    exist is a layout file that cannot be read (``broken symbolic link``),
    never silently left out.

    Refused with ``ValueError``: a folder without any layout file; two files
    that are the same layout (one name, e.g. ``p0.npy`` and ``p0.csv``: keep
    one, or choose one with ``format``); a ``threshold`` under which no
    layout of the folder has a cell.

    ``format``: ``"auto"`` (by file suffix, in any case) or one of
    :data:`FORMATS` (files of other suffixes are skipped).  ``options`` go
    to the readers that take them (e.g. ``colors`` for PNG,
    ``x_col``/``y_col``/``class_col`` for point tables, ``shape`` for
    formats without a canvas size, ``channels``/``threshold``/``labels`` for
    arrays), ``group_by`` (:mod:`topofd.layouts.images`); an option no reader takes is an error.
    """
    options, g = image_options(options)
    _check_arguments(format, options)
    path = Path(path)
    single = not _existing(path).is_dir()
    layouts: list[Layout] = []
    skipped: list[Skipped] = []
    inferred = []
    for f in _listed(path, single):
        fmt = _format_for(f, format)
        if fmt is None:
            if single:
                raise ValueError(_wrong_suffix(f, format))
            what = "a layout format" if format == "auto" else f"a {format} file"
            skipped.append(Skipped(f, f"not {what} (suffix '{f.suffix}')"))
            continue
        got = _read_one(f, fmt, format, classes, options, single=single, skip_bad=skip_bad)
        if isinstance(got, Skipped):
            skipped.append(got)
            continue
        layouts.append(got)
        inferred.append(classes is None and getattr(READERS[fmt], "INFERS_CLASSES", False))
    if not layouts and not any(s.unreadable for s in skipped):
        what = "layout" if format == "auto" else f"{format} ({', '.join(READERS[format].SUFFIXES)}) layout"
        raise ValueError(f"{path}: no {what} files found" + (f" (skipped {_summary(skipped)})" if skipped else ""))
    _refuse_same_names(path, layouts)
    if any(inferred):
        idx = [i for i, x in enumerate(inferred) if x]
        for i, lay in zip(idx, align_classes([layouts[i] for i in idx])):
            layouts[i] = lay
    _refuse_empty_threshold(path, layouts, options.get("threshold"))
    return assign_images(layouts, g), skipped


def _check_arguments(format: str, options: dict) -> None:
    known = [_accepted(m) for m in READERS.values()]
    unknown = set() if None in known else set(options) - set().union(*(k for k in known if k is not None))
    if unknown:
        raise ValueError(f"unknown reader option(s): {', '.join(sorted(unknown))}")
    if format != "auto" and format not in READERS:
        raise ValueError(f"unknown format {format!r}; choose from {', '.join(READERS)}")


def _existing(path: Path) -> Path:
    if not path.exists():
        if path.is_symlink():
            raise ValueError(f"{path}: {_broken_link(path)}")
        raise ValueError(f"{path}: no such file or folder")
    return path


def _listed(path: Path, single: bool) -> list[Path]:
    # a dangling symbolic link is a file that cannot be read, like a 0-byte one
    # at the same place: listed, then refused (or skipped under skip_bad)
    if single:
        return [path]
    return sorted(p for p in path.iterdir() if (p.is_file() or _dangling(p)) and not p.name.startswith("."))


def _wrong_suffix(f: Path, format: str) -> str:
    if format == "auto":
        return f"{f}: unknown layout format '{f.suffix}'"
    return f"{f}: not a {format} file ({', '.join(READERS[format].SUFFIXES)})"


def _read_one(
    f: Path, fmt: str, format: str, classes, options: dict, *, single: bool, skip_bad: bool
) -> Layout | Skipped:
    """One file read by its format's reader, or why it was skipped; raises
    ``ValueError`` where :func:`read_layouts` refuses it."""
    if _dangling(f):
        if not skip_bad:
            raise ValueError(f"{f}: {_broken_link(f)}")
        return Skipped(f, _broken_link(f), unreadable=True)
    try:
        with np.errstate(all="ignore"):  # readers check values themselves; no warning lines for users
            return _read_file(f, fmt, format, classes, options)
    except NotLayoutFile as e:
        if single:
            raise ValueError(f"{f}: not a layout file: {_reason(f, e)}") from None
        return Skipped(f, f"not a layout file: {_reason(f, e)}")
    except Exception as e:
        # a reader's own errors are ValueError/OSError; anything else is a
        # library failing on hostile content, still one line about the file
        own = isinstance(e, (ValueError, OSError))
        reason = _reason(f, e) if own else f"cannot read as {fmt} ({e.__class__.__name__}: {_reason(f, e)})"
        if not skip_bad:
            raise ValueError(f"{f}: {reason}") from (None if own else e)
        return Skipped(f, reason, unreadable=True)


def _refuse_same_names(path: Path, layouts: list[Layout]) -> None:
    by_name: dict[str, Layout] = {}
    for lay in layouts:
        if lay.name in by_name:
            a, b = Path(by_name[lay.name].source).name, Path(lay.source).name
            raise ValueError(
                f"{path}: {a} and {b} are the same layout '{lay.name}'; keep one of them, "
                "or read one format with --format"
            )
        by_name[lay.name] = lay


def _refuse_empty_threshold(path: Path, layouts: list[Layout], t) -> None:
    arrays = [l for l in layouts if Path(l.source).suffix.lower() in npy.SUFFIXES]
    if t is not None and arrays and not any(l.counts.sum() for l in arrays):
        raise ValueError(
            f"{path}: no cell in any of its {len(arrays)} arrays with threshold {t:g} (foreground is value > threshold)"
        )

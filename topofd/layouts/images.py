"""Which source image (slide) each layout comes from.

Windows cut from one image overlap and share its cell density, stain and
tissue: they are not independent draws.  A set of 3 images x 177 windows has
an effective sample size nearer 3 than 531, and a k-nearest-neighbour radius
computed among such windows is the distance to the window's own shifted
copies.  Knowing each layout's image lets the scores that assume independent
layouts exclude the layouts of the same image (fidelity radii, the
memorisation thresholds) and lets an interval resample whole images.

Where the image comes from (``group_by``, the ``--group-by`` option):

* ``auto`` (the default) — the names :func:`topofd.layouts.patches.patch_name`
  writes, when every name of a batch or folder is one;
* ``none`` — images are not used, not even those the layouts know;
* ``patches`` — the names :func:`topofd.layouts.patches.patch_name` writes,
  ``<image>_rNNNNN_cNNNNN`` (anything after, such as ``_gen``, is allowed);
* ``column:NAME`` — a column of a point table (``.csv``/``.tsv``) or of the
  AnnData ``obs`` table: every row of one file must hold one value;
* ``map:PATH`` — a two-column table (``.csv`` or tab-separated), layout
  name then image, a header line allowed; a name not listed takes the entry
  of its longest listed prefix (so ``X_gen`` follows ``X``);
* any other value is a regular expression searched in each name: its group
  named ``image``, else its first group, else the whole match.

A layout that already knows its image (:attr:`Layout.image`, e.g. from a
reader or from :func:`topofd.layouts.patches.window_layouts`) keeps it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from topofd.layouts.layout import Layout

__all__ = [
    "PATCH_PATTERN",
    "GroupBy",
    "parse_group_by",
    "image_options",
    "read_image_map",
    "image_of",
    "assign_images",
    "images_of_names",
    "summary",
    "report_images",
]

PATCH_PATTERN = r"^(?P<image>.+?)_r\d{5}_c\d{5}(?!\d)"


@dataclass(frozen=True)
class GroupBy:
    """A parsed ``group_by``: ``kind`` one of ``pattern``, ``column``, ``map``."""

    kind: str
    arg: str
    text: str

    @property
    def reader_column(self) -> str | None:
        """The column a point reader must read the image from (``column:`` only)."""
        return self.arg if self.kind == "column" else None


def parse_group_by(value: str | None) -> GroupBy | None:
    """``ValueError`` (one line) for an empty column, a missing mapping file
    or a pattern that is not a regular expression."""
    if value is None or value in ("", "none"):
        return None
    v = str(value)
    if v == "auto":
        return GroupBy("auto", PATCH_PATTERN, v)
    if v == "patches":
        return GroupBy("pattern", PATCH_PATTERN, v)
    if v.startswith("column:"):
        if not v[7:].strip():
            raise ValueError("group_by 'column:' needs a column name (column:NAME)")
        return GroupBy("column", v[7:].strip(), v)
    if v.startswith("map:"):
        p = Path(v[4:])
        if not p.is_file():
            raise ValueError(f"group_by mapping file {p}: no such file")
        return GroupBy("map", str(p), v)
    try:
        re.compile(v)
    except re.error as e:
        raise ValueError(f"group_by {v!r}: not a regular expression ({e})") from None
    return GroupBy("pattern", v, v)


def image_options(options: dict) -> tuple[dict, GroupBy | None]:
    """Reader options without ``group_by``, plus the ``image_col`` a
    ``column:`` rule gives the readers; and the parsed rule."""
    rest = {k: v for k, v in options.items() if k != "group_by"}
    g = parse_group_by(options.get("group_by"))
    if g is not None and g.reader_column is not None:
        rest["image_col"] = g.reader_column
    return rest, g


def read_image_map(path: str | Path) -> dict[str, str]:
    """``{layout name: image}`` from a two-column table (see module docstring)."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read the image mapping ({e.__class__.__name__})") from None
    delim = "\t" if "\t" in text.split("\n", 1)[0] else ","
    out: dict[str, str] = {}
    for i, row in enumerate(csv.reader(text.splitlines(), delimiter=delim)):
        row = [c.strip() for c in row]
        if not row or not any(row):
            continue
        if len(row) < 2 or not row[0] or not row[1]:
            raise ValueError(f"{path}: line {i + 1}: expected 'name{delim}image'")
        if i == 0 and row[0].lower() in ("name", "layout", "file"):
            continue  # header
        out[Path(row[0]).stem if Path(row[0]).suffix else row[0]] = row[1]
    if not out:
        raise ValueError(f"{path}: no 'name, image' rows")
    return out


def _from_map(name: str, mapping: dict[str, str], where: str) -> str:
    if name in mapping:
        return mapping[name]
    best = max((k for k in mapping if name.startswith(k)), key=len, default=None)
    if best is None:
        raise ValueError(f"{where}: layout {name!r} is not in the image mapping (nor any prefix of its name)")
    return mapping[best]


def _from_pattern(name: str, rx: re.Pattern, text: str) -> str:
    m = rx.search(name)
    if m is None:
        what = "the names topofd patches writes (<image>_rNNNNN_cNNNNN)" if text == "patches" else repr(text)
        raise ValueError(f"--group-by: layout name {name!r} does not match {what}")
    if "image" in rx.groupindex:
        return m.group("image")
    return m.group(1) if rx.groups else m.group(0)


def image_of(names: Sequence[str], group_by: GroupBy | None) -> list[str]:
    """The image of each name under ``group_by`` (``""``: no rule, or ``column:``, which readers apply)."""
    if group_by is None or group_by.kind == "column":
        return [""] * len(names)
    if group_by.kind == "map":
        mapping = read_image_map(group_by.arg)
        return [_from_map(n, mapping, group_by.arg) for n in names]
    rx = re.compile(group_by.arg)
    return [_from_pattern(n, rx, group_by.text) for n in names]


def images_of_names(names: Sequence[str], known: Sequence[str | None], group_by: GroupBy | str | None) -> list:
    """Each name's image under ``group_by`` where ``known`` has none (the
    rule of :func:`assign_images`, for sets known by their names only, such
    as a reference file made before images were stored); ``None`` where
    still unknown, every entry ``None`` for ``group_by="none"``."""
    if group_by == "none":
        return [None] * len(names)
    g = parse_group_by(group_by) if not isinstance(group_by, GroupBy) else group_by
    out = [im or None for im in known]
    todo = [i for i, im in enumerate(out) if not im]
    if g is None or g.kind == "column" or not todo:
        return out
    if g.kind == "auto":
        rx = re.compile(g.arg)
        if not all(rx.search(names[i]) for i in todo):
            return out
        g = GroupBy("pattern", g.arg, "patches")
    for i, im in zip(todo, image_of([names[i] for i in todo], g)):
        out[i] = im or None
    return out


def assign_images(layouts: Sequence[Layout], group_by: GroupBy | str | None) -> list[Layout]:
    """``layouts`` with :attr:`Layout.image` set from ``group_by`` where not yet known."""
    if group_by == "none":  # images not used, even those the layouts know
        return [replace(l, image="") if l.image else l for l in layouts]
    found = images_of_names([l.name for l in layouts], [l.image for l in layouts], group_by)
    return [l if l.image or not im else replace(l, image=im) for l, im in zip(layouts, found)]


def report_images(real, synth, group_by) -> dict | None:
    """``report.meta["images"]``: the rule and each set's :func:`summary`
    (``None`` when neither set's images are known)."""
    sets = {w: summary(v) for w, v in (("real", real), ("synthetic", synth))}
    if not any(sets.values()):
        return None
    return {"group_by": group_by, **{w: v for w, v in sets.items() if v is not None}}


def summary(images: Sequence[str | None] | None) -> dict | None:
    """What a report records of a set's images: how many, and layouts per image
    (``None`` when no layout's image is known)."""
    if not images or not any(images):
        return None
    per: dict[str, int] = {}
    for im in images:
        key = im or "(unknown)"
        per[key] = per.get(key, 0) + 1
    sizes = sorted(per.values())
    return {
        "n_images": len(per),
        "layouts_per_image": {"min": sizes[0], "median": sizes[len(sizes) // 2], "max": sizes[-1]},
        "images": dict(sorted(per.items())),
    }

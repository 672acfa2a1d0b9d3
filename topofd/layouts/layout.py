"""The one data model: a multi-class cell layout as per-class point clouds.

Every reader produces a :class:`Layout`; every metric consumes the arrays it
holds.  Coordinates are ``(row, col)`` pixel positions of cell centres, in
float64, one ``(n_c, 2)`` array per class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from topofd.layouts.masks import centres_from_mask, mask_centres

__all__ = [
    "Layout",
    "default_class_names",
    "centres_from_mask",
    "mask_centres",
    "extent_of",
    "max_extent",
    "CLASS_ORIGINS",
    "LABELS",
]

# Where a layout's class names come from, which decides how two sets can be
# matched (:func:`topofd.layouts.sets.match_sets`):
#   "default"    placeholders ``class1..classC``: the classes are known by position only;
#   "positional" real names attached by position (given by the user, or a
#                format's fixed order such as BRCA-M2C's lym, epi, stro);
#   "content"    names read from the file itself (point-table or GeoJSON class
#                names), in alphabetical order: the order carries no meaning.
CLASS_ORIGINS = ("default", "positional", "content")
# How array values are read (``Layout.from_array(labels=...)``)
LABELS = ("mask", "instance")


def default_class_names(n: int) -> tuple[str, ...]:
    return tuple(f"class{i + 1}" for i in range(n))


def _check_on_canvas(coords: np.ndarray, shape, where: str = "") -> None:
    if not len(coords):
        return
    out = (coords < 0).any(axis=1)
    what = "negative coordinates"
    if not out.any() and shape is not None:
        out = (coords[:, 0] > shape[0]) | (coords[:, 1] > shape[1])
        what = f"coordinates outside the {shape[0]}x{shape[1]} canvas"
    if out.any():
        i = int(np.flatnonzero(out)[0])
        y, x = coords[i]
        raise ValueError(f"{where}{int(out.sum())} cell(s) with {what} (first: x={x:g}, y={y:g})")


def _instance_centres(stack: np.ndarray) -> list[np.ndarray]:
    """Centres of instance-labelled channels: each positive id is one cell."""
    out = []
    for ch in stack:
        ids = ch.ravel()
        keep = ids > 0
        if not keep.any():
            out.append(np.zeros((0, 2)))
            continue
        uniq, inv = np.unique(ids[keep], return_inverse=True)
        pos = np.flatnonzero(keep)
        r, c = np.divmod(pos, ch.shape[1])
        cnt = np.bincount(inv)
        out.append(np.stack([np.bincount(inv, r) / cnt, np.bincount(inv, c) / cnt], axis=1))
    return out


@dataclass(frozen=True)
class Layout:
    """Per-class cell centres of one layout.

    Attributes
    ----------
    points : tuple of ``(n_c, 2)`` float64 arrays, ``(row, col)`` per class.
    classes : class names, one per entry of ``points``.
    shape : ``(H, W)`` of the canvas, or ``None`` when unknown.
    name : identifier used for pairing and reporting (usually the file stem).
    source : the file it was read from (for messages).
    class_origin : where the class names come from, one of
        :data:`CLASS_ORIGINS`; left empty (what every constructor but the
        point-table and GeoJSON readers does), it is ``"default"`` when the
        names are ``class1..classC`` and ``"positional"`` otherwise.
    duplicates : exact duplicate cells (same x, y and class) the point
        readers found and kept once (:meth:`from_labelled_points`).
    """

    points: tuple[np.ndarray, ...]
    classes: tuple[str, ...]
    shape: tuple[int, int] | None = None
    name: str = ""
    source: str = field(default="", compare=False)
    class_origin: str = field(default="", compare=False)
    duplicates: int = field(default=0, compare=False)

    def __post_init__(self):
        pts = []
        for k, p in enumerate(self.points):
            a = np.asarray(p, dtype=np.float64)
            if a.size == 0:
                a = a.reshape(0, 2)
            if a.ndim != 2 or a.shape[1] != 2:
                raise ValueError(f"{self._where()}class {k}: points must have shape (n, 2), got {a.shape}")
            if not np.isfinite(a).all():
                raise ValueError(f"{self._where()}class {k}: NaN or infinite coordinates")
            a.setflags(write=False)
            pts.append(a)
        object.__setattr__(self, "points", tuple(pts))
        classes = tuple(str(c) for c in self.classes)
        if len(classes) != len(pts):
            raise ValueError(f"{self._where()}{len(pts)} point sets but {len(classes)} class names")
        object.__setattr__(self, "classes", classes)
        if self.shape is not None:
            object.__setattr__(self, "shape", (int(self.shape[0]), int(self.shape[1])))
        origin = self.class_origin or ("default" if classes == default_class_names(len(classes)) else "positional")
        if origin not in CLASS_ORIGINS:
            raise ValueError(f"class_origin must be one of {', '.join(CLASS_ORIGINS)}, not {origin!r}")
        object.__setattr__(self, "class_origin", origin)

    def _where(self) -> str:
        src = self.source or self.name
        return f"{src}: " if src else ""

    # ------------------------------------------------------------------ build
    @classmethod
    def from_array(
        cls,
        array: np.ndarray,
        classes: Sequence[str] | None = None,
        *,
        channels: str = "auto",
        threshold: float | None = None,
        labels: str = "mask",
        name: str = "",
        source: str = "",
    ) -> Layout:
        """Layout from a layout array.

        ``channels``: ``"last"`` for ``(H, W, C)`` (the published ``.npy``
        format), ``"first"`` for ``(C, H, W)``, ``"auto"`` to decide by the
        smaller axis (ties go to channels-last).  A 2-D array is one class.

        Values, with ``labels="mask"`` (the default): every channel is a
        binary mask, split into 4-connected components (one cell each, centre
        of mass).  A bool channel, or an integer channel with one non-zero
        value (0/1, 0/255, 0/k), is a mask; a float channel must hold only 0
        and 1.  Anything else raises ``ValueError`` unless ``threshold`` is
        given (``value > threshold`` is foreground).  ``labels="instance"``:
        integer channels are instance-label maps, each positive id one cell
        (centre = mean of its pixels), connected or not.
        """
        where = f"{source or name}: " if (source or name) else ""
        if labels not in LABELS:
            raise ValueError(f"labels must be one of {', '.join(LABELS)}, not {labels!r}")
        if labels == "instance" and threshold is not None:
            raise ValueError("a threshold and instance labels exclude each other: ids are not grey levels")
        a = np.asarray(array)
        if a.ndim == 2:
            a = a[None]
            channels = "first"
        if a.ndim != 3:
            raise ValueError(f"{where}layout array must be 2-D or 3-D, got shape {a.shape}")
        if channels == "auto":
            channels = "first" if a.shape[0] < a.shape[-1] else "last"
        if channels == "last":
            a = np.moveaxis(a, -1, 0)
        elif channels != "first":
            raise ValueError(f"channels must be 'auto', 'first' or 'last', not {channels!r}")
        if a.size == 0:
            raise ValueError(f"{where}layout array has an empty axis (C, H, W = {a.shape})")
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{where}layout array has non-numeric dtype {a.dtype}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ValueError(f"{where}layout array contains NaN or infinite values")
        if threshold is not None:
            a = a > threshold
        if a.dtype != bool and a.dtype.kind != "u":  # unsigned values are never negative
            lo = a.min()
            if lo < 0:
                raise ValueError(f"{where}layout array has negative values (min {lo:g}); pass a threshold")
        if labels == "instance":
            if a.dtype.kind == "f" and not np.array_equal(a, np.floor(a)):
                raise ValueError(f"{where}instance labels must be integers, found fractional values")
            centres = _instance_centres(a)
        else:
            centres = mask_centres(a, where)
        C = len(centres)
        names = tuple(classes) if classes is not None else default_class_names(C)
        if len(names) != C:
            raise ValueError(f"{where}layout has {C} channels but {len(names)} class names were given")
        return cls(tuple(centres), names, (a.shape[1], a.shape[2]), name, source)

    @classmethod
    def from_labelled_points(
        cls,
        coords: np.ndarray,
        labels: np.ndarray,
        classes: Sequence[str],
        *,
        shape: tuple[int, int] | None = None,
        name: str = "",
        source: str = "",
        class_origin: str = "",
    ) -> Layout:
        """Layout from ``(n, 2)`` ``(row, col)`` pixel coordinates and integer
        class indices ``0..C-1`` (one per point).

        Coordinates must lie on the canvas: none negative, and with ``shape``
        ``(H, W)`` given, ``row <= H`` and ``col <= W`` (the far edge is
        allowed: continuous coordinates of a cell at the border reach it);
        otherwise ``ValueError`` naming the first offending cell as ``x``
        (column) and ``y`` (row), the way point files write them.

        Exact duplicate points (same coordinates and class) are one cell
        listed twice: they are kept once (a mask holds such a cell once too),
        and their number is recorded in :attr:`duplicates` — one rule for
        every point format (csv/tsv, BRCA ``.txt``, GeoJSON, ``.mat``).
        """
        where = f"{source or name}: " if (source or name) else ""
        coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(coords):
            raise ValueError(f"{where}{len(coords)} points but {len(labels)} labels")
        C = len(classes)
        if len(labels) and (labels.min() < 0 or labels.max() >= C):
            raise ValueError(f"{where}class index outside 0..{C - 1}")
        if not np.isfinite(coords).all():
            raise ValueError(f"{where}NaN or infinite coordinates")
        _check_on_canvas(coords, shape, where)
        dup = 0
        if len(coords) > 1:
            key = np.column_stack([coords, labels.astype(np.float64)])
            _, first = np.unique(key, axis=0, return_index=True)
            if len(first) < len(coords):
                keep = np.sort(first)  # file order of the first occurrences
                dup = len(coords) - len(keep)
                coords, labels = coords[keep], labels[keep]
        return cls(tuple(coords[labels == k] for k in range(C)), tuple(classes), shape, name, source, class_origin, dup)

    # ---------------------------------------------------------------- derived
    @property
    def n_classes(self) -> int:
        return len(self.points)

    @property
    def counts(self) -> np.ndarray:
        """Number of cells per class."""
        return np.array([len(p) for p in self.points], dtype=np.int64)

    def with_classes(self, classes: Sequence[str], order: Sequence[int] | None = None) -> Layout:
        """The same cells under new class names (positional, as given);
        ``order``: the old class index of each new class (reorders)."""
        pts = self.points if order is None else tuple(self.points[i] for i in order)
        return Layout(pts, tuple(classes), self.shape, self.name, self.source, duplicates=self.duplicates)

    def to_array(self, cell: int = 3, channels: str = "last", dtype=np.uint8) -> np.ndarray:
        """Rasterise: value 1 on a ``cell`` x ``cell`` square around each
        (rounded) centre, clipped at the canvas border (the published format)."""
        if self.shape is None:
            raise ValueError(f"{self._where()}layout has no canvas shape")
        H, W = self.shape
        out = np.zeros((self.n_classes, H, W), dtype=dtype)
        lo, hi = -(cell // 2), cell - cell // 2
        for k, p in enumerate(self.points):
            if len(p) == 0:
                continue
            rc = np.rint(p).astype(np.int64)
            for dr in range(lo, hi):
                for dc in range(lo, hi):
                    r, c = rc[:, 0] + dr, rc[:, 1] + dc
                    ok = (r >= 0) & (r < H) & (c >= 0) & (c < W)
                    out[k, r[ok], c[ok]] = 1
        return np.moveaxis(out, 0, -1) if channels == "last" else out

    def __repr__(self) -> str:
        cnt = ", ".join(f"{c}={n}" for c, n in zip(self.classes, self.counts))
        return f"Layout({self.name!r}, shape={self.shape}, {cnt})"


def max_extent(a, b):
    """The larger of two ``(row, col)`` extents (``None``: unknown)."""
    if a is None or b is None:
        return a if b is None else b
    return (max(a[0], b[0]), max(a[1], b[1]))


def extent_of(layouts: Sequence[Layout]):
    """Largest ``(row, col)`` of any cell of ``layouts`` (``None``: no cell)."""
    pts = [p for l in layouts for p in l.points if len(p)]
    return tuple(float(x) for x in np.max([p.max(axis=0) for p in pts], axis=0)) if pts else None

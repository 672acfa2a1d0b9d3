"""The one data model: a multi-class cell layout as per-class point clouds.

Every reader produces a :class:`Layout`; every metric consumes the arrays it
holds.  Coordinates are ``(row, col)`` pixel positions of cell centres, in
float64, one ``(n_c, 2)`` array per class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

__all__ = ["Layout", "default_class_names", "centres_from_mask", "mask_centres", "CLASS_ORIGINS", "LABELS"]

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


# 4-connectivity inside each channel and none across channels, so that a
# single ``ndimage.label`` call labels a whole ``(C, H, W)`` stack exactly as
# one call per channel with scipy's default structure would.
_STACK_STRUCTURE = np.zeros((3, 3, 3), dtype=bool)
_STACK_STRUCTURE[1] = ndimage.generate_binary_structure(2, 1)


def centres_from_mask(stack: np.ndarray) -> list[np.ndarray]:
    """Cell centres of a ``(C, H, W)`` layout stack, per channel.

    The published protocol: connected components of each channel with
    ``scipy.ndimage.label``'s default (4-connected) structure, centre =
    ``scipy.ndimage.center_of_mass`` of the channel's values over each
    component.  Done for all channels and components at once with
    ``np.bincount``, which is what ``center_of_mass`` itself sums with, so the
    centres are the same numbers.
    """
    stack = np.asarray(stack)
    C, H, W = stack.shape
    labels, n = ndimage.label(stack != 0, structure=_STACK_STRUCTURE)
    if n == 0:
        return [np.zeros((0, 2)) for _ in range(C)]
    # only foreground pixels matter; keeping them in scan order keeps every
    # per-label sum in the same order as center_of_mass's dense bincount
    pos = np.flatnonzero(labels)
    lab = labels.ravel()[pos]
    weights = stack.ravel()[pos].astype(np.float64)
    rows = (pos // W) % H
    cols = pos % W
    mass = np.bincount(lab, weights=weights, minlength=n + 1)[1:]
    r = np.bincount(lab, weights=weights * rows, minlength=n + 1)[1:] / mass
    c = np.bincount(lab, weights=weights * cols, minlength=n + 1)[1:] / mass
    channel = np.empty(n, dtype=np.int64)
    channel[lab - 1] = pos // (H * W)
    centres = np.stack([r, c], axis=1)
    return [centres[channel == k] for k in range(C)]


def _as_mask(stack: np.ndarray, where: str = "") -> np.ndarray:
    """The foreground of a ``(C, H, W)`` stack read as binary masks (see
    :meth:`Layout.from_array`), as bool; ``ValueError`` if it is not one.

    A 0/1 stack gives the same centres as the bool (the weights of the centre
    of mass are the same ones), so binary inputs keep their published centres.
    """
    if stack.dtype == bool:
        return stack
    fg = stack != 0
    if stack.dtype.kind == "f":
        bad = fg & (stack != 1)
        if bad.any():
            k = int(np.flatnonzero(bad.any(axis=(1, 2)))[0])
            lo, hi = stack[k].min(), stack[k].max()
            raise ValueError(
                f"{where}layout array is not binary (channel {k + 1} has values in [{lo:g}, {hi:g}]); pass a threshold"
            )
        return fg
    top = stack.max(axis=(1, 2))
    # smallest non-zero value per channel (top where the channel is empty)
    low = np.min(stack, axis=(1, 2), where=fg, initial=np.iinfo(stack.dtype).max)
    multi = fg.any(axis=(1, 2)) & (low != top)
    if multi.any():
        k = int(np.flatnonzero(multi)[0])
        n = len(np.unique(stack[k][fg[k]]))
        raise ValueError(
            f"{where}channel {k + 1} holds {n} different non-zero values, so it is not a binary mask: "
            "for instance-label maps pass labels='instance' (--instances), for grey levels a threshold"
        )
    return fg


def _foreground(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-zero pixels of a ``(C, H, W)`` stack: their flat indices in
    ``(C, H, W)`` scan order (channel by channel, rows, columns) and their
    values, in one pass over the array, in whichever memory order it has (a
    channels-last file is not transposed)."""
    C, H, W = stack.shape
    hwc = np.moveaxis(stack, 0, -1)
    if C > 1 and hwc.flags.c_contiguous:
        flat = hwc.reshape(-1)
        q = _flatnonzero(flat)
        pos = (q % C) * (H * W) + q // C
        order = np.argsort(pos, kind="stable")
        q, pos = q[order], pos[order]
        return pos, flat[q]
    flat = np.ascontiguousarray(stack).reshape(-1)
    pos = _flatnonzero(flat)
    return pos, flat[pos]


def _flatnonzero(flat: np.ndarray) -> np.ndarray:
    """``np.flatnonzero`` of a contiguous 1-D array; one-byte values are
    scanned eight at a time (a layout's foreground is sparse)."""
    if flat.dtype.itemsize != 1 or flat.size % 8 or flat.size < 64:
        return np.flatnonzero(flat)
    words = np.flatnonzero(flat.view(np.uint8).view(np.uint64))
    inner = np.flatnonzero(flat.view(np.uint8).reshape(-1, 8)[words])
    return words[inner // 8] * 8 + inner % 8


def _check_mask_values(stack: np.ndarray, pos: np.ndarray, values: np.ndarray, where: str = "") -> None:
    """:func:`_as_mask`'s checks (same errors, same messages) from the
    foreground pixels alone."""
    if stack.dtype == bool or not len(values):
        return
    HW = stack.shape[1] * stack.shape[2]
    if stack.dtype.kind == "f":
        bad = values != 1
        if bad.any():
            k = int(pos[np.argmax(bad)] // HW)
            lo, hi = stack[k].min(), stack[k].max()
            raise ValueError(
                f"{where}layout array is not binary (channel {k + 1} has values in [{lo:g}, {hi:g}]); pass a threshold"
            )
        return
    if values.min() == values.max():
        return
    ch = pos // HW
    bounds = np.searchsorted(ch, np.arange(stack.shape[0] + 1))
    for k in range(stack.shape[0]):
        v = values[bounds[k] : bounds[k + 1]]
        if len(v) and v.min() != v.max():
            n = len(np.unique(v))
            raise ValueError(
                f"{where}channel {k + 1} holds {n} different non-zero values, so it is not a binary mask: "
                "for instance-label maps pass labels='instance' (--instances), for grey levels a threshold"
            )


def _sparse_labels(pos: np.ndarray, shape) -> np.ndarray:
    """Labels ``1..n`` of the 4-connected components (within a channel) of the
    foreground pixels ``pos`` (sorted flat ``(C, H, W)`` indices), numbered by
    first pixel in scan order: ``ndimage.label(stack != 0,
    _STACK_STRUCTURE)[0].ravel()[pos]``, found from the foreground alone."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    _, H, W = shape
    n = len(pos)
    src, dst = [], []
    for step, ok in ((1, pos % W != W - 1), (W, (pos // W) % H != H - 1)):
        j = np.minimum(np.searchsorted(pos, pos + step), n - 1)
        hit = ok & (pos[j] == pos + step)
        src.append(np.flatnonzero(hit))
        dst.append(j[hit])
    src, dst = np.concatenate(src), np.concatenate(dst)
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    # renumber by first pixel (pos is in scan order)
    first = np.full(comp.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, comp, np.arange(n))
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(1, len(first) + 1)
    return rank[comp]


def _centres_from_foreground(pos: np.ndarray, values: np.ndarray, shape) -> list[np.ndarray]:
    """:func:`centres_from_mask` from the foreground pixels alone: the same
    components, numbered alike, summed in the same order, so the same
    numbers."""
    C, H, W = shape
    if len(pos) == 0:
        return [np.zeros((0, 2)) for _ in range(C)]
    lab = _sparse_labels(pos, shape)
    n = int(lab.max())
    weights = np.ones(len(pos))  # the bool mask's weights, as centres_from_mask(_as_mask(...)) has them
    rows = (pos // W) % H
    cols = pos % W
    mass = np.bincount(lab, weights=weights, minlength=n + 1)[1:]
    r = np.bincount(lab, weights=weights * rows, minlength=n + 1)[1:] / mass
    c = np.bincount(lab, weights=weights * cols, minlength=n + 1)[1:] / mass
    channel = np.empty(n, dtype=np.int64)
    channel[lab - 1] = pos // (H * W)
    centres = np.stack([r, c], axis=1)
    return [centres[channel == k] for k in range(C)]


def mask_centres(stack: np.ndarray, where: str = "") -> list[np.ndarray]:
    """Cell centres of a ``(C, H, W)`` binary-mask stack with the checks of
    :func:`_as_mask`: the same centres and errors as
    ``centres_from_mask(_as_mask(stack))``, in about one pass over the
    array (the foreground of a layout is a few percent of its pixels)."""
    pos, values = _foreground(stack)
    _check_mask_values(stack, pos, values, where)
    if len(pos) * 8 > stack.size:  # dense foreground: the image labeller is the faster one
        return centres_from_mask(_as_mask(stack, where))
    return _centres_from_foreground(pos, values, stack.shape)


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

"""The one data model: a multi-class cell layout as per-class point clouds.

Every reader produces a :class:`Layout`; every metric consumes the arrays it
holds.  Coordinates are ``(row, col)`` pixel positions of cell centres, in
float64, one ``(n_c, 2)`` array per class.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy import ndimage

__all__ = ["Layout", "default_class_names", "centres_from_mask"]


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
    """

    points: tuple[np.ndarray, ...]
    classes: tuple[str, ...]
    shape: tuple[int, int] | None = None
    name: str = ""
    source: str = field(default="", compare=False)

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
        name: str = "",
        source: str = "",
    ) -> "Layout":
        """Layout from a layout array.

        ``channels``: ``"last"`` for ``(H, W, C)`` (the published ``.npy``
        format), ``"first"`` for ``(C, H, W)``, ``"auto"`` to decide by the
        smaller axis (ties go to channels-last).  A 2-D array is one class.

        Values: binary (0/1 or bool) channels are split into 4-connected
        components; integer channels with values above 1 are instance labels
        (each positive id one cell).  Other values raise ``ValueError`` unless
        ``threshold`` is given (``value > threshold`` is foreground).
        """
        where = f"{source or name}: " if (source or name) else ""
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
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{where}layout array has non-numeric dtype {a.dtype}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ValueError(f"{where}layout array contains NaN or infinite values")
        if threshold is not None:
            a = a > threshold
        if a.dtype == bool or a.size == 0:
            centres = centres_from_mask(a)
        else:
            lo, hi = a.min(), a.max()
            if lo < 0:
                raise ValueError(f"{where}layout array has negative values (min {lo}); pass a threshold")
            if hi <= 1 and (a.dtype.kind != "f" or np.isin(a, (0, 1)).all()):
                centres = centres_from_mask(a)
            elif a.dtype.kind in "iu":
                centres = _instance_centres(a)
            else:
                raise ValueError(
                    f"{where}layout array is not binary (values in [{lo:g}, {hi:g}]); pass a threshold"
                )
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
    ) -> "Layout":
        """Layout from ``(n, 2)`` ``(row, col)`` coordinates and integer class
        indices ``0..C-1`` (one per point)."""
        coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(coords):
            raise ValueError(f"{source or name}: {len(coords)} points but {len(labels)} labels")
        C = len(classes)
        if len(labels) and (labels.min() < 0 or labels.max() >= C):
            raise ValueError(f"{source or name}: class index outside 0..{C - 1}")
        return cls(tuple(coords[labels == k] for k in range(C)), tuple(classes), shape, name, source)

    # ---------------------------------------------------------------- derived
    @property
    def n_classes(self) -> int:
        return len(self.points)

    @property
    def counts(self) -> np.ndarray:
        """Number of cells per class."""
        return np.array([len(p) for p in self.points], dtype=np.int64)

    def with_classes(self, classes: Sequence[str]) -> "Layout":
        return Layout(self.points, tuple(classes), self.shape, self.name, self.source)

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

"""The per-layout state a comparison keeps: for each set, every layout's
name, content key, per-class cell counts and per-class H1 diagrams
(:class:`SetState`, appended to batch by batch), and the same set in compute
order (:class:`SetView`, what the metric plug-ins read)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from topofd.layouts.layout import Layout

__all__ = ["SetState", "SetView", "max_extent", "extent_of"]

ORIGIN_RANK = ("content", "positional", "default")  # where class names come from, most trusted first


def max_extent(a, b):
    """The larger of two ``(row, col)`` extents (``None``: unknown)."""
    if a is None or b is None:
        return a if b is None else b
    return (max(a[0], b[0]), max(a[1], b[1]))


def extent_of(layouts: Sequence[Layout]):
    """Largest ``(row, col)`` of any cell of ``layouts`` (``None``: no cell)."""
    pts = [p for l in layouts for p in l.points if len(p)]
    return tuple(float(x) for x in np.max([p.max(axis=0) for p in pts], axis=0)) if pts else None


@dataclass
class SetState:
    """One set's per-layout state (a name ``None``: named by arrival index)."""

    names: list = field(default_factory=list)
    keys: list = field(default_factory=list)
    counts: list = field(default_factory=list)
    diagrams: list = field(default_factory=list)
    classes: tuple | None = None
    origin: str = "default"  # where the class names come from (topofd.layouts.layout.CLASS_ORIGINS)
    shapes: dict = field(default_factory=dict)  # canvas (H, W) -> number of layouts
    extent: tuple | None = None  # largest (row, col) of any cell
    array_shape: tuple | None = None  # canvas of array batches: one per set
    sources: list = field(default_factory=list)
    points: list = field(default_factory=list)  # per layout its cells per class; kept only when a metric needs them

    def __len__(self) -> int:
        return len(self.keys)

    def extend(self, other: SetState) -> None:
        for f in ("names", "keys", "counts", "diagrams", "sources", "points"):
            getattr(self, f).extend(getattr(other, f))
        for k, n in other.shapes.items():
            self.shapes[k] = self.shapes.get(k, 0) + n
        self.extent = max_extent(self.extent, other.extent)
        self.array_shape = self.array_shape or other.array_shape

    def adopt(self, classes, origin) -> None:
        if self.classes is None:
            self.classes = classes
        self.origin = next(o for o in ORIGIN_RANK if o in (self.origin, origin))

    @classmethod
    def from_reference(cls, r, default_classes) -> SetState:
        """The state of a loaded reference set ``r`` (:class:`topofd.storage.reference.Reference`);
        ``default_classes``: the default names of its number of classes."""
        classes = tuple(r.classes)
        return cls(
            names=list(r.names),
            keys=list(r.keys),
            counts=list(r.counts),
            diagrams=r.diagrams,
            classes=classes,
            origin=r.meta.get("class_origin") or ("default" if classes == default_classes else "positional"),
            shapes={r.shape: len(r.keys)} if r.shape else {},
            sources=list(r.names),
        )

    def view(self, synthetic: bool) -> SetView:
        """The set in compute order: sorted by name (stable), unnamed layouts
        named by arrival index (``0000000``, …; synthetic ``0000000_gen``)."""
        suffix = "_gen" if synthetic else ""
        names = [n if n is not None else f"{i:07d}{suffix}" for i, n in enumerate(self.names)]
        order = sorted(range(len(names)), key=lambda i: names[i])
        counts = np.array([self.counts[i] for i in order]).reshape(len(order), -1)
        points = [self.points[i] for i in order] if len(self.points) == len(self.keys) else None
        return SetView(
            [names[i] for i in order], [self.keys[i] for i in order], counts, [self.diagrams[i] for i in order], points
        )


@dataclass
class SetView:
    """A set in compute order: names, content keys, ``(n, C)`` counts,
    diagrams ``[layout][class]`` and, when kept (a metric needs them), the
    cells ``[layout][class] -> (n, 2)`` (``None``: not kept)."""

    names: list
    keys: list
    counts: np.ndarray
    diagrams: list
    points: list | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def cls(self, k: int, idx=None) -> list:
        """The H1 diagrams of class ``k`` (of the layouts ``idx``)."""
        rows = self.diagrams if idx is None else [self.diagrams[i] for i in idx]
        return [d[k] for d in rows]

    def subset(self, idx) -> SetView:
        idx = list(idx)
        return SetView(
            [self.names[i] for i in idx],
            [self.keys[i] for i in idx],
            self.counts[idx],
            [self.diagrams[i] for i in idx],
            [self.points[i] for i in idx] if self.points is not None else None,
        )

    def reordered(self, order) -> SetView:
        """The set with its classes in ``order`` (old index per new class)."""
        if order is None:
            return self
        pts = [[p[k] for k in order] for p in self.points] if self.points is not None else None
        return SetView(
            self.names, self.keys, self.counts[:, order], [[d[k] for k in order] for d in self.diagrams], pts
        )

    @classmethod
    def from_diagrams(cls, diagrams, counts=None, names=None) -> SetView:
        """A view of layouts known by their diagrams ``[layout][class]`` (counts default to 0)."""
        dg = [[np.asarray(d, np.float64).reshape(-1, 2) for d in row] for row in diagrams]
        C = len(dg[0]) if dg else 0
        cnt = np.zeros((len(dg), C), np.int64) if counts is None else np.asarray(counts, np.int64).reshape(len(dg), C)
        nm = list(names) if names is not None else [f"{i:07d}" for i in range(len(dg))]
        return cls(nm, nm, cnt, dg)

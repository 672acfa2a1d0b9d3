"""The per-layout state a comparison keeps: for each set, every layout's
name, content key, per-class cell counts and per-class H1 diagrams
(:class:`SetState`, appended to batch by batch), and the same set in compute
order (:class:`SetView`, what the metric plug-ins read)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from topofd.layouts.images import images_of_names
from topofd.layouts.layout import default_class_names, extent_of, max_extent
from topofd.storage.keys import diagrams_key

__all__ = ["SetState", "SetView", "max_extent", "extent_of"]

ORIGIN_RANK = ("content", "positional", "default")  # where class names come from, most trusted first


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
    canvases: list = field(default_factory=list)  # per layout its (H, W) or None, kept with the points
    images: list = field(default_factory=list)  # per layout its source image, None when unknown

    def __len__(self) -> int:
        return len(self.keys)

    def extend(self, other: SetState) -> None:
        self.images = self.image_list() + other.image_list()
        for f in ("names", "keys", "counts", "diagrams", "sources", "points", "canvases"):
            getattr(self, f).extend(getattr(other, f))
        for k, n in other.shapes.items():
            self.shapes[k] = self.shapes.get(k, 0) + n
        self.extent = max_extent(self.extent, other.extent)
        self.array_shape = self.array_shape or other.array_shape

    def image_list(self) -> list:
        """Each layout's image (``None``: unknown), as long as the set (a state
        pickled before images were kept has none)."""
        have = list(getattr(self, "images", []))
        return have + [None] * (len(self.keys) - len(have))

    def adopt(self, classes, origin) -> None:
        if self.classes is None:
            self.classes = classes
        self.origin = next(o for o in ORIGIN_RANK if o in (self.origin, origin))

    @classmethod
    def from_reference(cls, r, default_classes, group_by="auto") -> SetState:
        """The state of a loaded reference set ``r`` (:class:`topofd.storage.reference.Reference`);
        ``default_classes``: the default names of its number of classes; images it does not store
        come from its names under ``group_by`` (:func:`topofd.layouts.images.images_of_names`)."""
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
            images=images_of_names(list(r.names), list(getattr(r, "images", None) or [None] * len(r.keys)), group_by),
        )

    def check_compatible(self, classes, array_shape, what: str) -> None:
        """``ValueError`` unless a batch of ``classes`` (and canvas ``array_shape``
        for arrays) can join this set (``what`` names it in the message)."""
        if self.classes is not None:
            if len(classes) != len(self.classes):
                raise ValueError(
                    f"{what} has {len(classes)} classes, earlier layouts of this set have {len(self.classes)}"
                )
            if classes != self.classes and self.origin != "default" and classes != default_class_names(len(classes)):
                raise ValueError(f"{what} classes {list(classes)} differ from {list(self.classes)}")
        # arrays from a generator come at one size; folders (Lizard) may mix sizes, with a note
        if array_shape is not None and self.array_shape is not None and array_shape != self.array_shape:
            raise ValueError(
                f"{what} canvas {array_shape} differs from {self.array_shape} of earlier batches of this set"
            )

    def add_layouts(self, layouts, keys, diagrams, classes, origin, array_shape, *, keep_points: bool) -> None:
        """Append checked layouts with their content keys and diagrams."""
        self.adopt(classes, origin)
        self.array_shape = self.array_shape or array_shape
        for l in layouts:
            if l.shape is not None:
                self.shapes[l.shape] = self.shapes.get(l.shape, 0) + 1
        self.extent = max_extent(self.extent, extent_of(layouts))
        self.names.extend(l.name or None for l in layouts)
        self.keys.extend(keys)
        self.counts.extend(l.counts for l in layouts)
        self.diagrams.extend(diagrams)
        self.sources.extend(l.source or l.name for l in layouts)
        self.images = self.image_list()[: len(self.keys) - len(layouts)] + [l.image or None for l in layouts]
        if keep_points:
            self.points.extend(l.points for l in layouts)
            self.canvases.extend(l.shape for l in layouts)

    def add_diagrams(
        self, diagrams, counts, *, names=None, keys=None, classes=None, shape=None, points=None, images=None
    ) -> None:
        """Append layouts known by their H1 diagrams ``[layout][class]`` and
        per-class ``counts`` ``(n, C)``; ``keys`` default to digests of the
        diagrams, ``classes`` to ``class1..classC``; ``images`` the source
        image of each (``None``: unknown)."""
        dgms = [[np.asarray(d, np.float64).reshape(-1, 2) for d in row] for row in diagrams]
        counts = np.asarray(counts, np.int64).reshape(len(dgms), -1)
        C = counts.shape[1]
        if any(len(row) != C for row in dgms):
            raise ValueError(f"diagrams must have one entry per class ({C}) for every layout")
        classes = tuple(classes) if classes is not None else default_class_names(C)
        if len(classes) != C:
            raise ValueError(f"{len(classes)} class names for {C} classes")
        origin = "default" if classes == default_class_names(C) else "positional"
        self.check_compatible(classes, None, "batch")
        keys = list(keys) if keys is not None else [diagrams_key(row) for row in dgms]
        images = list(images) if images is not None else [None] * len(dgms)
        if names is not None and len(names) != len(dgms) or len(keys) != len(dgms) or len(images) != len(dgms):
            raise ValueError("names, keys and images must have one entry per layout")
        self.adopt(classes, origin)
        if shape is not None:
            self.shapes[tuple(shape)] = self.shapes.get(tuple(shape), 0) + len(dgms)
        self.names.extend(list(names) if names is not None else [None] * len(dgms))
        self.keys.extend(keys)
        self.counts.extend(counts)
        self.diagrams.extend(dgms)
        self.sources.extend(list(names) if names is not None else [""] * len(dgms))
        if points is not None:
            self.points.extend(points)
            self.canvases.extend([tuple(shape) if shape is not None else None] * len(dgms))
        self.images = self.image_list()[: len(self.keys) - len(dgms)] + [str(i) if i else None for i in images]

    def view(self, synthetic: bool) -> SetView:
        """The set in compute order: sorted by name (stable), unnamed layouts
        named by arrival index (``0000000``, …; synthetic ``0000000_gen``)."""
        suffix = "_gen" if synthetic else ""
        names = [n if n is not None else f"{i:07d}{suffix}" for i, n in enumerate(self.names)]
        order = sorted(range(len(names)), key=lambda i: names[i])
        counts = np.array([self.counts[i] for i in order]).reshape(len(order), -1)
        kept = len(self.points) == len(self.keys)
        points = [self.points[i] for i in order] if kept else None
        canvases = [self.canvases[i] for i in order] if kept and len(self.canvases) == len(self.keys) else None
        images = self.image_list()
        return SetView(
            [names[i] for i in order],
            [self.keys[i] for i in order],
            counts,
            [self.diagrams[i] for i in order],
            points,
            canvases,
            [images[i] for i in order] if any(images) else None,
        )


@dataclass
class SetView:
    """A set in compute order: names, content keys, ``(n, C)`` counts,
    diagrams ``[layout][class]`` and, when kept (a metric needs them), the
    cells ``[layout][class] -> (n, 2)`` (``None``: not kept) with each
    layout's canvas ``(H, W)`` (``None``: unknown), and each layout's
    source image (``images``; ``None`` when no layout's image is known, else
    ``None`` entries for the unknown ones)."""

    names: list
    keys: list
    counts: np.ndarray
    diagrams: list
    points: list | None = None
    canvases: list | None = None
    images: list | None = None

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
            [self.canvases[i] for i in idx] if self.canvases is not None else None,
            [self.images[i] for i in idx] if self.images is not None else None,
        )

    def reordered(self, order) -> SetView:
        """The set with its classes in ``order`` (old index per new class)."""
        if order is None:
            return self
        pts = [[p[k] for k in order] for p in self.points] if self.points is not None else None
        dg = [[d[k] for k in order] for d in self.diagrams]
        return SetView(self.names, self.keys, self.counts[:, order], dg, pts, self.canvases, self.images)

    def image_labels(self) -> np.ndarray | None:
        """An integer per layout, equal for layouts of one image (a layout of
        unknown image is its own image); ``None`` when no image is known."""
        if not self.images or not any(self.images):
            return None
        ids = [im if im else f"\0{i}" for i, im in enumerate(self.images)]
        return np.unique(ids, return_inverse=True)[1].astype(np.int64)

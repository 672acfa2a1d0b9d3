"""Training data: random crops of full-image multi-class layouts with their
per-class cell counts (TopoCellGen Sec. 4 / Suppl. Sec. 10: random 256x256
crops with random horizontal and vertical flips; the condition is the count of
cells whose centre lies inside the crop).

Pure numpy (no torch), with a checkpointable random state.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from topofd import Layout
from topofd.layouts.patches import read_sizes, read_split
from topofd.layouts.readers.brca import SUFFIX, read_image
from topofd.layouts.sets import read_layouts

__all__ = ["LayoutCrops", "read_training_layouts"]


def read_training_layouts(cfg_data: dict) -> list[Layout]:
    """The layouts of ``data.root`` for ``data.split`` (all when null).

    ``format: brca``: ``labels/<stem>_gt_class_coords.txt`` sized by
    ``image_sizes.tsv``; any other format: every file of ``root`` that
    :func:`topofd.layouts.sets.read_layouts` reads in that format (e.g. ``mat`` for
    Lizard/CoNSeP), which must carry a canvas shape.
    """
    root, classes = Path(cfg_data["root"]), tuple(cfg_data["classes"])
    if not root.is_dir():
        raise ValueError(f"{root}: data folder not found")
    split = cfg_data.get("split")
    stems = set(read_split(root / split)) if split else None
    if cfg_data["format"] == "brca":
        if not (root / "image_sizes.tsv").is_file() or not (root / "labels").is_dir():
            raise ValueError(f"{root}: a brca data folder needs image_sizes.tsv and labels/")
        sizes = read_sizes(root / "image_sizes.tsv")
        files = sorted((root / "labels").glob(f"*{SUFFIX}.txt"))
        layouts = []
        for f in files:
            stem = f.name[: -len(SUFFIX) - 4]
            if stems is not None and stem not in stems:
                continue
            if stem not in sizes:
                raise ValueError(f"{f}: image {stem} is not listed in {root / 'image_sizes.tsv'}")
            im = read_image(f, sizes[stem], len(classes))
            layouts.append(Layout.from_labelled_points(im.coords, im.labels, classes, shape=im.shape, name=stem))
    else:
        layouts, _ = read_layouts(root, format=cfg_data["format"], classes=classes)
        layouts = [l for l in layouts if stems is None or l.name in stems]
    if not layouts:
        raise ValueError(f"{root}: no training layouts (format {cfg_data['format']}, split {split})")
    for l in layouts:
        if l.shape is None:
            raise ValueError(f"{l.source or l.name}: layout has no canvas shape")
    return layouts


class LayoutCrops:
    """Random ``crop`` x ``crop`` windows of rasterised layouts (``cell`` x
    ``cell`` square per cell, values in {-1, 1}) and their count vectors."""

    def __init__(self, layouts: Sequence[Layout], crop: int, cell: int = 3, flip: bool = True, seed: int = 0):
        self.crop, self.flip = crop, flip
        self.rasters, self.centres = [], []
        for lay in layouts:
            a = lay.to_array(cell=cell, channels="first")
            # images smaller than the crop are padded with background
            pad = [(0, 0)] + [(0, max(0, crop - s)) for s in a.shape[1:]]
            self.rasters.append(np.pad(a, pad))
            # a cell belongs to the crop holding its rasterised centre pixel
            self.centres.append([np.rint(p).astype(np.int64) for p in lay.points])
        self.n_classes = layouts[0].n_classes
        self.rng = np.random.default_rng(seed)

    @classmethod
    def from_config(cls, cfg_data: dict, seed: int) -> LayoutCrops:
        return cls(read_training_layouts(cfg_data), cfg_data["crop"], cfg_data["cell"], cfg_data["flip"], seed)

    def batch(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(x0 (n, C, crop, crop) float32 in [-1, 1], counts (n, C) float32)``."""
        S = self.crop
        x = np.empty((n, self.n_classes, S, S), dtype=np.float32)
        counts = np.empty((n, self.n_classes), dtype=np.float32)
        for b in range(n):
            i = self.rng.integers(len(self.rasters))
            a = self.rasters[i]
            r0, c0 = self.rng.integers(a.shape[1] - S + 1), self.rng.integers(a.shape[2] - S + 1)
            win = a[:, r0 : r0 + S, c0 : c0 + S]
            if self.flip:
                # flips permute cells inside the window: the counts are unchanged
                if self.rng.random() < 0.5:
                    win = win[:, ::-1]
                if self.rng.random() < 0.5:
                    win = win[:, :, ::-1]
            x[b] = win * 2.0 - 1.0
            counts[b] = [
                ((p[:, 0] >= r0) & (p[:, 0] < r0 + S) & (p[:, 1] >= c0) & (p[:, 1] < c0 + S)).sum()
                for p in self.centres[i]
            ]
        return x, counts

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

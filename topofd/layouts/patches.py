"""The paper's sliding-window patch protocol (BRCA-M2C test split).

Every image is cut into ``size`` x ``size`` windows with stride ``stride``
along both axes, starting at (0, 0), keeping only windows that fit entirely;
a window's layout is ``(size, size, C)`` with value 1 on a ``cell`` x ``cell``
square around each cell whose centre falls inside it (clipped at the border).
For the 30 BRCA-M2C test images this gives 1,550 patches.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from topofd.layouts.layout import Layout

__all__ = ["ImagePoints", "read_sizes", "read_split", "windows", "window_layouts", "cut_patches", "patch_name"]


@dataclass(frozen=True)
class ImagePoints:
    """All annotated cells of one image: ``(n, 2)`` (row, col) + 0-based class."""

    stem: str
    coords: np.ndarray
    labels: np.ndarray
    shape: tuple[int, int]


def read_sizes(path: str | Path) -> dict[str, tuple[int, int]]:
    """``image  height  width [split]`` table (tab or space separated, with a
    header line) → ``{image stem: (H, W)}``."""
    out: dict[str, tuple[int, int]] = {}
    with open(path, newline="") as fh:
        rows = [r for r in csv.reader(fh, delimiter="\t") if r and r[0].strip()]
    if rows and len(rows[0]) < 3:  # space separated
        rows = [r[0].split() for r in rows]
    for r in rows:
        try:
            h, w = int(r[1]), int(r[2])
        except (ValueError, IndexError):
            continue  # header
        out[Path(r[0].strip()).stem] = (h, w)
    if not out:
        raise ValueError(f"{path}: no 'image height width' rows")
    return out


def read_split(path: str | Path) -> list[str]:
    """One image file name per line → list of stems."""
    return [Path(l.strip()).stem for l in open(path) if l.strip()]


def windows(shape: tuple[int, int], size: int = 256, stride: int = 32) -> Iterator[tuple[int, int]]:
    H, W = shape
    for r0 in range(0, H - size + 1, stride):
        for c0 in range(0, W - size + 1, stride):
            yield r0, c0


def patch_name(stem: str, r0: int, c0: int) -> str:
    # zero-padded so that no patch name is a prefix of another
    return f"{stem}_r{r0:05d}_c{c0:05d}"


def window_layouts(image: ImagePoints, classes: Sequence[str], size: int = 256, stride: int = 32) -> list[Layout]:
    """The cells of each window as a :class:`Layout` of points (before
    rasterising), named by :func:`patch_name`, its :attr:`Layout.image`
    the image's stem."""
    out = []
    for r0, c0 in windows(image.shape, size, stride):
        inside = (
            (image.coords[:, 0] >= r0)
            & (image.coords[:, 0] < r0 + size)
            & (image.coords[:, 1] >= c0)
            & (image.coords[:, 1] < c0 + size)
        )
        lay = Layout.from_labelled_points(
            image.coords[inside] - (r0, c0),
            image.labels[inside],
            classes,
            shape=(size, size),
            name=patch_name(image.stem, r0, c0),
        )
        out.append(replace(lay, image=image.stem))
    return out


def cut_patches(
    image: ImagePoints, classes: Sequence[str], size: int = 256, stride: int = 32, cell: int = 3
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(name, (size, size, C) uint8 array)`` for every window."""
    for lay in window_layouts(image, classes, size, stride):
        yield lay.name, lay.to_array(cell=cell)

"""Layouts as the fixed-size images a layout encoder reads (numpy only).

A layout's cells are drawn as the readers draw them (a 3 x 3 square of 1s
around each rounded centre, clipped at the canvas border:
:meth:`topofd.layouts.layout.Layout.to_array`), one channel per class, and
the ``(C, H, W)`` canvas is then max-pooled to ``SIZE`` x ``SIZE`` px: pixel
``(i, j)`` of the image is 1 when any drawn pixel of its bin
``[i·H/SIZE, (i+1)·H/SIZE) × [j·W/SIZE, (j+1)·W/SIZE)`` is.  The two steps are
done at once (each square's rows and columns mapped to their bins), so a
large canvas costs no large array.  A 256 px BRCA-M2C window is pooled 2 x 2:
a cell is a 2 x 2 (sometimes 1 x 2 or 2 x 1) block, two cells 2 px apart
stay apart.  Each axis is scaled on its own: a canvas that is not square is
stretched, and a canvas much larger than ``SIZE`` loses the cells'
separation (cut it into windows first, ``topofd patches``).  No crop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["SIZE", "CELL", "rasterise", "rasterise_set", "canvas_of"]

SIZE = 128
CELL = 3


def canvas_of(points: Sequence[np.ndarray], canvas) -> tuple[int, int]:
    """``canvas`` when known, else the smallest canvas holding every cell (at least 1 x 1)."""
    if canvas is not None:
        return int(canvas[0]), int(canvas[1])
    pts = [p for p in points if len(p)]
    if not pts:
        return 1, 1
    hi = np.max([np.rint(p).max(axis=0) for p in pts], axis=0)
    return int(hi[0]) + 1, int(hi[1]) + 1


def rasterise(points: Sequence[np.ndarray], canvas, size: int = SIZE) -> np.ndarray:
    """``(C, size, size)`` float32 image of one layout (``points``: ``(n, 2)``
    ``(row, col)`` per class; ``canvas``: ``(H, W)`` or ``None``)."""
    H, W = canvas_of(points, canvas)
    out = np.zeros((len(points), size, size), np.float32)
    lo, hi = -(CELL // 2), CELL - CELL // 2 - 1
    for k, p in enumerate(points):
        if len(p) == 0:
            continue
        rc = np.rint(np.asarray(p, float)).astype(np.int64)
        r0, r1 = np.clip(rc[:, 0] + lo, 0, H - 1), np.clip(rc[:, 0] + hi, 0, H - 1)
        c0, c1 = np.clip(rc[:, 1] + lo, 0, W - 1), np.clip(rc[:, 1] + hi, 0, W - 1)
        # squares wholly outside the canvas draw nothing
        ok = (rc[:, 0] + hi >= 0) & (rc[:, 0] + lo < H) & (rc[:, 1] + hi >= 0) & (rc[:, 1] + lo < W)
        b = [(v[ok] * size) // n for v, n in ((r0, H), (r1, H), (c0, W), (c1, W))]
        for dr in range(int((b[1] - b[0]).max(initial=0)) + 1):
            for dc in range(int((b[3] - b[2]).max(initial=0)) + 1):
                r, c = np.minimum(b[0] + dr, b[1]), np.minimum(b[2] + dc, b[3])
                out[k, r, c] = 1.0
    return out


def rasterise_set(points: Sequence, canvases: Sequence | None = None, size: int = SIZE) -> np.ndarray:
    """``(n, C, size, size)`` float32 images of ``n`` layouts (``canvases``: one ``(H, W)`` or ``None`` each)."""
    cs = list(canvases) if canvases is not None else [None] * len(points)
    C = len(points[0]) if len(points) else 0
    out = np.zeros((len(points), C, size, size), np.float32)
    for i, (p, c) in enumerate(zip(points, cs)):
        out[i] = rasterise(p, c, size)
    return out

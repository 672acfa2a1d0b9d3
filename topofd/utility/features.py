"""Per-cell spatial-context features for classifying a cell's type from its
neighbourhood (the layout-level downstream task of TSTR).

For every cell of a layout, with the cell itself excluded:

* ``n_c(r)``: the number of cells of class ``c`` within ``r`` px, for each
  radius of :data:`RADII` (Euclidean, ``<= r``);
* ``d_c``: the distance to the nearest cell of class ``c``, capped at
  :data:`NN_CAP` (no such cell in the layout, or farther: the cap);
* local density: the number of cells of any class within the largest radius;
* distance to the canvas border (context beyond it is unseen: a cell near
  the border has truncated counts, and the model may learn to read them so).

The cells of one layout only see each other: every layout is shifted to its
own stretch of one long strip, farther apart than any query reaches, so that
one KD-tree per class answers the queries of a whole set at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["RADII", "NN_CAP", "CellTable", "cell_table", "feature_names", "context_features"]

RADII = (8.0, 16.0, 32.0, 64.0)
NN_CAP = 128.0


@dataclass
class CellTable:
    """Every cell of a set, flattened: ``xy`` coordinates shifted to the
    layout's stretch of the strip, ``label`` its class, ``layout`` the index
    of its layout, ``border`` its distance to the canvas border."""

    xy: np.ndarray
    label: np.ndarray
    layout: np.ndarray
    border: np.ndarray
    n_classes: int

    def __len__(self) -> int:
        return len(self.label)


def cell_table(points: Sequence[Sequence[np.ndarray]], canvases: Sequence | None, n_classes: int) -> CellTable:
    """The cells of layouts ``points[i][k] -> (n, 2)`` (row, col) as one
    :class:`CellTable`; ``canvases[i]``: the layout's ``(H, W)`` (``None``:
    the extent of the set's cells stands in)."""
    xy, lab, lay = [], [], []
    for i, row in enumerate(points):
        for k, p in enumerate(row[:n_classes]):
            p = np.asarray(p, float).reshape(-1, 2)
            xy.append(p)
            lab.append(np.full(len(p), k, np.int64))
            lay.append(np.full(len(p), i, np.int64))
    pts = np.concatenate(xy) if xy else np.zeros((0, 2))
    label = np.concatenate(lab) if lab else np.zeros(0, np.int64)
    layout = np.concatenate(lay) if lay else np.zeros(0, np.int64)
    ext = pts.max(axis=0) + 1.0 if len(pts) else np.ones(2)
    shapes = np.array(
        [c if c is not None else ext for c in (canvases if canvases is not None else [None] * len(points))], float
    ).reshape(-1, 2)
    hw = shapes[layout] if len(layout) else np.zeros((0, 2))
    border = np.minimum(pts, hw - 1.0 - pts).min(axis=1) if len(pts) else np.zeros(0)
    # a stretch per layout wider than its canvas plus two query reaches: no query crosses into a neighbour
    span = float(max(shapes[:, 1].max() if len(shapes) else 1.0, pts[:, 1].max() + 1 if len(pts) else 1.0))
    span += 2 * NN_CAP + 1
    shifted = pts + np.stack([np.zeros(len(pts)), layout * span], axis=1)
    return CellTable(shifted, label, layout, np.maximum(border, 0.0), n_classes)


def feature_names(class_names: Sequence[str]) -> list[str]:
    """Names of the columns of :func:`context_features`, in order."""
    out = [f"n_{c}_{r:g}" for c in class_names for r in RADII]
    out += [f"nn_{c}" for c in class_names]
    return [*out, f"density_{RADII[-1]:g}", "border"]


def context_features(cells: CellTable, idx: np.ndarray) -> np.ndarray:
    """The features (module docstring; columns :func:`feature_names`) of the
    cells ``idx`` of ``cells``, each against every other cell of its layout."""
    idx = np.asarray(idx, np.int64)
    C = cells.n_classes
    q = cells.xy[idx]
    own = cells.label[idx]
    F = np.zeros((len(idx), C * len(RADII) + C + 2))
    for k in range(C):
        members = cells.xy[cells.label == k]
        self_k = (own == k).astype(float)  # the query cell is its own neighbour at 0: take it out
        if not len(members):
            F[:, C * len(RADII) + k] = NN_CAP
            continue
        tree = cKDTree(members)
        for j, r in enumerate(RADII):
            F[:, k * len(RADII) + j] = tree.query_ball_point(q, r, return_length=True) - self_k
        if len(q):
            # second neighbour for a cell of class k (the first is itself)
            d, _ = tree.query(q, k=[1, 2], distance_upper_bound=NN_CAP)
            nn = np.where(own == k, d[:, 1], d[:, 0])
            F[:, C * len(RADII) + k] = np.minimum(nn, NN_CAP)
    F[:, -2] = F[:, [k * len(RADII) + len(RADII) - 1 for k in range(C)]].sum(axis=1)
    F[:, -1] = cells.border[idx]
    return F

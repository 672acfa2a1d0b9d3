"""AnnData ``.h5ad`` (scanpy/squidpy spatial data): one cell per observation.

The cell centres are ``obsm["spatial"]``, ``(x, y)`` per cell as squidpy
stores them (further columns, e.g. z, are ignored); a :class:`Layout`
stores ``(row, col) = (y, x)``.  The class is the ``obs`` column
``cell_type_col`` (default ``cell_type``; names, or 1-based integers as in
point tables, :mod:`topofd.layouts.readers.points`).  ``image_col``: an
``obs`` column naming the source image (``--group-by column:NAME``), one
value per file.  The canvas is not stored: pass ``shape``.

Reading needs the optional ``anndata`` package (``pip install
'topofd[anndata]'``); without it a file is refused with a one-line error.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from topofd.layouts.layout import Layout
from topofd.layouts.readers.points import class_indices, class_origin, one_image

SUFFIXES = (".h5ad",)
INFERS_CLASSES = True


def _obs_column(ad, col: str, path: Path, what: str) -> list:
    if col not in ad.obs.columns:
        cols = ", ".join(map(str, ad.obs.columns))[:120]
        raise ValueError(f"{path}: no obs column {col!r} for the {what} (obs columns: {cols or 'none'})")
    return [str(v) for v in ad.obs[col].tolist()]


def read(
    path: str | Path,
    classes=None,
    *,
    shape: tuple[int, int] | None = None,
    cell_type_col: str = "cell_type",
    image_col: str | None = None,
) -> Layout:
    path = Path(path)
    try:
        import anndata
    except ImportError:
        raise ValueError(f"{path}: reading .h5ad needs the anndata package (pip install 'topofd[anndata]')") from None
    try:
        ad = anndata.read_h5ad(path)
    except MemoryError:
        raise ValueError(f"{path}: AnnData file too large to load") from None
    except Exception as e:  # h5py and anndata raise many types on damaged files
        raise ValueError(f"{path}: corrupt or unreadable .h5ad ({e.__class__.__name__})") from None
    if "spatial" not in ad.obsm:
        raise ValueError(f"{path}: no obsm['spatial'] (the cells' x, y coordinates)")
    xy = np.asarray(ad.obsm["spatial"], dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] < 2:
        raise ValueError(f"{path}: obsm['spatial'] must have shape (n_cells, 2), got {xy.shape}")
    if not np.isfinite(xy[:, :2]).all():
        raise ValueError(f"{path}: NaN or infinite coordinates in obsm['spatial']")
    labels, names = class_indices(_obs_column(ad, cell_type_col, path, "cell type"), classes, path)
    image = one_image(_obs_column(ad, image_col, path, "image"), image_col, path) if image_col else ""
    lay = Layout.from_labelled_points(
        xy[:, [1, 0]],
        labels,
        names,
        shape=shape,
        name=path.stem,
        source=str(path),
        class_origin=class_origin(names, classes),
    )
    return replace(lay, image=image)

"""The bundled demo data: BRCA-M2C test patches and a matched-count baseline.

The real set is the paper's protocol (:mod:`topofd.patches`) on the 30
bundled test images: 1,550 windows of 256 x 256, each rasterised to the
published ``(H, W, C)`` array and read back with :meth:`Layout.from_array`;
the synthetic set re-places every cell of each patch uniformly at random
(continuous positions, same per-class counts; :mod:`topofd.baselines`),
named ``<patch>_gen``.
Both are built in memory: the layouts are the ones ``topofd patches`` then
``topofd baseline random`` would write and ``topofd compare`` would read back,
without 600 MB of temporary files.
"""
from __future__ import annotations

import contextlib
from importlib import resources
from pathlib import Path
from typing import Iterator

import numpy as np

from .baselines import perturb
from .layout import Layout
from .patches import cut_patches, read_sizes, read_split
from .readers import brca

__all__ = ["bundled_root", "label_file", "real_patches", "baseline_layout", "demo_sets", "read_back"]


@contextlib.contextmanager
def bundled_root() -> Iterator[Path]:
    """Folder of the bundled BRCA-M2C data (``labels/``, ``image_sizes.tsv``,
    ``brca_ds_test.txt``, ``LICENSE``) as a real path."""
    with resources.as_file(resources.files("topofd") / "data" / "brca_m2c") as p:
        yield Path(p)


def label_file(labels_dir: Path, stem: str) -> Path:
    """The BRCA-M2C label file of an image: ``<stem>_gt_class_coords.txt``
    (or ``<stem>.txt``)."""
    for cand in (labels_dir / f"{stem}{brca.SUFFIX}.txt", labels_dir / f"{stem}.txt"):
        if cand.is_file():
            return cand
    raise ValueError(f"{labels_dir}: no label file for image {stem!r} (expected {stem}{brca.SUFFIX}.txt)")


def image_patches(label_path: Path, shape, classes=brca.CLASSES, size=256, stride=32, cell=3):
    """``(name, (size, size, C) uint8 array)`` for each window of one image."""
    im = brca.read_image(label_path, shape, n_classes=len(classes))
    return list(cut_patches(im, classes, size=size, stride=stride, cell=cell))


def read_back(layouts: list[Layout], cell: int = 3) -> list[Layout]:
    """``Layout.from_array(l.to_array(cell), l.classes, name=l.name)`` for
    every layout, without building the arrays.

    Rasterising draws a ``cell`` x ``cell`` square (clipped at the border)
    around each rounded centre; reading back takes the 4-connected
    components of each channel and their centres of mass.  Here the drawn
    pixels of all layouts are collected as sparse ids (layout, channel, row,
    col), the components found with one graph search over them, and the
    centres averaged per component, in the scan order ``ndimage.label``
    numbers them.  All weights are 1 and all coordinates integers, so every
    sum is exact and the centres are the same floats ``from_array`` gives,
    at a fraction of the cost (a 256x256 image per channel per layout is
    ~2 ms to label; the sparse pixels are ~100 per cell class).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    lo, hi = -(cell // 2), cell - cell // 2
    dr, dc = (a.ravel() for a in np.mgrid[lo:hi, lo:hi])
    ids, base, bases, widths, heights, nclass = [], 0, [], [], [], []
    for lay in layouts:
        if lay.shape is None:
            raise ValueError(f"{lay.name}: layout has no canvas shape")
        H, W = lay.shape
        for k, p in enumerate(lay.points):
            if len(p) == 0:
                continue
            rc = np.rint(p).astype(np.int64)
            r, c = (rc[:, :1] + dr).ravel(), (rc[:, 1:] + dc).ravel()
            ok = (r >= 0) & (r < H) & (c >= 0) & (c < W)
            ids.append(base + k * H * W + r[ok] * W + c[ok])
        bases.append(base)
        heights.append(H)
        widths.append(W)
        nclass.append(lay.n_classes)
        base += lay.n_classes * H * W
    bases, heights, widths = (np.array(x, dtype=np.int64) for x in (bases, heights, widths))
    px = np.sort(np.concatenate(ids)) if ids else np.zeros(0, np.int64)
    px = px[np.r_[True, px[1:] != px[:-1]]] if len(px) else px  # overlapping squares: a pixel once
    li = np.searchsorted(bases, px, side="right") - 1  # layout of each pixel
    local = px - bases[li]
    W_, HW = widths[li], heights[li] * widths[li]
    ch, within = local // HW, local % HW
    row, col = within // W_, within % W_
    edges = []
    for step, inside in ((1, col < W_ - 1), (W_, row < heights[li] - 1)):
        nb = px + step
        j = np.clip(np.searchsorted(px, nb), 0, max(len(px) - 1, 0))
        hit = inside & (px[j] == nb) if len(px) else inside
        edges.append((np.flatnonzero(hit), j[hit]))
    a = np.concatenate([e[0] for e in edges])
    b = np.concatenate([e[1] for e in edges])
    n = len(px)
    n_comp, comp = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)
    # number components by their first pixel in scan order, as ndimage.label does
    first = np.empty(n_comp, np.int64)
    first[comp[::-1]] = np.arange(n)[::-1]  # the last write, i.e. the smallest index, wins
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    lab = rank[comp]
    mass = np.bincount(lab)
    rr = np.bincount(lab, weights=row.astype(np.float64)) / mass
    cc = np.bincount(lab, weights=col.astype(np.float64)) / mass
    firsts = np.sort(first)
    comp_layout, comp_ch = li[firsts], ch[firsts]
    centres = np.stack([rr, cc], axis=1)
    out = []
    starts = np.searchsorted(comp_layout, np.arange(len(layouts) + 1))
    for i, lay in enumerate(layouts):
        mine, mch = centres[starts[i]:starts[i + 1]], comp_ch[starts[i]:starts[i + 1]]
        out.append(Layout(tuple(mine[mch == k] for k in range(nclass[i])), lay.classes, lay.shape, lay.name))
    return out


def window_layouts(image: "ImagePoints", classes, size: int = 256, stride: int = 32) -> list[Layout]:
    """The cells of each window as points (before rasterising)."""
    from .patches import patch_name, windows

    out = []
    for r0, c0 in windows(image.shape, size, stride):
        inside = ((image.coords[:, 0] >= r0) & (image.coords[:, 0] < r0 + size)
                  & (image.coords[:, 1] >= c0) & (image.coords[:, 1] < c0 + size))
        out.append(Layout.from_labelled_points(image.coords[inside] - (r0, c0), image.labels[inside], classes,
                                               shape=(size, size), name=patch_name(image.stem, r0, c0)))
    return out


def real_patches(root: Path, n_patches: int | None = None, progress: bool = False) -> list[Layout]:
    """The real demo set (see module docstring); ``n_patches`` keeps an evenly
    spread subset (for quick runs)."""
    from tqdm import tqdm

    sizes = read_sizes(root / "image_sizes.tsv")
    split = read_split(root / "brca_ds_test.txt")
    wins = []
    for stem in tqdm(split, desc="cutting patches", unit="image", disable=not progress, leave=False):
        im = brca.read_image(label_file(root / "labels", stem), sizes[stem])
        wins.extend(window_layouts(im, brca.CLASSES))
    if n_patches is not None and n_patches < len(wins):
        keep = np.unique(np.linspace(0, len(wins) - 1, n_patches).round().astype(int))
        wins = [wins[i] for i in keep]
    return read_back(wins)


def baseline_array(layout: Layout, kind: str, *, sigma: float = 4.0, seed: int = 0, cell: int = 3) -> np.ndarray:
    """The ``(H, W, C)`` uint8 array ``topofd baseline`` writes for one layout."""
    return perturb(layout, kind, sigma=sigma, seed=seed).to_array(cell=cell)


def baseline_layout(layout: Layout, kind: str = "random", *, sigma: float = 4.0, seed: int = 0, cell: int = 3) -> Layout:
    """The baseline counterpart as read back from its file (``<name>_gen``)."""
    return Layout.from_array(baseline_array(layout, kind, sigma=sigma, seed=seed, cell=cell), layout.classes,
                             name=f"{layout.name}_gen")


def demo_sets(n_patches: int | None = None, *, seed: int = 0, progress: bool = False) -> tuple[list[Layout], list[Layout]]:
    """``(real, synthetic)`` layouts of the demo."""
    with bundled_root() as root:
        real = real_patches(root, n_patches, progress)
    # matched counts, continuous uniform positions: a random set that is
    # never rasterised, so it has no lattice ties (see baselines.perturb)
    synth = [
        Layout(p.points, p.classes, p.shape, f"{p.name}_gen")
        for p in (perturb(l, "random", seed=seed, lattice=False) for l in real)
    ]
    return real, synth

"""Data and perturbation families shared by the validity, calibration and
sample-size benchmarks.

Real set: the BRCA-M2C test protocol (1,550 windows of 256x256, stride 32,
from the bundled test split, read back from the published 3x3 rasters).
A synthetic set is built from the real windows by one *family* at one
*strength*; every synthetic window is rasterised and read back like a file
and named ``<real name>_gen`` (so count errors pair it).  Every family is
seeded per (family, strength, window, draw): a new ``draw`` is an
independent synthetic set from the same recipe.

Per-window families (strength ``s``):

* ``jitter``   every cell moved by rounded N(0, s²) px;
* ``replace``  a fraction ``s`` of the cells re-placed uniformly at random;
* ``dissolve`` lymphocyte clusters (single linkage at ``LINK`` px, ≥ 3 cells)
  spread about their centroid by a factor 1 + s;
* ``swap``     a fraction ``s`` of the cells get their labels permuted
  among themselves (per-class counts kept);
* ``rings``    in each epithelial cluster, cells ordered by angle about the
  centroid and every k-th removed (s = 1/k).

Set-level families:

* ``mixture``  a fraction ``s`` of the windows replaced by their
  matched-count random counterparts (the rest are the real windows);
* ``modedrop`` the densest fraction ``s`` of windows (by total cell count)
  replaced by copies of randomly chosen other windows; every window then
  jittered by 1 px (so strength 0 is jitter σ=1, not a copy of the real set).

Calibration generators (known recipes, re-drawn): ``random`` (matched-count
uniform placement, :func:`topofd.layouts.baselines.perturb`), ``jitter`` σ=4,
``shuffle`` (labels permuted within each window).
"""
from __future__ import annotations

import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from benchmarks.common import SHARED
from topofd.layouts.baselines import perturb
from topofd.layouts.brca_m2c import bundled_root, label_file, read_back, real_patches
from topofd.layouts.layout import Layout
from topofd.layouts.patches import read_sizes, read_split, window_layouts
from topofd.layouts.readers import brca

LINK = 20.0  # px: single-linkage radius of a cluster (median nearest-neighbour distance is ~17 px)
LYM, EPI = 0, 1

FAMILIES = {
    "jitter": (0.5, 1, 2, 4, 8, 16),
    "replace": (0.05, 0.1, 0.25, 0.5, 1.0),
    "dissolve": (0.25, 0.5, 1, 2, 4),
    "swap": (0.05, 0.1, 0.25, 0.5, 1.0),
    "rings": (0.125, 1 / 6, 0.25, 1 / 3, 0.5),
    "mixture": (0.1, 0.2, 0.4, 0.6, 0.8, 1.0),
    "modedrop": (0.05, 0.1, 0.2, 0.3, 0.5),
}
GENERATORS = {"random": ("replace", 1.0), "jitter": ("jitter", 4.0), "shuffle": ("swap", 1.0)}


def rng(*parts) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(repr(p).encode()) for p in parts])


# ---------------------------------------------------------------------- data
@lru_cache(maxsize=1)
def test_windows() -> tuple[Layout, ...]:
    """The 1,550 real test windows, sorted by name (the published order)."""
    with bundled_root() as root:
        return tuple(sorted(real_patches(root), key=lambda l: l.name))


def image_of(name: str) -> str:
    return name.rsplit("_r", 1)[0]


def train_windows(n: int | None = None, shared: Path = SHARED) -> list[Layout]:
    """Windows of the train images (same protocol), an evenly spread subset
    of ``n``, named ``train_<window>`` (they pair with no test window)."""
    sizes = read_sizes(shared / "image_sizes.tsv")
    wins = []
    for stem in read_split(shared / "brca_ds_train.txt"):
        im = brca.read_image(label_file(shared / "labels", stem), sizes[stem])
        wins.extend(window_layouts(im, brca.CLASSES))
    if n is not None and n < len(wins):
        keep = np.unique(np.linspace(0, len(wins) - 1, n).round().astype(int))
        wins = [wins[i] for i in keep]
    return read_back([Layout(l.points, l.classes, l.shape, f"train_{l.name}") for l in wins])


# ------------------------------------------------------------- perturbations
def _clusters(p: np.ndarray, r: float = LINK) -> np.ndarray:
    if len(p) == 0:
        return np.zeros(0, int)
    pairs = cKDTree(p).query_pairs(r, output_type="ndarray")
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(p), len(p)))
    return connected_components(g, directed=False)[1]


def _clip(p, shape):
    return np.clip(p, 0, (shape[0] - 1, shape[1] - 1))


def perturbed(layout: Layout, kind: str, s: float, draw: int = 0) -> Layout:
    """One window under a per-window family (module docstring); ``s = 0``: unchanged."""
    if s == 0:
        return layout
    g = rng(kind, s, layout.name, draw)
    H, W = layout.shape
    pts = [np.array(p) for p in layout.points]
    if kind == "jitter":
        pts = [_clip(np.rint(p) + np.rint(g.normal(0, s, p.shape)), layout.shape) for p in pts]
    elif kind == "replace":
        for p in pts:
            m = g.random(len(p)) < s
            p[m] = g.integers(0, (H, W), size=(m.sum(), 2))
    elif kind == "dissolve":
        p = pts[LYM]
        lab = _clusters(p)
        for c in np.unique(lab):
            m = lab == c
            if m.sum() >= 3:
                ctr = p[m].mean(axis=0)
                p[m] = _clip(ctr + (1 + s) * (p[m] - ctr), layout.shape)
    elif kind == "swap":
        allp = np.concatenate(pts)
        lab = np.repeat(np.arange(len(pts)), [len(p) for p in pts])
        idx = np.flatnonzero(g.random(len(lab)) < s)
        lab[idx] = lab[g.permutation(idx)]
        pts = [allp[lab == k] for k in range(len(pts))]
    elif kind == "rings":
        k = max(2, int(round(1 / s)))
        p = pts[EPI]
        lab = _clusters(p)
        keep = np.ones(len(p), bool)
        for c in np.unique(lab):
            ids = np.flatnonzero(lab == c)
            if len(ids) >= 3:
                d = p[ids] - p[ids].mean(axis=0)
                order = ids[np.argsort(np.arctan2(d[:, 0], d[:, 1]))]
                keep[order[k - 1 :: k]] = False
        pts[EPI] = p[keep]
    else:
        raise ValueError(f"unknown perturbation {kind!r}")
    return Layout(tuple(pts), layout.classes, layout.shape, layout.name)


def _gen(layouts) -> list[Layout]:
    return [Layout(l.points, l.classes, l.shape, f"{l.name}_gen") for l in layouts]


def synthetic_set(real, family: str, s: float, draw: int = 0) -> list[Layout]:
    """The synthetic set of ``family`` at strength ``s`` (read back, named ``_gen``)."""
    real = list(real)
    if family == "mixture":
        g = rng("mixture", s, draw)
        swap = g.random(len(real)) < s
        out = [perturb(l, "random", seed=1000 + draw) if m else l for l, m in zip(real, swap)]
    elif family == "modedrop":
        g = rng("modedrop", s, draw)
        total = np.array([l.counts.sum() for l in real])
        order = np.argsort(-total, kind="stable")
        drop = set(order[: int(round(s * len(real)))].tolist())
        keep = [i for i in range(len(real)) if i not in drop]
        src = [i if i not in drop else keep[g.integers(len(keep))] for i in range(len(real))]
        out = [perturbed(Layout(real[j].points, real[j].classes, real[j].shape, real[i].name), "jitter", 1, draw)
               for i, j in enumerate(src)]
    elif family in ("jitter", "replace", "dissolve", "swap", "rings"):
        out = [perturbed(l, family, s, draw) for l in real]
    else:
        raise ValueError(f"unknown family {family!r}")
    return _gen(read_back(out))


# ------------------------------------------------------- stored diagram sets
def set_path(workdir: Path, tag: str) -> Path:
    return Path(workdir) / f"{tag}.npz"


def save_set(path: Path, layouts, diagrams, keys) -> None:
    """A synthetic or real set as the benchmarks reuse it: names, per-class
    counts, layout content keys and H1 diagrams (no pickle)."""
    from topofd.storage.arrays import pack_diagrams, save_npz

    pts, sizes = pack_diagrams(diagrams)
    save_npz(path, {"points": pts, "sizes": sizes, "counts": np.array([l.counts for l in layouts]),
                    "names": np.array([l.name for l in layouts]), "keys": np.array(keys)},
             {"classes": list(layouts[0].classes), "shape": list(layouts[0].shape)})


def load_set(path: Path) -> dict:
    from topofd.storage.arrays import load_npz, unpack_diagrams

    a, meta = load_npz(path)
    return {"names": [str(x) for x in a["names"]], "counts": a["counts"], "keys": [str(x) for x in a["keys"]],
            "diagrams": unpack_diagrams(a["points"], a["sizes"]), "classes": meta["classes"]}

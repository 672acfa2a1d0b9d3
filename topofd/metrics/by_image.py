"""Image-aware pieces of the fidelity and memorisation scores (issue 27).

Overlapping windows of one image are each other's nearest neighbours: with
BRCA-M2C's 256 px windows at stride 32 a window's k = 5 nearest real
windows are its own shifted copies, so the k-NN radius that defines the
real manifold (precision, density, coverage; Kynkäänniemi et al. 2019,
Naeem et al. 2020) measures how far a window is from itself, not from the
distribution, and real windows of *other* images fall outside it as often
as matched random layouts do.  When the source images are known
(:mod:`topofd.layouts.images`), the radius of a layout is its distance to
the k-th nearest layout of another image — the radius the estimator
assumes, that of an independent sample — and the nearest-training
distances that set a memorisation threshold skip training layouts of the
same image.
"""

from __future__ import annotations

import numpy as np

from topofd.stats.uncertainty import Estimate, jackknife

__all__ = [
    "radii_other_images",
    "usable",
    "radii_note",
    "shared_images",
    "nearest_other_image",
    "combine_real_jackknife",
]


def usable(images: np.ndarray | None) -> np.ndarray | None:
    """``images`` when they name at least 2 images (else nothing to exclude)."""
    return images if images is not None and len(images) and int(images.max()) >= 1 else None


def radii_other_images(F: np.ndarray, k: int, images: np.ndarray) -> np.ndarray:
    """Distance of each row of ``F`` to its k-th nearest row of another image
    (``inf`` where fewer than k rows of other images exist)."""
    from sklearn.neighbors import NearestNeighbors  # on use, as in manifold.knn_radii

    n = len(F)
    # the k-th neighbour of another image is among the k + (own image size) nearest rows
    m = min(n, k + int(np.bincount(images).max()))
    d, idx = NearestNeighbors(n_neighbors=m).fit(F).kneighbors(F)
    ok = images[idx] != images[:, None]
    enough = ok.sum(1) >= k
    pos = np.argmax(np.cumsum(ok, axis=1) == k, axis=1)
    r = d[np.arange(n), pos]
    r[~enough] = np.inf
    return r


def radii_note(real: np.ndarray | None, synth: np.ndarray | None) -> str | None:
    """The report's words on which radii skipped layouts of the same image."""
    parts = [
        f"{w} radii among layouts of other images ({int(im.max()) + 1} images)"
        for w, im in (("real", real), ("synthetic", synth))
        if im is not None
    ]
    return "; ".join(parts) or None


def shared_images(a, b) -> tuple[np.ndarray, np.ndarray] | None:
    """Integer labels on one scale for two sets' image lists (``SetView.images``;
    an unknown image matches nothing), or ``None`` when no image is in both."""
    if not a or not b:
        return None
    common = {x for x in a if x} & {x for x in b if x}
    if not common:
        return None
    ids = {im: i for i, im in enumerate(sorted(common))}
    n = len(ids)

    def lab(v, off):
        return np.array([ids.get(x, n + off + i) if x else n + off + i for i, x in enumerate(v)], dtype=np.int64)

    return lab(a, 0), lab(b, len(a))


def nearest_other_image(distances_fn, n_rows: int, row_images, ref_images):
    """``(distance, index)`` of each row's nearest reference item of another
    image: ``distances_fn(rows, refs) -> (d, j)`` evaluated per image of the
    rows, on the references of the other images (``ref_images``, labels on
    the same scale as ``row_images``; a row whose image has no reference
    keeps all references)."""
    d = np.full(n_rows, np.inf)
    j = np.zeros(n_rows, dtype=np.int64)
    for im in np.unique(row_images):
        rows = np.flatnonzero(row_images == im)
        refs = np.flatnonzero(ref_images != im)
        if not len(refs):  # every reference is of the row's image: the docstring's fallback, not inf
            refs = np.arange(len(ref_images))
        if not len(refs):
            continue
        dd, jj = distances_fn(rows, refs)
        d[rows], j[rows] = dd, refs[np.asarray(jj, dtype=np.int64)]
    return d, j


def combine_real_jackknife(est: Estimate, value: float, real_reps: list[float]) -> Estimate:
    """``est`` (the synthetic-side jackknife) widened by a delete-an-image
    jackknife over the real set: the two sets are independent samples, so
    the variances add (two-sample jackknife, Arvesen 1969); degrees of
    freedom the smaller of the two."""
    r = jackknife(value, real_reps)
    if r.se is None or est.se is None or est.df is None or r.df is None:
        return est
    from topofd.stats.uncertainty import interval

    se = float(np.hypot(est.se, r.se))
    df = min(est.df, r.df)
    lo, hi = interval(value, se, df)
    return Estimate(value, se, float(lo), float(hi), int(df))

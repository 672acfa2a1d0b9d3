"""Scoring the generator with ``topofd`` on held-out windows (TopoCellGen Sec. 5
protocol at any window size).

The real set is every ``size`` x ``size`` window of the held-out images
(non-overlapping by default), each rasterised to the published array and read
back (:func:`read_back`), exactly as a generated layout is read back from its
file.  The generator is conditioned on each window's per-class count of cells
whose centre lies inside it (the training condition, :mod:`.data`), and its
output is post-processed (:func:`.sample.postprocess`) and read back the same
way.  Reference rows at the same size: matched-count random placement
(:mod:`topofd.layouts.baselines`), windows of the training images (real vs real), and
for the count errors an "average counts" generator that gives every layout
the per-class mean count of the real windows.

Scores come from the public :func:`topofd.compare` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from topofd import Layout
from topofd.layouts.baselines import perturb
from topofd.layouts.patches import read_sizes, read_split, window_layouts
from topofd.layouts.readers import brca
from topofd.metrics.counts import count_errors

from .sample import generate

__all__ = [
    "split_windows",
    "bundled_windows",
    "evenly",
    "read_back",
    "synthesize",
    "score",
    "average_count_row",
    "random_set",
    "real_vs_real_set",
    "SCORE_METRICS",
]

SCORE_METRICS = ("topofd", "topokd", "mmd", "counts")


def split_windows(
    root, split: str, size: int, stride: int | None = None, classes: Sequence[str] = brca.CLASSES
) -> list[Layout]:
    """Every ``size`` x ``size`` window (``stride`` defaults to ``size``) of the
    BRCA-format images listed in ``root/split``, as layouts of the cells whose
    centre lies inside (before rasterising), named ``<image>_r<row>_c<col>``."""
    root = Path(root)
    for need in (root / "image_sizes.tsv", root / split, root / "labels"):
        if not need.exists():
            raise ValueError(
                f"{need}: not found (a brca data folder needs image_sizes.tsv, labels/ and the split list)"
            )
    sizes = read_sizes(root / "image_sizes.tsv")
    out: list[Layout] = []
    for stem in read_split(root / split):
        f = root / "labels" / f"{stem}{brca.SUFFIX}.txt"
        if stem not in sizes or not f.is_file():
            raise ValueError(f"{root / split}: image {stem} has no label file or no entry in image_sizes.tsv")
        out += window_layouts(brca.read_image(f, sizes[stem], len(classes)), classes, size, stride or size)
    if not out:
        raise ValueError(f"{root / split}: no {size} x {size} window fits in any image")
    return out


def bundled_windows(size: int, stride: int | None = None) -> list[Layout]:
    """:func:`split_windows` of the BRCA-M2C test split bundled with topofd."""
    with resources.as_file(resources.files("topofd") / "data" / "brca_m2c") as root:
        return split_windows(root, "brca_ds_test.txt", size, stride)


def evenly(items: Sequence, n: int | None) -> list:
    """``n`` items spread evenly over the sequence (all when ``n`` is None or larger)."""
    if n is None or n >= len(items):
        return list(items)
    return [items[i] for i in np.linspace(0, len(items) - 1, n).round().astype(int)]


def read_back(layouts: Sequence[Layout], cell: int = 3, suffix: str = "") -> list[Layout]:
    """Each layout as a reader gets it back from its published array: ``cell``
    x ``cell`` squares, 4-connected components, centres of mass (touching
    cells merge).  ``suffix`` is appended to the names (``_gen`` pairs a
    synthetic layout with its real window)."""
    return [Layout.from_array(l.to_array(cell), l.classes, name=l.name + suffix) for l in layouts]


def synthesize(model, diffusion, cfg: dict, windows: Sequence[Layout], **kw) -> list[Layout]:
    """The generated counterpart of every window (conditioned on its counts),
    read back and named ``<window>_gen``."""
    counts = np.array([w.counts for w in windows])
    arrays = dict(generate(model, diffusion, cfg, counts, **kw))
    return [
        Layout.from_array(arrays[i], w.classes, channels="last", name=f"{w.name}_gen") for i, w in enumerate(windows)
    ]


def random_set(windows: Sequence[Layout], seed: int = 0, cell: int = 3) -> list[Layout]:
    """Matched-count random reference: every cell of each window re-placed
    uniformly on the pixel grid, rasterised and read back (``<window>_gen``)."""
    return read_back([perturb(w, "random", seed=seed) for w in windows], cell, "_gen")


def real_vs_real_set(
    test_windows: Sequence[Layout], train_windows: Sequence[Layout], seed: int = 0, cell: int = 3
) -> list[Layout]:
    """Real-vs-real reference: one window of the training images per test
    window (a seeded draw without replacement), read back and named after the
    test window it stands in for, so its count errors are those of a
    generator that ignores the condition but draws real layouts."""
    if len(train_windows) < len(test_windows):
        raise ValueError(f"real vs real: {len(train_windows)} training windows for {len(test_windows)} test windows")
    pick = np.random.default_rng(seed).choice(len(train_windows), len(test_windows), replace=False)
    return [
        Layout.from_array(train_windows[j].to_array(cell), w.classes, name=f"{w.name}_gen")
        for j, w in zip(pick, test_windows)
    ]


def average_count_row(real: Sequence[Layout]) -> dict:
    """Count errors of the "average counts" generator: every layout gets the
    per-class mean count of the real set (TopoCellGen Suppl. Sec. 11 CCE and
    TCE against a constant prediction)."""
    cr = np.array([l.counts for l in real], dtype=np.float64)
    cce, tce = count_errors(cr, np.tile(cr.mean(0), (len(cr), 1)))
    return {"tce": float(tce), "cce": dict(zip(real[0].classes, map(float, cce)))}


def _num(v) -> float | None:
    v = float(v)
    return None if np.isnan(v) else v


def score(
    real: Sequence[Layout],
    synth: Sequence[Layout],
    *,
    protocols: Sequence[str] = ("grid", "paper"),
    n_jobs: int = 1,
    seed: int = 0,
    mmd_samples: int | None = None,
) -> dict:
    """TCE, per-class CCE, TopoKD (the recommended score), MMD and per-class /
    mean TopoFD of each protocol,
    from :func:`topofd.compare` (counts and MMD do not depend on the protocol:
    taken from the first; ``mmd_samples``: MMD on a seeded subset of that many
    layouts per set).  Standard errors are kept when the report has them."""
    import topofd

    classes = list(real[0].classes)
    out: dict = {}
    for k, proto in enumerate(protocols):
        metrics = SCORE_METRICS if k == 0 else ("topofd",)
        extra = {"mmd_samples": mmd_samples} if (k == 0 and mmd_samples) else {}
        rep = topofd.compare(
            list(real), list(synth), metrics=metrics, protocol=proto, n_jobs=n_jobs, seed=seed, **extra
        )
        t = rep.table
        out[f"topofd_{proto}"] = _num(t.at["mean", "topofd"])
        out[f"topofd_{proto}_per_class"] = {c: _num(t.at[c, "topofd"]) for c in classes}
        if "topofd_se" in t.columns:
            out[f"topofd_{proto}_se"] = _num(t.at["mean", "topofd_se"])
        if k == 0:
            out["tce"] = _num(t.at["mean", "tce"])
            out["cce"] = {c: _num(t.at[c, "cce"]) for c in classes}
            out["mmd"] = _num(t.at["mean", "mmd"])
            out["topokd"] = _num(t.at["mean", "topokd"])
            for col in ("tce_se", "mmd_se", "topokd_se"):
                if col in t.columns:
                    out[col] = _num(t.at["mean", col])
    return out

"""The bundled demo data: BRCA-M2C test patches and a matched-count baseline.

The real set is the paper's protocol (:mod:`topofd.layouts.patches`) on the 30
bundled test images: 1,550 windows of 256 x 256, each rasterised to the
published ``(H, W, C)`` array and read back with :meth:`Layout.from_array`,
sorted by name; the synthetic set, ``<patch>_gen``, re-places the cells of
each patch at random pixels, the cells of a class at least 4 px apart
(:func:`topofd.layouts.baselines.perturb` with ``separate=3``), and is rasterised and
read back the same way, so its per-class counts equal the real ones.

Both are built in memory, and are exactly the layouts that ``topofd patches``
then ``topofd baseline random`` write and ``topofd compare`` reads back
(without 600 MB of temporary files): the demo's numbers are those of
``topofd compare real/ synth/ --mmd-samples 100 --seed SEED`` on those
folders (``tests/test_patches.py`` checks it on a subset).  The class names
differ: the demo names them lym, epi, stro; files read without
``--classes`` have class1..class3.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from importlib import resources
from pathlib import Path

import numpy as np

from topofd.layouts.baselines import perturb
from topofd.layouts.layout import Layout
from topofd.layouts.patches import cut_patches, read_sizes, read_split, window_layouts
from topofd.layouts.readers import brca
from topofd.parallel import map_chunks

TEST_SPLIT, TRAIN_SPLIT = "brca_ds_test.txt", "brca_ds_train.txt"

__all__ = [
    "TEST_SPLIT",
    "TRAIN_SPLIT",
    "named_set_layouts",
    "bundled_root",
    "label_file",
    "real_patches",
    "baseline_layout",
    "demo_sets",
    "read_back",
]


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
    """What a reader gets back from each layout once written in the published
    format: rasterised (``cell`` x ``cell`` squares) and read with
    :meth:`Layout.from_array` (touching cells merge, centres move to the
    centres of mass of the drawn squares)."""
    return [replace(Layout.from_array(l.to_array(cell), l.classes, name=l.name), image=l.image) for l in layouts]


def real_patches(
    root: Path, n_patches: int | None = None, progress: bool = False, n_jobs: int = 1, split_file: str = TEST_SPLIT
) -> list[Layout]:
    """The real demo set (see module docstring), sorted by name as a folder
    is read; ``n_patches`` keeps an evenly spread subset (for quick runs);
    the windows are read back on ``n_jobs`` processes (same layouts).
    ``root`` may be another BRCA-M2C folder (``labels/``, ``image_sizes.tsv``
    and the split file), ``split_file`` its other split: ``brca_ds_train.txt``
    of the full dataset (not bundled) is the pool of the scale's floor."""
    from tqdm import tqdm

    for need in ("image_sizes.tsv", split_file, "labels"):
        if not (root / need).exists():
            raise ValueError(f"{root}: no {need} (a BRCA-M2C folder has labels/, image_sizes.tsv, {split_file})")
    sizes = read_sizes(root / "image_sizes.tsv")
    split = read_split(root / split_file)
    wins = []
    for stem in tqdm(split, desc="cutting patches", unit="image", disable=not progress, leave=False):
        im = brca.read_image(label_file(root / "labels", stem), sizes[stem])
        wins.extend(window_layouts(im, brca.CLASSES))
    wins.sort(key=lambda l: l.name)
    if n_patches is not None and n_patches < len(wins):
        keep = np.unique(np.linspace(0, len(wins) - 1, n_patches).round().astype(int))
        wins = [wins[i] for i in keep]
    return [l for chunk in map_chunks(read_back, wins, n_jobs) for l in chunk]


def baseline_array(layout: Layout, kind: str, *, sigma: float = 4.0, seed: int = 0, cell: int = 3) -> np.ndarray:
    """The ``(H, W, C)`` uint8 array ``topofd baseline`` writes for one
    layout; ``random`` keeps the cells of a class ``cell + 1`` px apart, so
    that the array reads back with the layout's counts."""
    separate = cell if kind == "random" else None
    return perturb(layout, kind, sigma=sigma, seed=seed, separate=separate).to_array(cell=cell)


def baseline_layout(
    layout: Layout, kind: str = "random", *, sigma: float = 4.0, seed: int = 0, cell: int = 3
) -> Layout:
    """The baseline counterpart as read back from its file (``<name>_gen``)."""
    lay = Layout.from_array(
        baseline_array(layout, kind, sigma=sigma, seed=seed, cell=cell), layout.classes, name=f"{layout.name}_gen"
    )
    return replace(lay, image=layout.image)


def _random_baselines(layouts: list[Layout], seed: int) -> list[Layout]:
    return [baseline_layout(l, "random", seed=seed) for l in layouts]


def demo_sets(
    n_patches: int | None = None, *, seed: int = 0, progress: bool = False, n_jobs: int = 1
) -> tuple[list[Layout], list[Layout]]:
    """``(real, synthetic)`` layouts of the demo, built on ``n_jobs``
    processes (each layout on its own, so the sets do not depend on it)."""
    with bundled_root() as root:
        real = real_patches(root, n_patches, progress, n_jobs)
    synth = [l for chunk in map_chunks(partial(_random_baselines, seed=seed), real, n_jobs) for l in chunk]
    return real, synth


def named_set_layouts(name: str) -> list[Layout] | None:
    """The layouts of a bundled named reference set, rebuilt from the bundled
    label files (``None`` for a name this module does not build): the cells a
    ``.topofd`` file does not store, for metrics that need them (Layout FID/KID,
    near copies) when the real set is ``brca-m2c:test``."""
    if name != "brca-m2c:test":
        return None
    with bundled_root() as root:
        return real_patches(root)

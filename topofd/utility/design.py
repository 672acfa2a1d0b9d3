"""Which cells train and which test: image-level halves and test groups.

Windows cut from one image share its tissue (BRCA-M2C windows overlap by
up to 7/8), so a model tested on windows of an image it was trained on
would be scored on cells it has seen.  The real layouts are therefore
split by *image*: the images are dealt (seeded) into two halves, each half
trains a model that is tested on the other (two-fold cross-fitting), and
the predictions of both folds are pooled.

The image of a layout is read from its name (:func:`image_of`: the
``<image stem>_r<row>_c<col>`` names of :func:`topofd.layouts.patches.patch_name`,
with any suffix such as ``_gen``).  :func:`layout_units` is the one place
that decides; when a set's names carry no image, each layout is its own
unit (windows of one image may then sit on both sides: the caller says so).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from topofd.stats.uncertainty import assign_groups

__all__ = ["image_of", "layout_units", "halves", "synthetic_folds", "sample_cells"]

_WINDOW = re.compile(r"^(?P<image>.+)_r\d+_c\d+(?:_.*)?$")


def image_of(name: str | None) -> str | None:
    """The image a window layout was cut from, from its name (``None``: no image in the name)."""
    m = _WINDOW.match(name or "")
    return m.group("image") if m else None


def layout_units(names: Sequence, known: Sequence | None = None) -> tuple[np.ndarray, bool]:
    """``(unit per layout, by_image)``: an integer id of each layout's image
    (in sorted image order) — the set's own source images (``known``, e.g.
    from ``--group-by``) when every layout has one, else the image each name
    carries when every name carries one — else each layout its own unit
    (``by_image`` False)."""
    images = list(known) if known is not None and len(known) == len(names) and all(known) else []
    images = images or [image_of(n) for n in names]
    if names and all(images):
        uniq = sorted(set(images))
        pos = {s: i for i, s in enumerate(uniq)}
        return np.array([pos[s] for s in images], np.int64), True
    return np.arange(len(names), dtype=np.int64), False


def halves(units: np.ndarray, seed: int) -> np.ndarray:
    """Fold 0 or 1 of each layout: its unit's half of a seeded deal of the units into two."""
    n_units = int(units.max()) + 1 if len(units) else 0
    return assign_groups(n_units, 2, seed)[units] if n_units else np.zeros(0, np.int64)


def synthetic_folds(
    n_synth: int, pairs, synth_names: Sequence, real_names: Sequence, real_fold: np.ndarray, seed: int
) -> tuple[np.ndarray, str]:
    """Fold of each synthetic layout and how it was found: its real
    partner's (``pairs``), else the fold of the real image its name names,
    else a seeded random deal into two (a layout of neither kind)."""
    fold = np.full(n_synth, -1, np.int64)
    for i, j in pairs or ():
        fold[j] = real_fold[i]
    how = "its real partner's image half"
    if (fold < 0).any():
        by_image = {image_of(n): f for n, f in zip(real_names, real_fold, strict=True)}
        for j in np.flatnonzero(fold < 0):
            fold[j] = by_image.get(image_of(synth_names[int(j)]), -1)
        how = "its real partner's or its named image's half"
    rest = np.flatnonzero(fold < 0)
    if len(rest):
        fold[rest] = assign_groups(len(rest), 2, seed + 1)
        how += f"; {len(rest)} without either dealt at random"
    return fold, how


def sample_cells(candidates: np.ndarray, cap: int, seed: int, tag: int) -> np.ndarray:
    """At most ``cap`` of the cell indices ``candidates``, drawn without
    replacement with a fixed seed (sorted; all of them when there are fewer)."""
    if len(candidates) <= cap:
        return np.asarray(candidates, np.int64)
    g = np.random.default_rng([int(seed), 0x7574, int(tag)])
    return np.sort(g.choice(np.asarray(candidates, np.int64), cap, replace=False))

"""Per-layout topological feature vectors: one row per layout, to embed,
plot, or compare layout by layout (fidelity, diversity, memorisation).

A layout's vector is, per class, the √landscape features TopoKD uses
(:func:`topofd.metrics.landscape_kd.features`: the first persistence
landscape of its H1 diagram on 100 positions up to the 99th percentile of
the *real* set's deaths, square-rooted), the classes concatenated in report
order.  The sampling is fixed by the real set alone, so every set compared
with it (synthetic, training) lands in the same space.

``scale=True`` (the default) divides each class block by the real set's
spread of that block, √tr Σ_real (the root mean squared distance of a real
vector to the real mean), so that each class weighs the same in a distance
between whole layouts whatever its persistence range; a class with no H1
point anywhere is a zero block.  ``counts=True`` appends one more block,
log(1 + cell count) per class, standardised the same way.

Example (a 2-D map of a real and a synthetic set)::

    Fr, Fs = layout_features(ev.real_view(), synth_view)
    xy = sklearn.decomposition.PCA(2).fit(Fr).transform(np.vstack([Fr, Fs]))
"""

from __future__ import annotations

import numpy as np

from topofd.metrics.landscape_kd import features, sampling
from topofd.state import SetView

__all__ = ["class_features", "layout_features", "block_scale"]


def class_features(real: SetView, *others: SetView, k: int) -> list[np.ndarray]:
    """``[F_real, F_other, ...]``: the √landscape features of class ``k``
    (one row per layout) of the real set and of each other set, on the
    sampling of the real set (of the first other set when the real set has
    no H1 point of that class)."""
    dr = real.cls(k)
    t = sampling(dr, others[0].cls(k) if others else ())
    return [features(dr, t), *(features(o.cls(k), t) for o in others)]


def block_scale(F_real: np.ndarray) -> float:
    """√tr Σ of the real rows (1 when they do not vary)."""
    if len(F_real) < 2:
        return 1.0
    s = float(np.sqrt(np.sum(np.var(F_real, axis=0, ddof=1))))
    return s if s > 0 else 1.0


def layout_features(real: SetView, *others: SetView, counts: bool = False, scale: bool = True) -> list[np.ndarray]:
    """``[F_real, F_other, ...]``, one ``(n_layouts, C · 100 [+ C])`` array
    per set: each layout's per-class √landscape features concatenated in
    class order (see the module docstring), the sampling and the scaling
    fixed by ``real``.  The sets must have their classes in the same order
    (the Evaluator's views do)."""
    C = real.counts.shape[1]
    for o in others:
        if o.counts.shape[1] != C:
            raise ValueError(f"layout_features: a set has {o.counts.shape[1]} classes, the real set {C}")
    blocks: list[list[np.ndarray]] = [[] for _ in range(1 + len(others))]
    for k in range(C):
        Fs = class_features(real, *others, k=k)
        s = block_scale(Fs[0]) if scale else 1.0
        for b, F in zip(blocks, Fs):
            b.append(F / s)
    if counts:
        L = [np.log1p(np.asarray(v.counts, float)) for v in (real, *others)]
        mu = L[0].mean(axis=0)
        s = block_scale(L[0]) if scale else 1.0
        for b, F in zip(blocks, L):
            b.append((F - mu) / s if scale else F)
    return [np.hstack(b) if b else np.zeros((len(v), 0)) for b, v in zip(blocks, (real, *others))]

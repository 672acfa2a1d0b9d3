"""``rips_h1`` (the diagram stage's Rips H1: ripser stopped at the enclosing
radius, only H1 snapped) is ``rips_diagrams(points)[1]``, array for array,
point order included, on real BRCA-M2C clouds and on tie-heavy grids."""

from __future__ import annotations

import numpy as np

from topofd.tda.persistence import h1_diagrams, rips_diagrams, rips_h1


def test_same_h1_as_rips_diagrams():
    from topofd.layouts.brca_m2c import demo_sets

    real, synth = demo_sets(40, seed=0)
    clouds = [p for l in real + synth for p in l.points]
    rng = np.random.default_rng(0)
    for t in range(300):  # integer grids: equal distances everywhere; duplicates; scaled
        n = int(rng.integers(0, 40))
        Q = rng.integers(0, 12, size=(n, 2)).astype(float)
        if t % 3 == 0 and n > 2:
            Q = np.r_[Q, Q[:2]]
        clouds.append(Q * (np.pi if t % 5 == 0 else 1.0))
    for p in clouds:
        assert np.array_equal(rips_h1(p), rips_diagrams(p)[1])
    want = [rips_diagrams(p)[1] for p in clouds[:20]]
    assert all(np.array_equal(a, b) for a, b in zip(h1_diagrams(clouds[:20]), want))

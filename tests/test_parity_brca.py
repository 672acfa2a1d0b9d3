"""Parity on the full BRCA-M2C test protocol (1,550 patches) with the
published computation.

Golden values: `tests/golden/brca_m2c_paper.json`, written by
`benchmarks/reference/brca_golden.py` in the reference environment (gudhi
3.13.0 Rips H1 -> gudhi `lagrangian_barycenter(init=0)` -> giotto-tda 0.6.2
`PersistenceLandscape()` per diagram -> `np.cov` -> pytorch-fid FD with
scipy 1.17.1 `sqrtm`); regeneration recipe in `tests/golden/README.md`.  The
patches and the matched-count baselines are rebuilt here from the bundled
labels exactly as that recipe builds its folders (`topofd.patches`,
`topofd.baselines.perturb(..., sigma=4, seed=0)`, rasterised and read back).
"""
import json
from pathlib import Path

import numpy as np
import pytest

import topofd
from topofd import Layout
from topofd.api import Diagrams, stats_key
from topofd.baselines import perturb
from topofd.cache import Cache
from topofd.demo import bundled_root, real_patches

GOLDEN = json.loads((Path(__file__).parent / "golden" / "brca_m2c_paper.json").read_text())
CLASSES = ["lym", "epi", "stro"]


@pytest.fixture(scope="module")
def real():
    with bundled_root() as root:
        layouts = real_patches(root)
    layouts = sorted(layouts, key=lambda l: l.name)  # the published order: file names sorted
    assert len(layouts) == 1550
    return layouts


def _baseline(real, kind):
    return [Layout.from_array(perturb(l, kind, sigma=4.0, seed=0).to_array(), CLASSES, name=f"{l.name}_gen")
            for l in real]


def test_bundled_real_statistics_are_the_published_ones(real):
    keys = Diagrams(real).keys
    cache = Cache(None)
    for k in range(3):
        stats = cache.get(stats_key(keys, "paper", k, 100, 1))
        assert stats is not None, "bundled statistics missing for this protocol"
        assert np.array_equal(stats.barycenter, np.array(GOLDEN["real"]["barycenters"][k]))
        assert np.array_equal(stats.mu, np.array(GOLDEN["real"]["mu"][k]))
        assert np.trace(stats.sigma) == pytest.approx(GOLDEN["real"]["trace_sigma"][k], rel=1e-12)


@pytest.mark.parametrize("kind", ["random", pytest.param("jitter", marks=pytest.mark.slow)])
def test_topofd_equals_published(real, kind):
    synth = _baseline(real, kind)
    rep = topofd.compare(real, synth, metrics=["topofd"], classes=CLASSES, n_jobs=2)
    ref = GOLDEN["comparisons"][kind]
    for k, c in enumerate(CLASSES):
        assert rep.table.at[c, "topofd"] == pytest.approx(ref["topofd"][k], rel=1e-6)
        assert np.array_equal(rep.artifacts[c]["barycenter_synth"], np.array(ref["barycenters"][k]))

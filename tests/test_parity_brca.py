"""Parity on the full BRCA-M2C test protocol (1,550 patches) with the
published computation.

Golden values: `tests/golden/brca_m2c_paper.json`, written by
`benchmarks/reference/brca_golden.py` in the reference environment (gudhi
3.13.0 Rips H1 -> gudhi `lagrangian_barycenter(init=0)` -> giotto-tda 0.6.2
`PersistenceLandscape()` per diagram -> `np.cov` -> pytorch-fid FD with
scipy 1.17.1 `sqrtm`); regeneration recipe in `tests/golden/README.md`.  The
patches and the matched-count baselines are rebuilt here from the bundled
labels exactly as that recipe builds its folders (`topofd.layouts.patches`,
`topofd.layouts.baselines.perturb(..., sigma=4, seed=0)`, rasterised and read back).
"""
import json
from pathlib import Path

import numpy as np
import pytest

import topofd
from topofd import Layout
from topofd.diagrams import compute_diagrams
from topofd.storage.keys import layout_key, stats_key
from topofd.layouts.baselines import perturb
from topofd.storage.cache import Cache
from topofd.layouts.brca_m2c import bundled_root, real_patches
from topofd.storage.reference import load_reference

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
    ref = load_reference("brca-m2c:test")
    keys = [layout_key(l) for l in real]
    assert ref.keys == keys and ref.names == [l.name for l in real]  # a folder of these patches hits the bundle
    cache = Cache(None)
    for k in range(3):
        stats = ref.stats[("paper", k, 100, 1)]
        assert cache.get_stats(stats_key(keys, "paper", k, 100, 1)) is stats
        assert np.array_equal(stats.barycenter, np.array(GOLDEN["real"]["barycenters"][k]))
        assert np.array_equal(stats.mu, np.array(GOLDEN["real"]["mu"][k]))
        assert np.trace(stats.sigma) == pytest.approx(GOLDEN["real"]["trace_sigma"][k], rel=1e-12)
    # the bundled diagrams are the ones topofd computes from the layouts
    fresh, _ = compute_diagrams(real[:50], cache=Cache(None, bundled=False))
    assert all(np.array_equal(a, b) for da, db in zip(fresh, ref.diagrams[:50]) for a, b in zip(da, db))


@pytest.mark.parametrize("kind", ["random", pytest.param("jitter", marks=pytest.mark.slow)])
def test_topofd_equals_published(real, kind):
    synth = _baseline(real, kind)
    # the value only: the intervals' extra barycenters are not the published computation
    rep = topofd.compare(real, synth, metrics=["topofd"], classes=CLASSES, n_jobs=2, uncertainty=False)
    ref = GOLDEN["comparisons"][kind]
    for k, c in enumerate(CLASSES):
        assert rep.table.at[c, "topofd"] == pytest.approx(ref["topofd"][k], rel=1e-6)
        assert np.array_equal(rep.artifacts[c]["barycenter_synth"], np.array(ref["barycenters"][k]))

"""Scale helpers: simulated patches, and the per-patch work on a Dask cluster
through joblib's dask backend (what ``topofd compare --scheduler`` uses)."""
import importlib.util

import numpy as np
import pytest

from topofd import compare

from conftest import benchmark_module

scale = benchmark_module("scale")


def test_simulated_patches_deterministic():
    a, b = scale.simulate(3, seed=1), scale.simulate(3, seed=1)
    assert a.classes == scale.CLASSES and a.shape == (256, 256)
    for p, q in zip(a.points, b.points):
        np.testing.assert_array_equal(p, q)
        assert ((p >= 0) & (p < 256)).all()
    assert a.counts.sum() > 20
    assert not np.array_equal(scale.simulate(4, seed=1).points[2], a.points[2])


def test_extrapolation_is_linear():
    runs = [dict(n=n, jobs=1, simulate_s=0.0, compare_grid_s=0.01 * n + 1, peak_mb=100 + 0.001 * n) for n in (100, 1000)]
    fit = scale.extrapolate(runs, 1)
    assert fit["predicted_100k_s"] == pytest.approx(1001, rel=1e-6)
    assert fit["predicted_100k_peak_mb"] == pytest.approx(200, rel=1e-6)


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="dask.distributed not installed")
def test_dask_backend_runs_per_patch_work():
    import joblib
    from distributed import Client, LocalCluster, get_task_stream

    real = scale.simulate_set(12, 0, 0)
    synth = scale.simulate_set(12, 0, 1)
    ref = compare(real, synth, metrics=("topofd",), protocol="grid", pairing="none", n_jobs=1)
    # in-process workers: no subprocess start-up, still the real scheduler path
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        with get_task_stream(client) as ts, joblib.parallel_backend("dask"):
            rep = compare(real, synth, metrics=("topofd",), protocol="grid", pairing="none", n_jobs=2)
        assert len(ts.data) > 0  # the diagram chunks ran as dask tasks
    np.testing.assert_allclose(rep.table["topofd"].to_numpy(), ref.table["topofd"].to_numpy(), rtol=1e-12)

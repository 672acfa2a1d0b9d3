"""topofd.integrations.torchmetrics: the DDP-gathered metric equals one
Evaluator fed the whole dataset in order (2 gloo processes on the CPU)."""
import datetime
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchmetrics")

import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

import topofd  # noqa: E402
from topofd.integrations.torchmetrics import TopoMetrics  # noqa: E402
from conftest import random_layouts  # noqa: E402

CLASSES = ("lym", "epi", "stro")
N = 10  # MIN_LAYOUTS: the smallest set that gets intervals


def _maps(seed, n, size=32):
    """``n`` generator-like outputs ``(n, 3, size, size)`` in [-1, 1]: 3x3
    cells on a noisy background (threshold 0 recovers them exactly)."""
    rng = np.random.default_rng(seed)
    a = -np.ones((n, 3, size, size), np.float32)
    for b in range(n):
        for c in range(3):
            for _ in range(rng.integers(4, 9)):
                r, q = rng.integers(0, size - 3, 2)
                a[b, c, r:r + 3, q:q + 3] = 1.0
    return np.clip(a + rng.uniform(-0.3, 0.3, a.shape).astype(np.float32), -1, 1)


def _data():
    return _maps(1, N), _maps(2, N)


def _worker(rank, world, init, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=120))
    try:
        R, S = _data()
        mine = list(range(rank, N, world))  # what DistributedSampler(shuffle=False) deals this rank
        # both sets on both ranks, in batches of different sizes per rank
        m = TopoMetrics(classes=CLASSES)
        bs = 2 + rank
        for i in range(0, len(mine), bs):
            sel = mine[i:i + bs]
            m.update(torch.from_numpy(R[sel]), real=True)
            m.update(torch.from_numpy(S[sel]), real=False)
        scores = m.compute()
        # the real set on rank 0 only: rank 1 gathers an empty real state
        m2 = TopoMetrics(metrics="topofd", classes=CLASSES, pairing="none", uncertainty=False)
        if rank == 0:
            m2.update(torch.from_numpy(R), real=True)
        m2.update(torch.from_numpy(S[mine]), real=False)
        m2.compute()
        with open(f"{out}.{rank}", "wb") as fh:
            pickle.dump({"a": m.report.table, "scores": {k: float(v) for k, v in scores.items()},
                         "b": m2.report.table, "n_local": len(m.layout_meta)}, fh)
    finally:
        dist.destroy_process_group()


def _single(R, S, batches, **kw):
    ev = topofd.Evaluator(classes=CLASSES, **kw)
    for sel in batches:
        ev.update(R[sel], real=True)
        ev.update(S[sel], real=False)
    return ev.compute()


def test_ddp_two_processes_equal_single_evaluator(tmp_path):
    mp.spawn(_worker, args=(2, f"file://{tmp_path}/init", str(tmp_path / "res")), nprocs=2, join=True)
    res = [pickle.loads((tmp_path / f"res.{r}").read_bytes()) for r in range(2)]
    R, S = _data()
    want = _single(R, S, [list(range(N))])
    for r in res:
        pd.testing.assert_frame_equal(r["a"], want.table, check_exact=True)
        assert r["scores"]["topofd"] == want.table.at["mean", "topofd"]
        assert r["scores"]["topofd/epi"] == want.table.at["epi", "topofd"]
        assert r["n_local"] > 0  # compute() put every rank's own state back
    assert np.isfinite(want.table.at["mean", "topofd_se"]) and np.isfinite(want.table.at["mean", "cce"])
    ev = topofd.Evaluator(metrics="topofd", classes=CLASSES, pairing="none", uncertainty=False)
    ev.update(R, real=True)
    ev.update(S, real=False)
    want_b = ev.compute().table
    for r in res:
        pd.testing.assert_frame_equal(r["b"], want_b, check_exact=True)


def test_one_process_state_and_errors():
    R, S = _maps(3, 4, size=24), _maps(4, 4, size=24)
    kw = dict(metrics="topofd", classes=CLASSES, uncertainty=False)
    m = TopoMetrics(**kw)
    assert m(torch.from_numpy(R[:2]), real=True) is None  # forward only accumulates
    m.update(torch.from_numpy(R[2:]), real=True)
    m.update(torch.from_numpy(S), real=False)
    before = [len(getattr(m, k)) for k in ("layout_meta", "diagram_points")]
    bad = torch.from_numpy(S.copy())
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        m.update(bad, real=False)
    with pytest.raises(ValueError, match="canvas"):
        m.update(torch.from_numpy(_maps(5, 2, size=20)), real=False)
    assert [len(getattr(m, k)) for k in ("layout_meta", "diagram_points")] == before
    got = m.compute()
    ev = topofd.Evaluator(**kw)
    ev.update(R, real=True)
    ev.update(S, real=False)
    want = ev.compute()
    pd.testing.assert_frame_equal(m.report.table, want.table, check_exact=True)
    assert got["topofd"].dtype == torch.float64 and float(got["topofd"]) == want.table.at["mean", "topofd"]
    assert m.report.meta["threshold"] == want.meta["threshold"] == 0.0
    m2 = pickle.loads(pickle.dumps(m))
    m2.reset()
    assert m2.report is None and not m2.layout_meta
    with pytest.raises(ValueError, match="real must be True or False"):
        m.update(torch.from_numpy(S), real="yes")
    with pytest.raises(ValueError, match="protocol"):
        TopoMetrics(protocol="nope")
    with pytest.raises(ValueError, match="real set is a loaded reference"):
        TopoMetrics(reference="brca-m2c:test").update(torch.from_numpy(R), real=True)


def test_named_layouts_keep_their_names():
    rng = np.random.default_rng(0)
    kw = dict(classes=("a", "b", "c"), cells=(5, 12), high=50, shape=(50, 50), name="w{i:02d}")
    R = random_layouts(6, rng, **kw)
    S = random_layouts(6, rng, **kw, suffix="_gen")
    kw = dict(metrics="topofd,counts", uncertainty=False)
    m = TopoMetrics(**kw)
    m.update(R[::-1], real=True)  # arrival order is irrelevant for named layouts
    m.update(S[:3], real=False)
    m.update(S[3:], real=False)
    got = m.compute()
    ev = topofd.Evaluator(**kw)
    ev.update(R, real=True)
    ev.update(S, real=False)
    want = ev.compute()
    pd.testing.assert_frame_equal(m.report.table, want.table, check_exact=True)
    assert m.report.meta["n_pairs"] == 6 and float(got["cce/b"]) == want.table.at["b", "cce"]


def test_integrations_package_imports_no_torch():
    code = "import sys, topofd, topofd.integrations; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)

"""The streaming metric: every accepted input form, the same numbers as
``topofd.compare``, merge / pickle / reset, and the bad-input rules (a
rejected batch leaves the state unchanged)."""
import pickle
import subprocess
import sys

import numpy as np
import pytest

import topofd
from topofd import Evaluator, Layout

CLASSES = ("lym", "epi", "stro")


def _maps(n, seed, p=0.01, size=48):
    """(n, 3, size, size) uint8 layout maps: isolated pixels as cells."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, 3, size, size)) < p).astype(np.uint8)


def _layouts(maps, suffix=""):
    return [Layout.from_array(m, CLASSES, channels="first", name=f"{i:07d}{suffix}") for i, m in enumerate(maps)]


def _same(a, b):
    ta, tb = a.table, b.table
    assert list(ta.columns) == list(tb.columns)
    assert np.allclose(ta.to_numpy(float), tb.to_numpy(float), rtol=0, atol=0, equal_nan=True)


@pytest.fixture(scope="module")
def sets():
    return _maps(24, 0), _maps(24, 1, p=0.015)


def test_batches_equal_compare(sets):
    real, synth = sets
    ev = Evaluator(protocol="grid", classes=CLASSES)
    for a, b in ((0, 10), (10, 24)):
        ev.update(real[a:b], real=True)
        ev.update(synth[a:b], real=False)
    ref = topofd.compare(_layouts(real), _layouts(synth, "_gen"), protocol="grid")
    _same(ev.compute(), ref)
    assert ev.compute().meta["n_pairs"] == 24  # i-th synthetic pairs with i-th real


def test_channels_last_and_float_outputs(sets):
    real, synth = sets
    ref = Evaluator(protocol="grid", metrics="topofd,counts")
    ref.update(real, True)
    ref.update(synth, False)
    for conv, thr in ((lambda a: np.moveaxis(a, 1, -1), None),             # (B, H, W, C)
                      (lambda a: a.astype(np.float32) * 2 - 1, None),         # the generator's [-1, 1]
                      (lambda a: a * 0.8 + 0.1, None),                        # probabilities
                      (lambda a: a.astype(bool), None)):
        ev = Evaluator(protocol="grid", metrics="topofd,counts")
        ev.update(conv(real), True)
        ev.update(conv(synth), False)
        _same(ev.compute(), ref.compute())


def test_torch_tensors_without_importing_torch_in_topofd(sets):
    torch = pytest.importorskip("torch")
    real, synth = sets
    ev = Evaluator(protocol="grid", metrics="topofd")
    ev.update(torch.from_numpy(real.astype(np.float32) * 2 - 1), True)
    ev.update(torch.from_numpy(synth.astype(np.float32)).to(torch.bfloat16), False)
    ref = Evaluator(protocol="grid", metrics="topofd")
    ref.update(real, True)
    ref.update(synth, False)
    _same(ev.compute(), ref.compute())
    code = "import sys, topofd; e = topofd.Evaluator(); assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_point_lists(sets):
    real, synth = sets
    R, S = _layouts(real), _layouts(synth, "_gen")
    ev = Evaluator(protocol="grid", metrics="topofd", classes=CLASSES)
    ev.update([l.points for l in R], True)
    ev.update([l.points for l in S], False)
    _same(ev.compute(), topofd.compare(R, S, protocol="grid", metrics="topofd"))


def test_merge_and_pickle_equal_one_evaluator(sets):
    real, synth = sets
    whole = Evaluator(protocol="grid")
    whole.update(_layouts(real), True)
    whole.update(_layouts(synth, "_gen"), False)
    a, b = Evaluator(protocol="grid"), Evaluator(protocol="grid")
    a.update(_layouts(real)[:12], True)
    a.update(_layouts(synth, "_gen")[:12], False)
    b.update(_layouts(real)[12:], True)
    b.update(_layouts(synth, "_gen")[12:], False)
    b = pickle.loads(pickle.dumps(b))
    _same(b.merge(a).compute(), whole.compute())  # merge order does not matter: sets are put in name order
    assert len(pickle.dumps(whole)) < 200_000
    whole.reset()
    with pytest.raises(ValueError, match="before any update"):
        whole.compute()
    with pytest.raises(ValueError, match="different options"):
        Evaluator(protocol="paper").merge(Evaluator(protocol="grid"))


def test_reset_keep_real_forgets_only_the_synthetic_set(sets):
    """A training loop scores each epoch's samples against the same real set."""
    real, synth = sets
    ev = Evaluator(protocol="grid")
    ev.update(_layouts(real), True)
    ev.update(_layouts(real, "_gen"), False)
    ev.reset(keep_real=True)
    assert len(ev.state(True)) == len(real) and len(ev.state(False)) == 0
    ev.update(_layouts(synth, "_gen"), False)
    fresh = Evaluator(protocol="grid")
    fresh.update(_layouts(real), True)
    fresh.update(_layouts(synth, "_gen"), False)
    _same(ev.compute(), fresh.compute())


def test_bad_batches_leave_the_state_unchanged(sets):
    real, synth = sets
    ev = Evaluator(protocol="grid", metrics="topofd")
    ev.update(real, True)
    ev.update(synth, False)
    before = ev.compute().table
    bad = [
        (_maps(2, 5, size=40), "canvas"),                      # another canvas size
        (_maps(2, 5)[:, :2], "classes"),                       # wrong channel count
        (np.full((2, 3, 48, 48), np.nan), "NaN"),
        (np.zeros((3, 48, 48)), "4-D"),
        ("not a batch", "expected"),
        ([object()], "expected"),
    ]
    for x, msg in bad:
        with pytest.raises(ValueError, match=msg):
            ev.update(x, real=False)
    assert len(ev.state(False)) == 24
    _same_table = ev.compute().table
    assert before.equals(_same_table)
    with pytest.raises(ValueError, match="real must be"):
        ev.update(real, real="yes")
    g = Evaluator(metrics="topofd")
    g.update(real.astype(np.float32) * 0.9, True)  # [0, 1]: threshold fixed at 0.5
    with pytest.raises(ValueError, match="threshold"):
        g.update(real.astype(np.float32) * 2 - 1, False)


@pytest.mark.parametrize("kw, msg", [
    (dict(metrics="topofd,nosuch"), "unknown metric"),
    (dict(metrics=[]), "no metrics"),
    (dict(n_bins=0), "n_bins"),
    (dict(se_groups=1), "se_groups"),
    (dict(protocol="bogus"), "protocol"),
    (dict(n_jobs=0), "n_jobs"),
    (dict(mmd_samples=1), "mmd_samples"),
    (dict(permutations=-1), "permutations"),
])
def test_bad_options(kw, msg):
    with pytest.raises(ValueError, match=msg):
        Evaluator(**kw)
    with pytest.raises(ValueError, match=msg):
        topofd.compare([], [], **kw)


def test_counts_need_pairs_only_when_asked_for():
    R = _layouts(_maps(12, 0))
    S = [Layout(l.points, l.classes, l.shape, f"other{i}") for i, l in enumerate(_layouts(_maps(12, 1)))]
    rep = topofd.compare(R, S, protocol="grid")
    assert "cce" not in rep.table and any("count errors skipped" in n for n in rep.meta["notes"])
    with pytest.raises(ValueError, match="paired"):
        topofd.compare(R, S, protocol="grid", metrics=["topofd", "counts"])


def test_empty_classes_and_sets():
    maps = _maps(12, 0)
    maps[:, 2] = 0  # stro empty in both sets
    R, S = _layouts(maps), _layouts(_maps(12, 3) * np.array([1, 1, 0])[None, :, None, None], "_gen")
    rep = topofd.compare(R, S, protocol="grid")
    t = rep.table
    assert np.isnan(t.at["stro", "topofd"])
    assert t.at["mean", "topofd"] == pytest.approx(t.loc[["lym", "epi"], "topofd"].mean())
    assert any("stro" in n and "both sets" in n for n in rep.meta["notes"])
    S2 = _layouts(_maps(12, 3), "_gen")
    rep = topofd.compare(_layouts(maps), S2, protocol="grid")
    assert any("class stro has no cells in the real set" in n for n in rep.meta["notes"])
    empty = _layouts(np.zeros_like(maps), "_gen")
    with pytest.raises(ValueError, match="synthetic set: no cells"):
        topofd.compare(R, empty, protocol="grid")


def test_classes_matched_by_name():
    R = _layouts(_maps(12, 0))
    S = [Layout(l.points[::-1], CLASSES[::-1], l.shape, l.name) for l in _layouts(_maps(12, 1), "_gen")]
    S_same = _layouts(_maps(12, 1), "_gen")
    a = topofd.compare(R, S, protocol="grid")
    b = topofd.compare(R, S_same, protocol="grid")
    _same(a, b)
    other = [Layout(l.points, ("x", "y", "z"), l.shape, l.name) for l in S_same]
    with pytest.raises(ValueError, match="cannot match classes by name"):
        topofd.compare(R, other, protocol="grid")

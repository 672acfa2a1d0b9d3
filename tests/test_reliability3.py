"""Reliability and parity, third pass (issue 26): the surfaces added last
with bad and unusual input, share intervals inside [0, 1], C_T as Meehan
et al. publish it, the fidelity tie rule, and the streaming paths."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import mannwhitneyu
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors

import topofd
from topofd import metrics as registry
from topofd.layouts.layout import Layout
from topofd.layouts.sets import read_layouts
from topofd.metrics.embedding import fidelity_features
from topofd.metrics.manifold import STATS, manifold_scores
from topofd.option_spec import OptionError
from topofd.stats.shares import share_estimate, wilson
from topofd.stats.uncertainty import Estimate

CLASSES = ("lym", "epi", "stro")
SHAPE = (64, 64)


def layouts(n, seed, prefix, spread=1.0):
    """``n`` three-class layouts on a 64 x 64 canvas: clustered cells (a
    cluster centre per class, ``spread`` scales how far cells stray)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        pts = []
        for _ in CLASSES:
            c = rng.uniform(12, 52, 2)
            m = int(rng.integers(4, 14))
            pts.append(np.clip(c + rng.normal(0, 6 * spread, (m, 2)), 0, 63).round())
        out.append(Layout(tuple(pts), CLASSES, SHAPE, f"{prefix}{i:03d}"))
    return out


def renamed(ls, prefix):
    return [Layout(l.points, l.classes, l.shape, f"{prefix}{i:03d}") for i, l in enumerate(ls)]


def evaluate(real, synth, train=None, **kw):
    kw.setdefault("pairing", "none")
    ev = topofd.Evaluator(**kw)
    ev.update(real, real=True)
    ev.update(synth, real=False)
    if train is not None:
        ev.update_train(train)
    return ev, ev.compute()


# ------------------------------------------------------------ C_T parity
def authors_ct(P, Q, T, n_cells, seed, tau_count=20):
    """C_T re-derived from Meehan et al. (2020), Sec. 3 and their published
    ``C_T``/``Zu_cells``/``Zu``: k-means cells of the training rows
    (``KMeans(n_clusters, n_init=10, random_state=seed)``, what topofd
    seeds), L = distance to the nearest training row of the same cell, per
    cell the Mann-Whitney U of generated against test distances
    (``scipy.stats.mannwhitneyu``; the statistic counts L_gen > L_test, ties
    ½), Z = (U − (mn/2 − ½)) / √(mn(m+n+1)/12), cells with more than
    ``tau_count`` generated rows (Q_m(π) > τ = 20/m) weighted by their test
    share P_n(π)."""
    km = KMeans(n_clusters=n_cells, n_init=10, random_state=seed).fit(T)
    tc, pc, qc = km.predict(T), km.predict(P), km.predict(Q)
    num = den = 0.0
    for c in range(n_cells):
        p, q, t = P[pc == c], Q[qc == c], T[tc == c]
        if len(q) <= tau_count or not len(p):
            continue
        nn = NearestNeighbors(n_neighbors=1).fit(t)
        lq, lp = nn.kneighbors(q)[0][:, 0], nn.kneighbors(p)[0][:, 0]
        u = mannwhitneyu(lq, lp, alternative="less").statistic
        m, n = len(q), len(p)
        z = (u - (m * n / 2 - 0.5)) / np.sqrt(m * n * (m + n + 1) / 12)
        num += len(p) / len(P) * z
        den += len(p) / len(P)
    return num / den


@pytest.fixture(scope="module")
def memo():
    train = layouts(120, 1, "t")
    real = layouts(80, 2, "h")
    fresh = layouts(80, 3, "g")
    return train, real, fresh


@pytest.mark.parametrize("kind", ["fresh", "copies", "spread"])
def test_ct_equals_the_authors_formula(memo, kind):
    train, real, fresh = memo
    synth = {
        "fresh": fresh,
        "copies": renamed(train[:80], "c"),
        "spread": layouts(80, 4, "w", spread=1.6),
    }[kind]
    ev, r = evaluate(real, synth, train, metrics="ct", seed=7)
    (P, Q, T), _, _ = fidelity_features(ev.real_view(), ev.state(False).view(True), ev._train.view(False))
    n = r.meta["ct"]["n_cells"]
    assert n == 2
    want = authors_ct(P, Q, T, n, seed=7)
    assert abs(r.table.at["mean", "ct"] - want) <= 1e-12
    for cell in r.meta["ct"]["cells"]:
        assert 0 <= cell["share_real_lo"] <= cell["share_real"] <= cell["share_real_hi"] <= 1


# ------------------------------------------------------- P/R/D/C parity
def prdc(real, fake, k):
    """The rule of the ``prdc`` package (Naeem et al. 2020): k-NN radii
    including the point itself at rank 0, strict ``<``, plain distances."""
    rr, ff, rf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    r = np.sort(rr, axis=1)[:, k]
    s = np.sort(ff, axis=1)[:, k]
    return {
        "precision": (rf < r[:, None]).any(axis=0).mean(),
        "recall": (rf < s[None, :]).any(axis=1).mean(),
        "density": (rf < r[:, None]).sum(axis=0).mean() / k,
        "coverage": (rf.min(axis=1) < r).mean(),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prdc_parity_where_no_distance_ties_a_radius(seed):
    rng = np.random.default_rng(seed)
    Fr, Fs = rng.normal(size=(120, 6)), rng.normal(0.3, 1.2, size=(90, 6))
    got = {k: v[0] for k, v in manifold_scores(Fr, Fs, k=5).items()}
    want = prdc(Fr, Fs, 5)
    for stat in STATS:
        assert abs(got[stat] - want[stat]) <= 2e-16, stat


def test_fidelity_scores_do_not_move_with_a_shift_or_a_scale():
    rng = np.random.default_rng(5)
    # tight clusters with duplicates: distances near and at the radii, zero rows as in sparse classes
    Fr = np.vstack([rng.normal(0, 1e-3, (40, 4)), np.zeros((10, 4))])
    Fs = np.vstack([rng.normal(0, 1.2e-3, (40, 4)), np.zeros((6, 4)), Fr[:5]])
    base = {k: v[0] for k, v in manifold_scores(Fr, Fs, k=5).items()}
    for shift, scale in ((1e3, 1.0), (-7.5, 1.0), (0.0, 1e4), (0.0, 1e-4), (3e3, 20.0)):
        got = {k: v[0] for k, v in manifold_scores(Fr * scale + shift, Fs * scale + shift, k=5).items()}
        assert got == base, (shift, scale)


# ------------------------------------------------------- share intervals
def test_wilson_bounds_and_effective_size():
    assert wilson(1.0, 8) == pytest.approx((8 / (8 + 1.959963984540054**2), 1.0))
    for p, se in ((1.0, 0.0625), (0.0, 0.05), (0.97, 0.04), (0.5, 0.3)):
        e = share_estimate(Estimate(p, se, p - 2 * se, p + 2 * se, 7), 40)
        assert 0.0 <= e.lo <= p <= e.hi <= 1.0 and e.se == se
    assert share_estimate(Estimate(0.5), 10) == Estimate(0.5)  # no se: nothing to do


def test_share_scores_have_intervals_inside_zero_one(memo):
    train, real, fresh = memo
    _, r = evaluate(real, renamed(real, "same"), metrics="fidelity,near_copies", train=train)
    for col in ("precision", "recall", "coverage", "near_copies"):
        lo, v, hi = (r.table.at["mean", col + s] for s in ("_lo", "", "_hi"))
        assert 0.0 <= lo <= v <= hi <= 1.0, (col, lo, v, hi)
    assert "Wilson" in r.meta["uncertainty"]["coverage"]


# ------------------------------------------------------ streaming parity
def _table(report):
    return report.table.astype(float)


@pytest.mark.parametrize("name", registry.names())
def test_evaluator_compare_and_topometrics_agree(memo, name):
    train, real, fresh = memo
    real, synth = real[:40], fresh[:40]
    needs_train = "train" in registry.get(name).needs
    kw = dict(metrics=name, protocol="grid", pairing="none", seed=3, classes=CLASSES)
    if name == "counts":
        kw["pairing"] = "prefix"
        synth = [Layout(s.points, s.classes, s.shape, r.name + "_g") for r, s in zip(real, synth)]
    train_set = None
    if not needs_train:
        try:
            b = topofd.compare(real, synth, **kw)
        except ValueError as e:  # a metric refusing these sets (utility: too few cells) refuses on every path
            with pytest.raises(ValueError) as again:
                evaluate(real, synth, None, **kw)
            assert str(again.value) == str(e)
            return
    else:  # compare reads the training set from files: the Evaluator gets what it reads
        with tempfile.TemporaryDirectory() as d:
            for l in train:
                np.save(Path(d) / f"{l.name}.npy", l.to_array(channels="last"))
            b = topofd.compare(real, synth, train=d, **kw)
            train_set, _ = read_layouts(d, classes=CLASSES)
    _, a = evaluate(real, synth, train_set, **kw)
    np.testing.assert_allclose(_table(a), _table(b), rtol=0, atol=0, equal_nan=True)
    if needs_train:
        return  # TopoMetrics takes no training set
    tm = pytest.importorskip("topofd.integrations.torchmetrics")
    m = tm.TopoMetrics(**kw)
    m.update(real, real=True)
    m.update(synth, real=False)
    m.compute()
    np.testing.assert_allclose(_table(a), _table(m.report), rtol=0, atol=0, equal_nan=True)


# ------------------------------------------------- the failing cases, one each
def _cli(*args):
    from click.testing import CliRunner

    from topofd.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def _one_line_exit(res, code, *words):
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output and "Errno" not in res.output
    for w in words:
        assert w in res.output, (w, res.output)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    d = tmp_path_factory.mktemp("small")
    for l in layouts(12, 31, "s"):
        np.save(d / f"{l.name}.npy", l.to_array(channels="last"))
    return d


def test_points_without_canvas_take_the_other_sets_canvas(tmp_path, memo):
    _, real, _ = memo
    npy, csv = tmp_path / "npy", tmp_path / "csv"
    npy.mkdir(), csv.mkdir()
    for l in real[:30]:
        np.save(npy / f"{l.name}.npy", l.to_array(channels="last"))
    back, _ = read_layouts(npy, classes=CLASSES)
    for l in back:  # the same cells as a point table, which has no canvas size
        rows = [f"{x:g},{y:g},{c}" for c, p in zip(CLASSES, l.points) for y, x in p]
        (csv / f"{l.name}.csv").write_text("x,y,class\n" + "\n".join(rows) + "\n")
    kw = dict(metrics="fidelity,fid", classes=CLASSES, pairing="none")
    same = topofd.compare(npy, npy, **kw)
    r = topofd.compare(npy, csv, **kw)
    assert r.table.at["mean", "precision"] == 1.0
    assert r.table.at["mean", "layout_fid"] == pytest.approx(same.table.at["mean", "layout_fid"], abs=1e-9)
    assert any("no canvas size: put on the other set's 64x64 canvas" in n for n in r.meta["notes"])


def test_update_train_after_the_sets_scores_the_cells(memo):
    train, real, _ = memo
    ev = topofd.Evaluator(pairing="none", protocol="grid")
    ev.update(real, real=True)
    ev.update(renamed(train[:80], "c"), real=False)
    ev.update_train(train)
    r = ev.compute()
    assert r.table.at["mean", "ct"] <= -3 and r.table.at["mean", "near_copies"] == 1.0
    assert not any("reference file" in n for n in r.meta["notes"])


def test_extractor_checks(tmp_path, memo, small):
    _, real, fresh = memo
    tm = pytest.importorskip("topofd.integrations.torchmetrics")
    with pytest.raises(OptionError, match="nope.pt: no such file"):
        tm.TopoMetrics(metrics="fid", extractor=str(tmp_path / "nope.pt"))
    res = _cli("compare", small, small, "--metrics", "topokd", "--extractor", tmp_path / "m.pt")
    _one_line_exit(res, 2, "--extractor", "m.pt: no such file")
    # the same features for every layout: a note, not a silent 0
    _, r = evaluate(real[:20], fresh[:20], metrics="fid", extractor=lambda x: np.ones((len(x), 4)))
    assert any("same features" in n and "Layout FID" in n for n in r.meta["notes"])
    # one synthetic layout: FID/KID not defined, said so
    _, r = evaluate(real[:20], fresh[:1], metrics="fid", extractor=lambda x: x.reshape(len(x), -1)[:, :8])
    assert np.isnan(r.table.at["mean", "layout_kid"])
    assert any("Layout KID not defined: 20 real and 1 synthetic" in n for n in r.meta["notes"])


def test_extractor_width_must_not_change_with_the_batch():
    from topofd.encoders.extract import Extractor, encode

    pts = [(np.array([[5.0, 5.0]]), np.zeros((0, 2)), np.zeros((0, 2)))] * 130  # two batches: 128 and 2
    with pytest.raises(OptionError, match="by_batch: returned 2 features for one batch and 128 for another"):
        encode(Extractor("by_batch", lambda x: np.ones((len(x), len(x))), None), pts, [SHAPE] * 130)


def test_two_classes_with_the_shipped_encoder_is_one_line():
    two = [Layout(l.points[:2], CLASSES[:2], SHAPE, l.name) for l in layouts(12, 9, "a")]
    with pytest.raises(ValueError, match="shipped encoder reads 3 classes, these sets have 2; give --extractor") as e:
        evaluate(two, renamed(two, "b"), metrics="fid")
    assert "\n" not in str(e.value) and "TorchScript" not in str(e.value)


def test_missing_torch_does_not_blame_the_extractor_option(monkeypatch):
    import sys

    from topofd.encoders import extract

    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setattr(extract, "_LOADED", type(extract._LOADED)())
    with pytest.raises(ValueError, match="need torch") as e:
        extract.load_extractor(None)
    assert not isinstance(e.value, OptionError)


def test_memorisation_edge_cases(memo, small):
    train, real, fresh = memo
    res = _cli("compare", small, small, "--train", "")
    _one_line_exit(res, 2, "--train", "empty path")
    # a training set holding real layouts: they leave the held-out set, the threshold stays > 0
    _, r = evaluate(real, fresh, [*train, *real[:3]], metrics="memorisation")
    assert r.meta["near_copies"]["threshold_px"] > 0
    assert any("3 real layouts are also in the training set" in n for n in r.meta["notes"])
    empty = [Layout(tuple(np.zeros((0, 2)) for _ in CLASSES), CLASSES, SHAPE, f"e{i}") for i in range(30)]
    with pytest.raises(ValueError, match="training set: all 30 layouts are empty"):
        evaluate(real, fresh, empty, metrics="memorisation")
    for seed in (-1, 2**32):
        with pytest.raises(OptionError, match="seed: must be an integer from 0 to 4294967295"):
            topofd.Evaluator(seed=seed)
        _one_line_exit(_cli("compare", small, small, "--seed", seed), 2, "--seed")


def test_options_and_state_refusals(memo):
    train, real, fresh = memo
    with pytest.raises(OptionError, match="classes: entries must be strings, got None"):
        topofd.Options(classes=["a", None, "c"])
    ev = topofd.Evaluator(metrics="ct")
    ev.load_train_reference("brca-m2c:test")
    n = len(ev._train)
    other = topofd.Evaluator(metrics="ct")
    other.update_train(train[:3])
    with pytest.raises(ValueError, match="training set is a loaded reference"):
        ev.merge(other)
    assert len(ev._train) == n
    empty = np.zeros((0, 3, 64, 64), np.float32)
    ev = topofd.Evaluator()
    ev.update(empty, real=True)
    assert len(ev.state(True)) == 0 and ev.threshold_used is None
    tm = pytest.importorskip("topofd.integrations.torchmetrics")
    m = tm.TopoMetrics()
    m.update(empty, real=True)
    m.update(empty, real=False)


def test_leaderboard_names_rows_without_the_ranking_score(tmp_path):
    import json

    from topofd.output import leaderboard as lb

    def rep(name, mean):
        d = {"protocol": "paper", "classes": ["a"], "per_class": [{"class": "a"}], "mean": mean,
             "meta": {"method": name, "test_set": "t", "n_real": 10, "n_synth": 10}}
        (tmp_path / f"{name}.json").write_text(json.dumps(d))
        return tmp_path / f"{name}.json"

    df = lb.build_table(lb.load_reports([rep("kd", {"topokd": 0.1, "topofd": 3.0}), rep("fid", {"precision": 0.9})]))
    assert any("not ranked, listed last: no TopoKD in the report of fid" in n for n in df.attrs["notes"])


# ------------------------------------------------------------ train-encoder
@pytest.fixture(scope="module")
def enc_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("enc")
    (d / "tr").mkdir(), (d / "empty").mkdir()
    for l in layouts(8, 21, "e"):
        np.save(d / "tr" / f"{l.name}.npy", l.to_array(channels="last"))
        np.save(d / "empty" / f"{l.name}.npy", np.zeros((64, 64, 3), np.uint8))
    return d


def test_train_encoder_refusals(enc_dir, monkeypatch):
    pytest.importorskip("torch")
    _one_line_exit(_cli("train-encoder", enc_dir / "empty", "--out", enc_dir / "e.pt", "--batch", 4), 1, "are empty")
    import os

    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if m == os.W_OK else real_access(p, m))
    _one_line_exit(_cli("train-encoder", enc_dir / "tr", "--out", enc_dir / "ro.pt", "--batch", 4), 1, "cannot write")
    assert not (enc_dir / "ro.pt").exists()


def test_train_encoder_checkpoints(enc_dir, tmp_path):
    torch = pytest.importorskip("torch")
    from topofd.encoders.train import train_encoder

    L, _ = read_layouts(enc_dir / "tr")
    P, C = [l.points for l in L], [l.shape for l in L]
    out = tmp_path / "r.pt"

    def stop(m):
        if m.startswith("epoch 1/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_encoder(P, C, out, epochs=2, batch=4, log=stop)
    with pytest.raises(ValueError, match="r.pt.ckpt: a checkpoint of other layouts, epochs, batch size"):
        train_encoder(P, C, out, epochs=2, batch=2, log=lambda m: None)
    ckpt = out.with_suffix(".pt.ckpt")
    ckpt.write_bytes(ckpt.read_bytes()[:100])  # truncated
    with pytest.raises(ValueError, match="r.pt.ckpt: not a readable train-encoder checkpoint"):
        train_encoder(P, C, out, epochs=2, batch=4, log=lambda m: None)
    # a checkpoint that would run code when unpickled is refused, and the code does not run
    marker = tmp_path / "ran"
    torch.save({"trunk": _Evil(str(marker)), "epoch": 1}, ckpt)
    with pytest.raises(ValueError, match="not a readable train-encoder checkpoint"):
        train_encoder(P, C, out, epochs=2, batch=4, log=lambda m: None)
    assert not marker.exists()


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))

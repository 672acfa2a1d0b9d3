"""Fidelity, diversity and memorisation (issue 18): per-layout features,
precision / recall / density / coverage, C_T and near copies."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import topofd
from topofd.cli import cli
from topofd.layouts.layout import Layout
from topofd.layouts.point_distance import matching_distance
from topofd.metrics.copying import THRESHOLD, ct_statistic
from topofd.metrics.embedding import (
    FALLBACK_SPACE,
    FIDELITY_SPACE,
    H0_QUANTILES,
    fidelity_features,
    h0_features,
    layout_features,
    mst_edges,
)
from topofd.metrics.manifold import manifold_scores
from topofd.options import OptionError, Options

CLASSES = ("a", "b")
SHAPE = (96, 96)


def _ring(rng, n, r, centre=(48, 48)):
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    return np.c_[centre[0] + r * np.cos(t), centre[1] + r * np.sin(t)].clip(0, 95)


def rings(n, seed, prefix="r", radii=(8.0, 30.0)):
    """``n`` layouts of two classes, each a noisy ring (one H1 loop) of a radius drawn in ``radii``."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        r = rng.uniform(*radii, size=2)
        pts = (_ring(rng, 12, r[0]), _ring(rng, 14, r[1]) + rng.normal(0, 0.5, (14, 2)))
        out.append(Layout(tuple(p.clip(0, 95) for p in pts), CLASSES, SHAPE, f"{prefix}{i:03d}"))
    return out


def renamed(layouts, prefix):
    return [Layout(l.points, l.classes, l.shape, f"{prefix}{i:03d}") for i, l in enumerate(layouts)]


def scores(real, synth, metrics="fidelity", train=None, **kw):
    ev = topofd.Evaluator(metrics=metrics, pairing="none", **kw)
    ev.update(real, real=True)
    ev.update(synth, real=False)
    if train is not None:
        ev.update_train(train)
    return ev.compute()


# ------------------------------------------------------------ the statistics
def test_manifold_scores_by_hand():
    # k = 1: real radii 1, 1, 1, 8; synthetic radii 19.5, 19.5
    Fr = np.array([[0.0], [1.0], [2.0], [10.0]])
    Fs = np.array([[0.5], [20.0]])
    s = {k: v[0] for k, v in manifold_scores(Fr, Fs, k=1).items()}
    assert s["precision"] == 0.5  # 0.5 is in the balls of 0 and 1; 20 in none
    assert s["density"] == 1.0  # (2 + 0) / (k · M)
    assert s["coverage"] == 0.5  # the balls of 0 and 1 hold a synthetic point
    assert s["recall"] == 1.0  # the outlier's huge ball recalls every real point: why coverage exists


def test_leave_out_replicates_drop_the_group():
    Fr = np.arange(20.0)[:, None]
    Fs = np.arange(20.0)[:, None] + 0.25
    lab = np.arange(20) % 4
    for stat, (v, reps) in manifold_scores(Fr, Fs, k=2, labels=lab).items():
        assert len(reps) == 4 and np.isfinite(reps).all(), stat
    # the replicate without group g has the precision of the others: all inside
    assert manifold_scores(Fr, Fs, k=2, labels=lab)["precision"][1] == [1.0] * 4


def test_synthetic_equal_to_real_is_perfect():
    real = rings(30, 0)
    t = scores(real, renamed(real, "s")).table
    for c in ("precision", "recall", "coverage"):
        assert t.at["mean", c] == 1.0, c
        assert np.isnan(t.at["a", c])  # whole layouts: the mean row only
    assert t.at["mean", "density"] >= 1.0


def test_mode_dropping_keeps_precision_and_lowers_recall_and_coverage():
    real = rings(40, 1)
    # the layouts whose two rings are both small only
    small = [l for l in real if np.ptp(l.points[0][:, 0]) < 30 and np.ptp(l.points[1][:, 0]) < 40]
    assert 6 < len(small) <= 20
    t = scores(real, renamed(small, "s")).table
    assert t.at["mean", "precision"] == 1.0
    assert t.at["mean", "recall"] < 0.8
    assert t.at["mean", "coverage"] < 0.8


def test_fewer_layouts_than_k_plus_one():
    real, synth = rings(4, 2), rings(12, 3, "s")
    r = scores(real, synth)
    assert np.isnan(r.table.at["mean", "precision"]) and np.isnan(r.table.at["mean", "coverage"])
    assert np.isfinite(r.table.at["mean", "recall"])
    assert any("Precision not defined: 4 real layouts, fewer than k + 1 = 6" in n for n in r.meta["notes"])
    r = scores(rings(12, 2), rings(12, 3, "s"), fidelity_k=3)
    assert np.isfinite(r.table.at["mean", "precision"]) and r.meta["fidelity"]["k"] == 3


def test_layout_features_one_row_per_layout():
    ev = topofd.Evaluator(metrics="topokd", pairing="none")
    ev.update(rings(10, 0), real=True)
    ev.update(rings(7, 1, "s"), real=False)
    R, S = ev.state(True).view(False), ev.state(False).view(True)
    Fr, Fs = layout_features(R, S)
    assert Fr.shape == (10, 200) and Fs.shape == (7, 200)
    Fr2, Fs2 = layout_features(R, S, counts=True)
    assert Fr2.shape == (10, 202) and np.allclose(Fr2[:, :200], Fr)
    with pytest.raises(ValueError, match="needs the cells"):
        layout_features(R, S, h0=True)  # topokd alone keeps no cells


def test_mst_edges_by_hand():
    # a 4 x 5 grid at spacing 3: 19 tree edges of length 3; a repeated point adds a 0
    g = np.array([(3 * i, 3 * j) for i in range(4) for j in range(5)], float)
    assert np.allclose(mst_edges(g), 3.0) and len(mst_edges(g)) == 19
    e = mst_edges(np.vstack([g, g[:1]]))
    assert len(e) == 20 and np.sort(e)[0] == 0.0 and np.allclose(np.sort(e)[1:], 3.0)
    assert np.allclose(np.sort(mst_edges(np.array([[0, 0], [0, 4.0], [0, 10.0]]))), [4.0, 6.0])  # collinear
    assert len(mst_edges(np.zeros((0, 2)))) == 0 and len(mst_edges(np.ones((1, 2)))) == 0


def test_h0_block_is_scale_free_and_zero_below_two_cells():
    g = np.array([(3 * i, 3 * j) for i in range(4) for j in range(5)], float)
    lay = [
        Layout((g + 10, g[:1]), CLASSES, SHAPE, "grid"),
        Layout((2 * g + 10, g[:0]), CLASSES, (2 * SHAPE[0], 2 * SHAPE[1]), "grid2"),  # the same pattern, twice the scale
    ]
    ev = topofd.Evaluator(metrics="near_copies", pairing="none")  # keeps the cells
    ev.update(lay, real=True)
    R = ev.real_view()
    F = h0_features(R, 0)
    assert F.shape == (2, len(H0_QUANTILES)) and np.allclose(F, 3.0 * np.sqrt(20 / (96 * 96)))
    assert not h0_features(R, 1).any()  # 1 and 0 cells: no edge
    Fr, _ = layout_features(R, R, h0=True)
    w = layout_features(R, R)[0].shape[1]
    assert Fr.shape == (2, w + 2 * len(H0_QUANTILES))


def test_fidelity_features_are_h0_with_cells_and_h1_without():
    kept = topofd.Evaluator(metrics="precision", pairing="none")  # a fidelity plug-in keeps the cells
    kept.update(rings(10, 0), real=True)
    R = kept.real_view()
    (F,), space, note = fidelity_features(R)
    assert space == FIDELITY_SPACE and note is None and F.shape == (10, 2 * len(H0_QUANTILES))
    assert np.allclose(F, layout_features(R, h1=False, h0=True)[0])
    bare = topofd.Evaluator(metrics="topokd", pairing="none")
    bare.update(rings(7, 1, "s"), real=True)
    (Fr, Fs), space, note = fidelity_features(R, bare.real_view())  # a set without cells: the H1 vector
    assert space == FALLBACK_SPACE and "no cells" in note and Fr.shape == (10, 200) and Fs.shape == (7, 200)


# ------------------------------------------------------------ memorisation
def test_ct_by_hand():
    # generated distances all 0, test distances all positive: U = 0, Z = (0 − mn/2 + ½)/√(mn(m+n+1)/12)
    # (the authors' continuity correction); a cell needs more than 20 generated layouts (τ = 20/m)
    cells = np.zeros(21, int)
    v, info = ct_statistic(cells, np.ones(21), cells, np.zeros(21), 1)
    assert v == pytest.approx((0.5 - 21 * 21 / 2) / np.sqrt(21 * 21 * 43 / 12)) and info[0]["z"] == pytest.approx(v)
    v, _ = ct_statistic(cells, np.ones(21), cells[:20], np.zeros(20), 1)  # 20 generated: not in Π_τ
    assert np.isnan(v)


def test_matching_distance():
    a = (np.array([[0.0, 0.0], [10.0, 10.0]]), np.zeros((0, 2)))
    assert matching_distance(a, a, cap=5) == 0
    b = (a[0] + [0, 1], np.zeros((0, 2)))
    assert matching_distance(a, b, cap=5) == pytest.approx(1.0)
    c = (a[0][:1], np.array([[3.0, 3.0]]))  # one matched cell at 0, one unmatched per class: (0 + 5 + 5) / 3
    assert matching_distance(a, c, cap=5) == pytest.approx(10 / 3)


@pytest.fixture(scope="module")
def memo_sets():
    train = rings(60, 10, "t", radii=(6.0, 40.0))
    heldout = rings(40, 11, "h", radii=(6.0, 40.0))
    fresh = rings(40, 12, "g", radii=(6.0, 40.0))
    return train, heldout, fresh


def test_exact_train_copies_are_flagged(memo_sets):
    train, heldout, _ = memo_sets
    r = scores(heldout, renamed(train[:40], "copy"), "memorisation", train)
    assert r.table.at["mean", "ct"] <= THRESHOLD
    assert r.table.at["mean", "near_copies"] == 1.0
    worst = r.meta["near_copies"]["worst"]
    assert worst[0]["distance_px"] == 0 and worst[0]["train"].startswith("t")
    assert any("data copying" in n for n in r.meta["notes"])
    assert any("— copying" in n for n in r.meta["notes"])
    assert r.meta["n_train"] == 60


def test_a_held_out_set_is_not_flagged(memo_sets):
    train, heldout, fresh = memo_sets
    r = scores(heldout, fresh, "memorisation", train)
    assert r.table.at["mean", "ct"] > THRESHOLD
    assert r.table.at["mean", "near_copies"] <= 0.1
    assert any("no evidence of data copying" in n for n in r.meta["notes"])
    assert any("no more than expected" in n for n in r.meta["notes"])
    # the real set itself, as synthetic: at most the 1 % of the threshold's definition
    r = scores(heldout, renamed(heldout, "again"), "near_copies", train)
    assert r.table.at["mean", "near_copies"] <= 0.01 + 1e-12


def test_memorisation_bad_inputs(memo_sets):
    train, heldout, fresh = memo_sets
    with pytest.raises(ValueError, match="training set is the real set"):
        scores(train, fresh, "ct", renamed(train, "same"))
    other = [Layout(l.points, ("x", "y"), l.shape, l.name) for l in train]
    with pytest.raises(ValueError, match="training set") as e:
        scores(heldout, fresh, "ct", other)
    assert "\n" not in str(e.value)
    big = [Layout(l.points, l.classes, (128, 128), l.name) for l in train]
    with pytest.raises(ValueError, match="training set canvas 128x128 differs"):
        scores(heldout, fresh, "ct", big)
    with pytest.raises(ValueError, match="needs the generator's training layouts"):
        scores(heldout, fresh, "memorisation")
    ev = topofd.Evaluator(metrics="ct")
    ev.load_train_reference("brca-m2c:test")
    with pytest.raises(ValueError, match="loaded reference"):
        ev.update_train(train)


def test_default_selection_is_unchanged_and_groups_expand():
    assert topofd.Evaluator().metrics == ("topofd", "topokd", "mmd", "counts")
    assert Options(metrics="fidelity,topokd").metrics == ("precision", "recall", "density", "coverage", "topokd")
    assert Options(metrics="memorisation").metrics == ("ct", "near_copies")
    with pytest.raises(OptionError, match="fidelity_k"):
        Options.from_kwargs(fidelity_k=0)
    with pytest.raises(OptionError, match="unknown metric"):
        Options(metrics="fidelty")


def _write(d, layouts):
    d.mkdir()
    for l in layouts:
        np.save(d / f"{l.name}.npy", l.to_array())
    return d


def test_compare_and_cli_take_train(tmp_path, memo_sets):
    train, heldout, _ = memo_sets
    t = _write(tmp_path / "train", train[:30])
    h = _write(tmp_path / "real", heldout[:30])
    s = _write(tmp_path / "synth", renamed(train[:30], "copy"))
    r = topofd.compare(h, s, train=t, pairing="none", uncertainty=False, metrics="memorisation,precision")
    assert r.table.at["mean", "near_copies"] == 1.0 and r.meta["train"] == str(t)
    r = topofd.compare(h, s, train=t, pairing="none", uncertainty=False)  # no metrics: the default and memorisation
    assert list(r.table.columns) == ["topofd", "topokd", "mmd", "ct", "near_copies"]
    js = tmp_path / "r.json"
    res = CliRunner().invoke(
        cli, ["compare", str(h), str(s), "--train", str(t), "--metrics", "memorisation", "--json", str(js), "-q"]
    )
    assert res.exit_code == 0, res.output
    assert "C_T" in res.stdout and "Near copies" in res.stdout
    out = json.loads(js.read_text())
    assert out["mean"]["ct"] <= THRESHOLD and "ct" not in out["per_class"][0]
    res = CliRunner().invoke(cli, ["compare", str(h), str(s), "--train", str(h), "--metrics", "ct", "-q"])
    assert res.exit_code != 0 and "training set is the real set" in res.output

"""Utility of synthetic layouts (issue 29): context features, image halves,
TSTR/TRTR/TRTS/augmentation F1, refusals, determinism and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import topofd
from topofd.cli import cli
from topofd.layouts.layout import Layout
from topofd.metrics import utility as U
from topofd.metrics.base import Context, resampling_plan
from topofd.options import Options
from topofd.state import SetView
from topofd.utility.design import halves, image_of, layout_units, synthetic_folds
from topofd.utility.features import NN_CAP, cell_table, context_features, feature_names
from topofd.utility.model import confusion, f1_leave_out, f1_scores

CLASSES = ("lym", "epi", "stro")
SHAPE = (128, 128)


def tissue(n_images, per_image, seed, prefix="img", suffix=""):
    """Layouts with a class-specific arrangement: lym in two tight clusters,
    epi in three wider clumps, stro scattered uniformly."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_images):
        for w in range(per_image):
            pts, lab = [], []
            for k, (n_cl, n_per, sd) in enumerate(((2, 12, 3.0), (3, 25, 8.0), (1, 30, None))):
                for _ in range(n_cl):
                    if sd is None:
                        p = rng.uniform(0, 127, (n_per, 2))
                    else:
                        p = rng.uniform(20, 108, 2) + rng.normal(0, sd, (n_per, 2))
                    pts.append(p.clip(0, 127))
                    lab.append(np.full(n_per, k))
            name = f"{prefix}{i:02d}_r00000_c{32 * w:05d}{suffix}"
            out.append(
                Layout.from_labelled_points(np.vstack(pts), np.concatenate(lab), CLASSES, shape=SHAPE, name=name)
            )
    return out


def shuffled(layouts, seed):
    """The same cells with their class labels permuted within each layout (counts kept)."""
    rng = np.random.default_rng(seed)
    out = []
    for l in layouts:
        pts = np.vstack(l.points)
        lab = rng.permutation(np.concatenate([np.full(len(p), k) for k, p in enumerate(l.points)]))
        out.append(Layout.from_labelled_points(pts, lab, CLASSES, shape=SHAPE, name=l.name))
    return out


def view(layouts):
    return SetView(
        [l.name for l in layouts],
        [l.name for l in layouts],
        np.array([l.counts for l in layouts]),
        [[np.zeros((0, 2))] * len(CLASSES) for _ in layouts],
        [l.points for l in layouts],
        [l.shape for l in layouts],
    )


def score(real, synth, **kw):
    """The plug-in's score on layouts, paired by position (no diagrams needed)."""
    R, S = view(real), view(synth)
    pairs = [(i, i) for i in range(min(len(R), len(S)))]
    o = Options.from_kwargs(None, metrics=["utility"], **kw)
    empty = [bool(R.counts[:, k].sum() == 0 and S.counts[:, k].sum() == 0) for k in range(len(CLASSES))]
    ctx = Context(o, CLASSES, empty, pairs, resampling_plan(R, pairs, len(S), o.seed), None)  # type: ignore[arg-type]
    return U.METRIC.score(R, S, ctx)


def test_features_by_hand():
    a = [np.array([[0.0, 0.0], [0.0, 5.0]]), np.array([[10.0, 0.0]])]
    b = [np.zeros((0, 2)), np.array([[1.0, 1.0]])]  # a second layout: its cell sees nothing of the first
    t = cell_table([a, b], [(20, 20), (20, 20)], 2)
    F = context_features(t, np.arange(len(t)))
    names = feature_names(("a", "b"))
    col = {n: F[:, i] for i, n in enumerate(names)}
    # cell 0 (a at 0,0): the other a at 5 px, the b at 10 px; itself excluded
    assert col["n_a_8"][0] == 1 and col["n_b_8"][0] == 0 and col["n_b_16"][0] == 1
    assert col["nn_a"][0] == 5 and col["nn_b"][0] == 10
    # cell 2 (b at 10,0): two a within 16 px, no other b: nearest b at the cap
    assert col["n_a_8"][2] == 0 and col["n_a_16"][2] == 2 and col["n_b_64"][2] == 0 and col["nn_b"][2] == NN_CAP
    assert col["density_64"].tolist() == [2, 2, 2, 0]
    assert col["nn_a"][3] == NN_CAP and col["nn_b"][3] == NN_CAP  # alone in its layout
    assert col["border"].tolist() == [0, 0, 0, 1]


def test_f1_and_leave_out():
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([0, 1, 1, 1, 2, 0])
    g = np.array([0, 0, 1, 1, 2, 2])
    cm = confusion(y, p, g, 3, 3)
    v, reps = f1_leave_out(cm)
    # class 0: TP 1, FP 1, FN 1 -> 0.5; class 1: TP 2, FP 1 -> 0.8; class 2: TP 1, FN 1 -> 2/3
    assert np.allclose(v, [0.5, 0.8, 2 / 3])
    assert np.allclose(reps[2], f1_scores(confusion(y[:4], p[:4], np.zeros(4, int), 1, 3)[0]), equal_nan=True)


def test_images_from_names_and_halves():
    assert image_of("TCGA-A_0.93_r00032_c00064") == "TCGA-A_0.93"
    assert image_of("TCGA-A_0.93_r00032_c00064_gen") == "TCGA-A_0.93"
    assert image_of("layout_7") is None
    units, by_image = layout_units(["b_r0_c0", "a_r0_c0", "b_r0_c32"])
    assert by_image and units.tolist() == [1, 0, 1]
    units, by_image = layout_units(["x", "y"])
    assert not by_image and units.tolist() == [0, 1]
    fold = halves(np.repeat(np.arange(10), 3), 0)
    assert sorted(np.bincount(fold[::3])) == [5, 5] and (fold.reshape(10, 3) == fold[::3, None]).all()
    sf, how = synthetic_folds(3, [(0, 1)], ["q", "p", "b_r0_c0_gen"], ["a_r0_c0", "b_r0_c0"], np.array([1, 0]), 0)
    assert sf.tolist()[:2] == [sf[0], 1] and sf[2] == 0 and "random" in how


@pytest.fixture(scope="module")
def sets():
    return tissue(8, 3, 0), tissue(8, 3, 1, suffix="_gen")


def test_shuffled_labels_score_below_real(sets):
    real, synth = sets
    good = score(real, synth, utility_cells=2000)
    bad = score(real, shuffled(synth, 2), utility_cells=2000)
    g, b = good.cells, bad.cells
    assert g["trtr"]["mean"].value == b["trtr"]["mean"].value  # the real ceiling does not see the synthetic set
    assert abs(g["tstr"]["mean"].value - g["trtr"]["mean"].value) < 0.05
    assert b["tstr"]["mean"].hi < g["tstr"]["mean"].lo
    assert b["tstr_ratio"]["mean"].value < 0.8 < g["tstr_ratio"]["mean"].value
    assert b["aug_delta"]["mean"].value < g["aug_delta"]["mean"].value
    sec = good.sections[0]
    assert [r["class"] for r in sec.table] == [*CLASSES, "macro F1"] and "recovers" in sec.sentences[0]
    assert "images" in good.uncertainty["tstr"] and "synthetic" in good.uncertainty["trts"]


def test_refusals(sets):
    real, synth = sets
    no_stro = [Layout(l.points[:2] + (np.zeros((0, 2)),), CLASSES, name=l.name, shape=SHAPE) for l in synth]
    with pytest.raises(ValueError, match="class stro has no cell in the synthetic layouts"):
        score(real, no_stro)
    with pytest.raises(ValueError, match="too few cells"):
        score(real[:3], synth[:3])
    few = [Layout((l.points[0][:1], *l.points[1:]), CLASSES, name=l.name, shape=SHAPE) for l in real]
    with pytest.raises(ValueError, match="too few cells: class lym"):
        score(few, synth)


def _write(d, layouts):
    d.mkdir()
    for l in layouts:
        np.save(d / f"{l.name}.npy", l.to_array())
    return d


def test_compare_deterministic_for_jobs_and_cli(tmp_path):
    real, synth = tissue(6, 3, 3), tissue(6, 3, 4, suffix="_gen")
    r, s = _write(tmp_path / "real", real), _write(tmp_path / "synth", synth)
    t1 = topofd.compare(r, s, metrics="utility", n_jobs=1, utility_cells=500).table
    t2 = topofd.compare(r, s, metrics="utility", n_jobs=2, utility_cells=500).table
    assert t1.equals(t2) and np.isfinite(t1.at["mean", "tstr_hi"])
    res = CliRunner().invoke(cli, ["compare", str(r), str(s), "--metrics", "utility", "--utility-cells", "500", "-q"])
    assert res.exit_code == 0, res.output
    assert "TSTR F1" in res.stdout and "TRTR F1" in res.stdout and "TRTS F1" in res.stdout
    no_stro = [Layout((*l.points[:2], np.zeros((0, 2))), CLASSES, name=l.name, shape=SHAPE) for l in synth]
    bad = _write(tmp_path / "bad", no_stro)
    res = CliRunner().invoke(cli, ["compare", str(r), str(bad), "--metrics", "utility", "--classes", "lym,epi,stro"])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "class stro has no cell in the synthetic layouts" in res.output

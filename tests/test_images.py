"""Image-aware sets (issue 27, items 2 and 4): where each layout's source
image comes from, how it travels (state, merge, reference files, reports),
and what it changes (fidelity radii, memorisation thresholds, intervals)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import topofd
from topofd import Evaluator, Layout
from topofd.cli import cli
from topofd.layouts.images import PATCH_PATTERN, assign_images, parse_group_by, read_image_map
from topofd.layouts.patches import patch_name
from topofd.layouts.sets import read_layouts
from topofd.metrics.by_image import nearest_other_image, radii_other_images, shared_images
from topofd.metrics.manifold import knn_radii, manifold_scores
from topofd.state import SetState
from topofd.stats.uncertainty import Plan, by_image, cluster_mean


def _lay(name, n=12, seed=0, image=""):
    g = np.random.default_rng(seed)
    pts = g.uniform(0, 60, (n, 2))
    return Layout((pts[: n // 2], pts[n // 2 :]), ("a", "b"), (64, 64), name, image=image)


# ------------------------------------------------------------------ readers
def _hovernet(path, cells):
    nuc = {
        str(i + 1): {"bbox": [[0, 0], [1, 1]], "centroid": [x, y], "type": t, "type_prob": 0.9}
        for i, (x, y, t) in enumerate(cells)
    }
    path.write_text(json.dumps({"mag": 40, "nuc": nuc}))


def test_hovernet_json_drops_type_0_and_swaps_x_y(tmp_path):
    _hovernet(tmp_path / "img1.json", [(10.0, 20.0, 1), (30.0, 5.0, 2), (7.0, 7.0, 0), (1.0, 2.0, 2)])
    (lay,), skipped = read_layouts(tmp_path)
    assert skipped == [] and lay.classes == ("class1", "class2")
    assert lay.points[0].tolist() == [[20.0, 10.0]]  # (row, col) = (y, x)
    assert sorted(map(tuple, lay.points[1].tolist())) == [(2.0, 1.0), (5.0, 30.0)]
    assert lay.counts.sum() == 3  # the type-0 nucleus (no label) is left out
    # with class names, type t is classes[t - 1]
    lay2 = read_layouts(tmp_path / "img1.json", classes=("neo", "inf", "con"))[0][0]
    assert lay2.classes == ("neo", "inf", "con") and lay2.counts.tolist() == [1, 2, 0]


def test_cellvit_cells_json_and_geojson_side_by_side(tmp_path):
    cells = [{"centroid": [5, 6], "type": 1}, {"centroid": [8, 9], "type": 3}, {"centroid": [1, 1], "type": 0}]
    (tmp_path / "slide.json").write_text(
        json.dumps({"wsi_metadata": {}, "type_map": {"1": "neo", "3": "con"}, "cells": cells})
    )
    feat = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [3, 4]},
        "properties": {"classification": {"name": "neo"}},
    }
    (tmp_path / "q.json").write_text(json.dumps({"type": "FeatureCollection", "features": [feat]}))
    (tmp_path / "run_config.json").write_text(json.dumps({"lr": 0.1}))
    layouts, skipped = read_layouts(tmp_path)
    by = {l.name: l for l in layouts}
    assert set(by) == {"slide", "q"} and by["slide"].classes == ("con", "neo")
    assert by["slide"].counts.tolist() == [1, 1] and by["q"].counts.tolist() == [0, 1]
    assert len(skipped) == 1 and "run_config.json" in skipped[0] and "nuclei" in skipped[0]


def test_nuclei_json_without_types_is_one_line_error(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"nuc": {"1": {"centroid": [1, 2], "type": None}}}))
    with pytest.raises(ValueError, match="x.json: nucleus 0 has no integer 'type'"):
        read_layouts(tmp_path / "x.json")


def test_h5ad_needs_anndata_one_line(tmp_path, monkeypatch):
    (tmp_path / "s.h5ad").write_bytes(b"\x89HDF")
    monkeypatch.setitem(sys.modules, "anndata", None)
    with pytest.raises(ValueError, match=r"s.h5ad: reading .h5ad needs the anndata package"):
        read_layouts(tmp_path / "s.h5ad")


def test_h5ad_reader(tmp_path):
    anndata = pytest.importorskip("anndata")
    import pandas as pd

    obs = pd.DataFrame(
        {"cell_type": ["T", "B", "T"], "kind": ["1", "2", "2"], "slide": ["s1", "s1", "s1"]}, index=["c0", "c1", "c2"]
    )
    ad = anndata.AnnData(X=np.zeros((3, 1), np.float32), obs=obs)
    ad.obsm["spatial"] = np.array([[10.0, 1.0], [20.0, 2.0], [30.0, 3.0]])
    ad.write_h5ad(tmp_path / "s.h5ad")
    (lay,), _ = read_layouts(tmp_path / "s.h5ad", group_by="column:slide")
    assert lay.classes == ("B", "T") and lay.image == "s1"
    assert lay.points[0].tolist() == [[2.0, 20.0]]
    lay2 = read_layouts(tmp_path / "s.h5ad", cell_type_col="kind")[0][0]
    assert lay2.classes == ("class1", "class2") and lay2.counts.tolist() == [1, 2]
    with pytest.raises(ValueError, match="no obs column 'nope'"):
        read_layouts(tmp_path / "s.h5ad", cell_type_col="nope")


# ----------------------------------------------------------------- group-by
def test_group_by_rules(tmp_path):
    names = [patch_name("TCGA-A_1", 0, 32), patch_name("TCGA-A_1", 64, 0) + "_gen", patch_name("B", 0, 0)]
    lays = [_lay(n) for n in names]
    assert [l.image for l in assign_images(lays, "patches")] == ["TCGA-A_1", "TCGA-A_1", "B"]
    assert [l.image for l in assign_images(lays, "auto")] == ["TCGA-A_1", "TCGA-A_1", "B"]
    # auto: only when every name is a patch name; patches: required
    mixed = [*lays, _lay("free_name")]
    assert [l.image for l in assign_images(mixed, "auto")] == ["", "", "", ""]
    with pytest.raises(ValueError, match="'free_name' does not match the names topofd patches writes"):
        assign_images(mixed, "patches")
    # a regular expression: group 'image', else group 1, else the match
    assert [l.image for l in assign_images(lays, r"^(?P<image>[^_]+)")] == ["TCGA-A", "TCGA-A", "B"]
    assert [l.image for l in assign_images(lays, r"_r(\d+)")] == ["00000", "00064", "00000"]
    with pytest.raises(ValueError, match="not a regular expression"):
        parse_group_by("(")
    # a mapping file; a name not listed follows its longest listed prefix
    m = tmp_path / "map.tsv"
    m.write_text(f"name\timage\n{names[0]}\tP1\n{names[1][:-4]}\tP2\n{names[2]}.npy\tP3\n")
    assert read_image_map(m)[names[2]] == "P3"
    assert [l.image for l in assign_images(lays, f"map:{m}")] == ["P1", "P2", "P3"]
    with pytest.raises(ValueError, match="'free_name' is not in the image mapping"):
        assign_images(mixed, f"map:{m}")
    with pytest.raises(ValueError, match="no such file"):
        parse_group_by(f"map:{tmp_path / 'none.tsv'}")
    # known images are kept; none forgets them
    known = [_lay(names[0], image="slideX")]
    assert assign_images(known, "patches")[0].image == "slideX"
    assert assign_images(known, "none")[0].image == ""
    assert PATCH_PATTERN.startswith("^")


def test_group_by_column_of_point_tables(tmp_path):
    for i, slide in enumerate(["s1", "s1", "s2"]):
        (tmp_path / f"w{i}.csv").write_text(f"x,y,class,slide\n1,2,a,{slide}\n3,4,b,{slide}\n")
    layouts, _ = read_layouts(tmp_path, group_by="column:slide")
    assert [l.image for l in layouts] == ["s1", "s1", "s2"]
    (tmp_path / "w3.csv").write_text("x,y,class,slide\n1,2,a,s1\n3,4,b,s2\n")
    with pytest.raises(ValueError, match="image column 'slide' holds 2 values"):
        read_layouts(tmp_path, group_by="column:slide")
    with pytest.raises(ValueError, match="no column 'slidez'"):
        read_layouts(tmp_path / "w0.csv", group_by="column:slidez")


# ---------------------------------------------- state, merge, reference, report
def _images_sets(n_img=3, per=12):
    real = [_lay(patch_name(f"img{i}", 32 * j, 0), seed=100 * i + j) for i in range(n_img) for j in range(per)]
    synth = [
        _lay(patch_name(f"oth{i}", 32 * j, 0) + "_gen", seed=999 + 100 * i + j)
        for i in range(n_img)
        for j in range(per)
    ]
    return real, synth


def test_state_images_through_merge_and_reference(tmp_path):
    real, synth = _images_sets()
    a, b = Evaluator(metrics=["topokd"], pairing="none"), Evaluator(metrics=["topokd"], pairing="none")
    a.update(real[:20], real=True)
    b.update(real[20:], real=True)
    b.update_diagrams([[np.zeros((0, 2))] * 2], [[1, 1]], real=True, names=["d0"], images=["imgD"])
    a.merge(b)
    st = a.state(True)
    assert st.images == [l.image or f"img{i // 12}" for i, l in enumerate(real)] + ["imgD"]
    view = a.real_view()
    assert view.image_labels() is not None and len(set(view.image_labels())) == 4
    assert view.subset([0, 1]).images == view.images[:2]
    from topofd.storage.reference import load_reference, make_reference

    make_reference(a, tmp_path / "r.topofd", paper_stats=False)
    r = load_reference(tmp_path / "r.topofd")
    assert r.images == view.images
    assert SetState.from_reference(r, ("class1", "class2")).images == view.images
    # a state without images makes a file without the array (same bytes as before)
    c = Evaluator(metrics=["topokd"], pairing="none", group_by="none")
    c.update(real, real=True)
    make_reference(c, tmp_path / "n.topofd", paper_stats=False)
    assert load_reference(tmp_path / "n.topofd").images is None


def test_report_records_images():
    real, synth = _images_sets()
    rep = topofd.compare(real, synth, metrics=["precision"], pairing="none", uncertainty=False)
    im = rep.meta["images"]
    assert im["group_by"] == "auto" and im["real"]["n_images"] == 3 and im["synthetic"]["n_images"] == 3
    assert im["real"]["images"] == {"img0": 12, "img1": 12, "img2": 12}
    assert "source images: real 3, synthetic 3" in topofd.output.report.format_report(rep)
    rep2 = topofd.compare(real, synth, metrics=["precision"], pairing="none", uncertainty=False, group_by="none")
    assert "images" not in rep2.meta


# ------------------------------------------------------- what images change
def test_radii_skip_the_same_image():
    g = np.random.default_rng(0)
    F = np.concatenate([g.normal(0, 0.01, (6, 2)), g.normal(0, 0.01, (6, 2)) + 10.0])
    im = np.repeat([0, 1], 6)
    plain, other = knn_radii(F, 3), radii_other_images(F, 3, im)
    assert plain.max() < 0.1 and np.all(other > 9.9)
    # exactly the k-th distance to rows of the other image
    for i in range(12):
        d = np.sort(np.linalg.norm(F[im != im[i]] - F[i], axis=1))
        assert other[i] == pytest.approx(d[2])
    # a synthetic row between the two images: outside every same-image ball, inside the image-level ones
    Fs = np.array([[5.0, 0.0]])
    assert manifold_scores(F, Fs, 3, which=("precision",))["precision"][0] == 0.0
    assert manifold_scores(F, Fs, 3, which=("precision",), images=(im, None))["precision"][0] == 1.0
    # fewer than k rows of other images: no ball
    assert np.isinf(radii_other_images(F, 7, im)).all()


def test_fidelity_plugin_uses_images_and_says_so():
    real, synth = _images_sets()
    kw = dict(metrics=["precision", "density"], pairing="none", uncertainty=False)
    aware = topofd.compare(real, synth, fidelity_radii="images", **kw)
    plain = topofd.compare(real, synth, **kw)  # images known, radii over windows: the default
    assert "other images (3 images)" in aware.meta["fidelity"]["radii"]
    assert plain.meta["fidelity"]["radii"] == "k-NN" and plain.meta["images"]["real"]["n_images"] == 3
    assert aware.table.loc["mean", "density"] > plain.table.loc["mean", "density"]  # larger radii
    few = [n for n in plain.meta["notes"] if "on 3 real source images" in n]
    assert len(few) == 1 and "fewer than 30" in few[0]  # one line, from both fidelity plug-ins
    blind = topofd.compare(real, synth, fidelity_radii="images", group_by="none", **kw)
    assert blind.meta["fidelity"]["radii"] == "k-NN" and any("images are not known" in n for n in blind.meta["notes"])


def test_memorisation_distances_skip_the_same_image():
    assert shared_images(["a", "b", None], ["c"]) is None
    ra, ta = shared_images(["a", "b", None], ["b", "a", None])
    assert ra[0] == ta[1] and ra[1] == ta[0] and ra[2] != ta[2]
    rows = np.array([0.0, 10.0])
    refs = np.array([0.1, 9.9, 5.0])

    def near(r, f):
        D = np.abs(rows[r][:, None] - refs[f][None, :])
        return D.min(1), D.argmin(1)

    d, j = nearest_other_image(near, 2, np.array([0, 1]), np.array([0, 1, 2]))
    assert j.tolist() == [2, 2] and d.tolist() == [5.0, 5.0]
    # every reference of the row's own image: all references are used (no infinite distance)
    d, j = nearest_other_image(near, 2, np.array([0, 0]), np.array([0, 0, 0]))
    assert j.tolist() == [0, 1] and np.allclose(d, [0.1, 0.1])


def test_ct_real_distances_skip_the_same_image():
    # real windows cut from the training images: each one's nearest training window is its overlapping
    # neighbour; C_T then measures the held-out distance to training windows of other images only
    train = [_lay(patch_name(f"img{i}", 8 * j, 0), n=30, seed=100 * i + j) for i in range(6) for j in range(20)]
    g = np.random.default_rng(3)
    real = [
        Layout(
            tuple(p + g.normal(0, 0.5, p.shape) for p in t.points), t.classes, t.shape, f"{t.name}_near", image=t.image
        )
        for t in train
    ]
    synth = [_lay(f"s{j:03d}", n=30, seed=5000 + j) for j in range(120)]

    def run(**kw):
        ev = Evaluator(metrics=["ct"], pairing="none", uncertainty=False, **kw)
        ev.update(real, real=True)
        ev.update(synth, real=False)
        ev.update_train(train)
        return ev.compute()

    aware, blind = run(), run(group_by="none")
    assert aware.meta["ct"]["real_distances"] == "to training layouts of other images"
    assert blind.meta["ct"]["real_distances"] == "to any training layout"
    assert any("share source images" in n for n in aware.meta["notes"])
    assert aware.meta["ct"]["median_nn_distance"]["real"] > blind.meta["ct"]["median_nn_distance"]["real"]
    assert aware.meta["ct"]["median_nn_distance"]["synthetic"] == blind.meta["ct"]["median_nn_distance"]["synthetic"]


def test_se_by_image_plan_and_cluster_mean():
    images = np.repeat(np.arange(5), 4)
    p = Plan(20, 0, images=images)
    lab = p.groups(20)
    assert all(len(set(lab[images == i])) == 1 for i in range(5)) and len(set(lab)) == 5
    assert p.mode == "images" and "5 images" in p.describe()
    for split in p.splits(2, 2):
        for grp in split:  # a group holds every layout of each of its images
            assert set(np.flatnonzero(np.isin(images, images[grp]))) == set(grp)
    x = np.where(images < 2, 1.0, 0.0)
    e = cluster_mean(x, images)
    assert e.value == pytest.approx(0.4) and e.df == 4 and e.se > 0
    notes: list = []
    assert by_image(Plan(20, 0), None, notes).images is None and "not known" in notes[0]


def test_intervals_over_windows_of_few_images_say_so():
    real, synth = _images_sets(4, 12)
    kw = dict(metrics=["topokd"], pairing="none")

    def said(rep):
        return [n for n in rep.meta["notes"] if "come from 4 source images" in n]

    assert len(said(topofd.compare(real, synth, **kw))) == 1
    assert not said(topofd.compare(real, synth, se_by_image=True, **kw))
    assert not said(topofd.compare(real, synth, uncertainty=False, **kw))
    assert not said(topofd.compare(real, synth, group_by="none", **kw))


def test_se_by_image_widens_fidelity_intervals():
    real, synth = _images_sets(4, 12)
    kw = dict(metrics=["precision"], pairing="none")
    a = topofd.compare(real, synth, **kw)
    b = topofd.compare(real, synth, se_by_image=True, **kw)
    assert a.table.loc["mean", "precision"] == b.table.loc["mean", "precision"]
    assert "real images" in b.meta["uncertainty"]["precision"]
    assert "whole source images" in b.meta["uncertainty"]["resampling"]


# ------------------------------------------------------------------ patches
def test_patches_cuts_nuclei_json_and_keeps_the_image(tmp_path):
    g = np.random.default_rng(1)
    for s in ("slideA", "slideB"):
        xy = g.uniform(0, 300, (80, 2))
        _hovernet(tmp_path / f"{s}.json", [(float(x), float(y), int(t)) for (x, y), t in zip(xy, g.integers(1, 3, 80))])
    (tmp_path / "sizes.tsv").write_text("image\theight\twidth\nslideA\t300\t300\nslideB\t300\t300\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        [
            "patches",
            str(tmp_path),
            "--sizes",
            str(tmp_path / "sizes.tsv"),
            "--format",
            "json",
            "--size",
            "128",
            "--stride",
            "64",
            "--out",
            str(out),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    files = sorted(p.stem for p in out.glob("*.npy"))
    assert len(files) == 2 * 9 and files[0] == patch_name("slideA", 0, 0)
    layouts, _ = read_layouts(out, group_by="auto")
    assert {l.image for l in layouts} == {"slideA", "slideB"}


def test_reference_sets_take_images_from_their_names():
    # the bundled brca-m2c:test stores no images; its window names carry them (group_by auto)
    ev = Evaluator(metrics=["topokd"])
    ev.load_reference("brca-m2c:test")
    labels = ev.real_view().image_labels()
    assert labels is not None and int(labels.max()) + 1 == 30
    blind = Evaluator(metrics=["topokd"], group_by="none")
    blind.load_reference("brca-m2c:test")
    assert blind.real_view().image_labels() is None

"""Encoder features in reference files (issue 17): `topofd stats real/ --out
ref.topofd` stores the real set's features keyed by the extractor file's
sha256, `compare ref.topofd synth/ --metrics fid,kid` gives the numbers of
the layouts themselves, another extractor is refused, files without features
still load and say how to make them again."""

from __future__ import annotations

import numpy as np
import pytest
from test_fid import SHAPE, blobs

import topofd
from topofd.layouts.layout import Layout
from topofd.storage.arrays import load_npz, save_npz
from topofd.storage.reference import load_reference, make_reference

pytest.importorskip("torch")
COLS = ["layout_fid", "layout_fid_se", "layout_kid", "layout_kid_se"]


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """Real and synthetic folders of .npy layouts and a tiny TorchScript extractor."""
    import torch

    root = tmp_path_factory.mktemp("sets")
    for name, ls in (("real", blobs(30, 1)), ("synth", blobs(30, 2, "s", spread=40.0))):
        (root / name).mkdir()
        for l in ls:
            np.save(root / name / f"{l.name}.npy", l.to_array())
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 3, 5, stride=4), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten()
    ).eval()
    torch.jit.script(net).save(str(root / "tiny.pt"))
    return root


def cli(*args):
    from click.testing import CliRunner

    from topofd.cli import cli as main

    return CliRunner().invoke(main, [str(a) for a in args])


def test_stats_then_compare_equals_the_layouts(sets, tmp_path):
    for ex in ([], ["--extractor", sets / "tiny.pt"]):
        ref = tmp_path / "ref.topofd"
        res = cli("stats", sets / "real", "--out", ref, "--no-paper-stats", "-q", *ex)
        assert res.exit_code == 0 and "encoder features of" in res.output, res.output
        kw = {"metrics": "fid,kid", "pairing": "none", "extractor": str(ex[1]) if ex else None}
        a = topofd.compare(str(ref), str(sets / "synth"), **kw)
        b = topofd.compare(str(sets / "real"), str(sets / "synth"), **kw)
        assert np.allclose(a.table.loc["mean", COLS].astype(float), b.table.loc["mean", COLS].astype(float), rtol=1e-9)
        assert not any("not measured" in n for n in a.meta["notes"])
        ref.unlink()


def test_reference_of_another_extractor_is_refused(sets, tmp_path):
    ref = tmp_path / "ref.topofd"
    assert cli("stats", sets / "real", "--out", ref, "--extractor", sets / "tiny.pt", "-q").exit_code == 0
    res = cli("compare", ref, sets / "synth", "--metrics", "fid,kid", "--pairing", "none")
    assert res.exit_code != 0 and "Traceback" not in res.output
    line = res.output.strip().splitlines()[-1]
    assert "ref.topofd" in line and "tiny.pt" in line and "brca_m2c.pt" in line


def test_reference_without_features_says_how_to_make_it_again(sets, tmp_path):
    ref = tmp_path / "ref.topofd"
    res = cli("stats", sets / "real", "--out", ref, "--no-features", "-q")
    assert res.exit_code == 0 and "no encoder features" in res.output
    # a file of an older topofd: no feature records in its header at all
    arrays, meta = load_npz(ref)
    for k in ("encoder_features", "features_note"):
        meta.pop(k)
    save_npz(ref, arrays, meta)
    assert load_reference(ref).features == {}
    rep = topofd.compare(str(ref), str(sets / "synth"), metrics="fid,kid", pairing="none")
    assert np.isnan(rep.table.loc["mean", "layout_fid"])
    note = next(n for n in rep.meta["notes"] if "Layout FID not measured" in n)
    assert "stores no encoder features" in note and "topofd stats" in note
    # diagram-based scores of the old file are unchanged
    assert np.isfinite(topofd.compare(str(ref), str(sets / "synth"), pairing="none").table.loc["mean", "topofd"])


def test_callable_extractor_stores_nothing_and_cannot_use_stored(sets, tmp_path):
    real = blobs(12, 1)
    ev = topofd.Evaluator(metrics="fid", pairing="none", extractor=lambda x: x.mean((2, 3)))
    ev.update(real, real=True)
    meta = make_reference(ev, tmp_path / "c.topofd", paper_stats=False)
    assert meta["encoder_features"] == [] and "callable" in meta["features_note"]
    with pytest.raises(ValueError, match="callable"):
        make_reference(ev, tmp_path / "d.topofd", paper_stats=False, features=True)
    ev = topofd.Evaluator(metrics="fid", pairing="none")
    ev.update(real, real=True)
    make_reference(ev, tmp_path / "e.topofd", paper_stats=False)
    rep = topofd.compare(
        str(tmp_path / "e.topofd"), blobs(12, 2, "s"), metrics="fid", pairing="none", extractor=lambda x: x.mean((2, 3))
    )
    assert any("callable" in n for n in rep.meta["notes"])


def test_stored_features_are_not_used_in_another_class_order(tmp_path):
    """Stored features are in the file's channel order: a synthetic set of
    another class order is matched to it (same FID as from the layouts); a
    --classes order that reorders the real set gets a note, not a number the
    layouts would not give."""
    real, synth = blobs(25, 1), blobs(25, 2, "s", spread=40.0)
    perm = (2, 0, 1)
    synth = [Layout(tuple(l.points[k] for k in perm), tuple(l.classes[k] for k in perm), SHAPE, l.name) for l in synth]
    ev = topofd.Evaluator(metrics="fid", pairing="none")
    ev.update(real, real=True)
    make_reference(ev, tmp_path / "r.topofd", paper_stats=False)
    a = topofd.compare(str(tmp_path / "r.topofd"), synth, metrics="fid", pairing="none")
    b = topofd.compare(real, synth, metrics="fid", pairing="none")
    assert a.table.loc["mean", "layout_fid"] == pytest.approx(b.table.loc["mean", "layout_fid"], rel=1e-9)
    rep = topofd.compare(str(tmp_path / "r.topofd"), synth, metrics="fid", pairing="none", classes="b,c,a")
    assert np.isnan(rep.table.loc["mean", "layout_fid"])
    assert any("class order a, b, c" in n for n in rep.meta["notes"])


def test_stats_of_another_class_count_stores_no_shipped_features(tmp_path):
    """The shipped encoder reads 3 classes: a 2-class set gets a note, not an error."""
    (tmp_path / "real").mkdir()
    for l in blobs(6, 1):
        two = Layout(l.points[:2], l.classes[:2], SHAPE, l.name)
        np.save(tmp_path / "real" / f"{l.name}.npy", two.to_array())
    res = cli("stats", tmp_path / "real", "--out", tmp_path / "r.topofd", "--no-paper-stats", "-q")
    assert res.exit_code == 0 and "reads 3 classes, not 2" in res.output, res.output
    assert load_reference(tmp_path / "r.topofd").features == {}

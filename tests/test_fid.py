"""FID and KID of a layout encoder (issue 17): exact Fréchet distance of the
extractor's features, KID near 0 for one distribution, bad extractors,
torch-free import, the shipped encoder's record."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import topofd
from topofd.encoders.raster import SIZE, rasterise, rasterise_set
from topofd.layouts.layout import Layout
from topofd.metrics.kid import kid_scores
from topofd.options import OptionError, Options
from topofd.tda.frechet import frechet_distance

CLASSES = ("a", "b", "c")
SHAPE = (256, 256)


def blobs(n, seed, prefix="r", spread=20.0):
    """``n`` layouts of three classes: each class a cluster of ``spread`` px around a random centre."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        pts = tuple(
            (rng.uniform(40, 216, 2) + rng.normal(0, spread, (int(rng.integers(5, 30)), 2))).clip(0, 255)
            for _ in CLASSES
        )
        out.append(Layout(pts, CLASSES, SHAPE, f"{prefix}{i:03d}"))
    return out


def compute(real, synth, **kw):
    ev = topofd.Evaluator(pairing="none", **kw)
    ev.update(real, real=True)
    ev.update(synth, real=False)
    return ev.compute()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny TorchScript extractor (3 channels -> 12 features) and its file."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 3, 5, stride=4), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten()
    ).eval()
    path = tmp_path_factory.mktemp("ex") / "tiny.pt"
    torch.jit.script(net).save(str(path))
    return net, path


# ----------------------------------------------------------------- rasters
def test_raster_is_the_max_pooled_reader_raster():
    torch = pytest.importorskip("torch")
    for lay in blobs(5, 1):
        a = torch.from_numpy(lay.to_array(3, channels="first").astype(np.float32))[None]
        ref = torch.nn.functional.max_pool2d(a, 256 // SIZE)[0].numpy()
        assert np.array_equal(rasterise(lay.points, lay.shape), ref)


def test_raster_unknown_canvas_and_cells_outside():
    img = rasterise((np.array([[3.0, 4.0]]), np.zeros((0, 2))), None, size=8)
    assert img.shape == (2, 8, 8) and img[0].sum() > 0 and img[1].sum() == 0
    out = rasterise((np.array([[-10.0, -10.0], [500.0, 3.0]]),), (256, 256))
    assert out.sum() == 0


# --------------------------------------------------------------------- FID
def test_fid_equals_numpy_frechet_of_the_same_features(tiny):
    torch = pytest.importorskip("torch")
    net, path = tiny
    real, synth = blobs(40, 1), blobs(40, 2, "s", spread=40.0)
    rep = compute(real, synth, metrics="fid", extractor=str(path))
    with torch.inference_mode():
        F = [net(torch.from_numpy(rasterise_set([l.points for l in s], [l.shape for l in s]))).numpy() for s in
             (real, synth)]
    F = [f.astype(np.float64) for f in F]
    want = frechet_distance(F[0].mean(0), np.cov(F[0], rowvar=False), F[1].mean(0), np.cov(F[1], rowvar=False))
    got = rep.table.loc["mean", "layout_fid"]
    assert got == pytest.approx(want, rel=1e-12) and got > 0
    assert np.isnan(rep.table.loc["a", "layout_fid"])
    assert rep.table.loc["mean", "layout_fid_lo"] <= got <= rep.table.loc["mean", "layout_fid_hi"]
    assert rep.meta["layout_fid"]["extractor"] == str(path)


def test_callable_extractor_and_kid_of_a_set_with_itself():
    def means(x):  # per-channel means of 4 x 4 blocks: 3 x 16 features
        return x.reshape(len(x), 3, 4, 32, 4, 32).mean((3, 5)).reshape(len(x), -1) * 50

    real = blobs(60, 3)
    copy = [Layout(l.points, l.classes, l.shape, f"{l.name}_gen") for l in real]
    other = blobs(60, 5, "o")
    shifted = blobs(60, 4, "t", spread=60.0)
    # a copy, paired (X <-> X_gen): the cross sum leaves out each layout's own copy, KID is 0
    ev = topofd.Evaluator(metrics="fid", extractor=means)
    ev.update(real, real=True)
    ev.update(copy, real=False)
    same = ev.compute().table.loc["mean"]
    assert same["layout_fid"] == 0.0 and same["layout_kid"] == pytest.approx(0.0, abs=1e-9)
    kid_other = compute(real, other, metrics="kid", extractor=means).table.loc["mean"]
    kid_diff = compute(real, shifted, metrics="kid", extractor=means).table.loc["mean"]
    assert abs(kid_other["layout_kid"]) < 0.25 * kid_diff["layout_kid"]
    assert kid_diff["layout_kid_lo"] > 0 and kid_other["layout_kid_lo"] < 0


def test_kid_scores_by_features():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(300, 8)), rng.normal(size=(300, 8))
    same, _ = kid_scores(X, Y)
    shift, reps = kid_scores(X, Y + 0.5, labels=np.arange(300) % 10)
    assert abs(same) < 0.02 < shift and len(reps) == 10
    # the unbiased estimate by hand
    k = lambda A, B: (A @ B.T / 8 + 1) ** 3  # noqa: E731
    Kx, Ky, Kxy = k(X, X), k(Y + 0.5, Y + 0.5), k(X, Y + 0.5)
    n = 300
    by_hand = (Kx.sum() - np.trace(Kx) + Ky.sum() - np.trace(Ky)) / (n * (n - 1)) - 2 * Kxy.mean()
    assert shift == pytest.approx(by_hand, rel=1e-10)


# --------------------------------------------------------- bad extractors
def _one_line_naming(err, name):
    msg = str(err.value)
    assert "\n" not in msg and name in msg, msg


def test_bad_extractor_files(tmp_path, tiny):
    torch = pytest.importorskip("torch")
    real, synth = blobs(6, 1), blobs(6, 2, "s")
    missing = tmp_path / "missing.pt"
    with pytest.raises(OptionError) as e:
        compute(real, synth, metrics="fid", extractor=str(missing))
    _one_line_naming(e, "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model\n" * 10)
    with pytest.raises(OptionError) as e:
        compute(real, synth, metrics="kid", extractor=str(junk))
    _one_line_naming(e, "junk.pt")
    five = tmp_path / "five_channels.pt"
    torch.jit.script(torch.nn.Sequential(torch.nn.Conv2d(5, 2, 3), torch.nn.Flatten())).save(str(five))
    with pytest.raises(OptionError) as e:
        compute(real, synth, metrics="fid", extractor=str(five))
    _one_line_naming(e, "five_channels.pt")
    assert "3-channel" in str(e.value)
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"junk")
    with pytest.raises(OptionError) as e:
        compute(real, synth, metrics="fid", extractor=str(onnx))
    _one_line_naming(e, "model.onnx")


def test_extractor_option_values():
    assert Options(extractor="enc.pt").extractor == "enc.pt"
    f = lambda x: x  # noqa: E731
    assert Options(extractor=f).extractor is f
    with pytest.raises(OptionError):
        Options(extractor=3)
    assert Options(metrics="fid").metrics == ("fid", "kid")
    assert "fid" not in topofd.metrics.default()


def test_cli_extractor_error(tmp_path):
    from click.testing import CliRunner

    from topofd.cli import cli

    for name, ls in (("real", blobs(4, 1)), ("synth", blobs(4, 2, "s"))):
        (tmp_path / name).mkdir()
        for l in ls:
            np.save(tmp_path / name / f"{l.name}.npy", l.to_array())
    res = CliRunner().invoke(
        cli, ["compare", str(tmp_path / "real"), str(tmp_path / "synth"), "--metrics", "fid",
              "--extractor", str(tmp_path / "nope.pt"), "--no-se", "--pairing", "none"]
    )
    assert res.exit_code != 0 and "nope.pt" in res.output


def test_reference_real_set_is_not_measured(tmp_path):
    pytest.importorskip("torch")
    from topofd.storage.reference import make_reference

    real, synth = blobs(10, 1), blobs(10, 2, "s")
    maker = topofd.Evaluator(metrics="topofd")  # keeps no cells: the file gets no features
    maker.update(real, real=True)
    make_reference(maker, tmp_path / "real.topofd", paper_stats=False)
    ev = topofd.Evaluator(metrics="fid", pairing="none")
    ev.load_reference(tmp_path / "real.topofd")
    ev.update(synth, real=False)
    rep = ev.compute()
    assert np.isnan(rep.table.loc["mean", "layout_fid"])
    assert any("Layout FID not measured" in n and "topofd stats" in n for n in rep.meta["notes"])


# ------------------------------------------------------ torch-free, shipped
def test_import_topofd_and_the_fid_plugins_without_torch(tmp_path):
    code = """
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch blocked")
sys.meta_path.insert(0, NoTorch())
import topofd, topofd.metrics.fid, topofd.metrics.kid, topofd.encoders.raster, topofd.encoders.extract
import topofd.encoders.train
assert "torch" not in sys.modules
print("ok")
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_shipped_encoder_matches_its_record():
    pytest.importorskip("torch")
    from topofd.encoders.extract import SHIPPED, load_extractor, shipped_record
    from topofd.encoders.train import file_sha256

    rec = shipped_record()
    assert file_sha256(SHIPPED) == rec["sha256"]
    assert rec["train_data_sha256"] and rec["command"] and rec["input"]["channels"] == 3
    ex = load_extractor()
    F = ex(rasterise_set([l.points for l in blobs(2, 0)], [SHAPE, SHAPE]))
    assert F.shape == (2, rec["features"])
    json.dumps(rec)


def test_cli_train_encoder_then_compare_with_it(tmp_path):
    pytest.importorskip("torch")
    from click.testing import CliRunner

    from topofd.cli import cli
    from topofd.encoders.train import file_sha256

    for name, ls in (("train", blobs(40, 7, "tr")), ("real", blobs(12, 1)), ("synth", blobs(12, 2, "s"))):
        (tmp_path / name).mkdir()
        for l in ls:
            np.save(tmp_path / name / f"{l.name}.npy", l.to_array())
    enc = tmp_path / "enc.pt"
    res = CliRunner().invoke(
        cli, ["train-encoder", str(tmp_path / "train"), "--out", str(enc), "--epochs", "1", "--batch", "16", "-q"]
    )
    assert res.exit_code == 0, res.output
    rec = json.loads(enc.with_suffix(".json").read_text())
    assert rec["sha256"] == file_sha256(enc) and rec["train_layouts"] == 40 and "train-encoder" in rec["command"]
    assert not enc.with_suffix(".pt.ckpt").exists()
    res = CliRunner().invoke(
        cli, ["compare", str(tmp_path / "real"), str(tmp_path / "synth"), "--metrics", "fid", "--extractor", str(enc),
              "--pairing", "none", "--json", str(tmp_path / "r.json")]
    )
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["meta"]["layout_fid"]["sha256"] == rec["sha256"]


def test_train_encoder_resumes_after_an_interruption(tmp_path):
    pytest.importorskip("torch")
    from topofd.encoders.train import train_encoder

    lays = blobs(24, 9)
    pts, cs = [l.points for l in lays], [l.shape for l in lays]
    out = tmp_path / "e.pt"

    def stop_after_first_epoch(msg):
        if msg.startswith("epoch 1/2"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_encoder(pts, cs, out, epochs=2, batch=8, log=stop_after_first_epoch)
    assert (tmp_path / "e.pt.ckpt").exists() and not out.exists()
    seen = []
    rec = train_encoder(pts, cs, out, epochs=2, batch=8, log=seen.append)
    assert any(m.startswith("resumed") for m in seen) and [m for m in seen if m.startswith("epoch")][0][:9] == "epoch 2/2"
    assert out.exists() and not (tmp_path / "e.pt.ckpt").exists() and rec["config"]["epochs"] == 2


def test_onnx_extractor_matches_torchscript(tmp_path):
    """Runs only where onnxruntime and onnx are installed (not a dependency)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 3, 4, stride=4), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten()
    ).eval()
    torch.jit.script(net).save(str(tmp_path / "m.pt"))
    torch.onnx.export(net, (torch.zeros(2, 3, 128, 128),), str(tmp_path / "m.onnx"), dynamo=False,
                      input_names=["x"], dynamic_axes={"x": {0: "b"}})
    real, synth = blobs(30, 1), blobs(30, 2, "s", spread=40.0)
    a = compute(real, synth, metrics="fid", extractor=str(tmp_path / "m.pt")).table.loc["mean", "layout_fid"]
    b = compute(real, synth, metrics="fid", extractor=str(tmp_path / "m.onnx")).table.loc["mean", "layout_fid"]
    assert b == pytest.approx(a, rel=1e-4)


def test_named_reference_set_is_encoded_from_its_bundled_cells():
    """`topofd compare brca-m2c:test synth/ --metrics fid,kid`: the bundled
    reference stores diagrams only; its cells are rebuilt from the bundled
    label files (the same content keys), so FID and KID are measured, with
    intervals."""
    pytest.importorskip("torch")
    import topofd
    from topofd.layouts.brca_m2c import demo_sets

    _, synth = demo_sets(24, seed=0)
    rep = topofd.compare("brca-m2c:test", synth, metrics="fid,kid")
    mean = rep.table.loc["mean"]
    for col in ("layout_fid", "layout_kid"):
        assert np.isfinite(mean[col]) and np.isfinite(mean[f"{col}_se"]), col
    assert not any("not measured" in n for n in rep.meta["notes"])

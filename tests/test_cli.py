"""The `topofd` command line: help, error handling, baselines, compare, demo."""
import json
import os
import shutil
import subprocess
import dataclasses
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from topofd.cli import cli
from topofd.output.report import format_report
from topofd.layouts.sets import read_layouts
from conftest import layout_folder, random_layouts

CLASSES = ("lym", "epi", "stro")


def run(*args, **kw):
    return CliRunner().invoke(cli, [str(a) for a in args], **kw)


def one_error_line(res, code=1):
    assert res.exit_code == code, (res.exit_code, res.output)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("topofd: error: "), res.stderr
    assert "Traceback" not in res.output
    return lines[0]


def _layout_dir(d: Path, n=6, seed=0, suffix="", H=64, W=64, n_cells=25) -> Path:
    """``n`` random 3-class layouts as published-format .npy files."""
    counts = [n_cells + 5 * k for k in range(3)]
    lays = random_layouts(n, seed, CLASSES, fixed=counts, low=2, high=H - 3, shape=(H, W), name="p{i:02d}", suffix=suffix)
    return layout_folder(d, lays)


# ------------------------------------------------------------------ help
@pytest.mark.parametrize("cmd", [[], ["compare"], ["patches"], ["baseline"], ["demo"]])
def test_help(cmd):
    res = run(*cmd, "--help")
    assert res.exit_code == 0 and "Usage: topofd" in res.output


def test_console_script_subprocess():
    exe = shutil.which("topofd") or str(Path(sys.executable).with_name("topofd"))
    assert Path(exe).exists(), "console script not installed (pip install -e .)"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for c in ("compare", "patches", "baseline", "demo"):
        assert c in out.stdout
    out = subprocess.run([exe, "compare", "/no/such/dir", "/no/such/dir"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "no such file or folder" in out.stderr and "Traceback" not in out.stderr


# ------------------------------------------------------------- baselines
@pytest.mark.parametrize("kind", ["random", "jitter", "shuffle"])
def test_baseline_names_counts_and_determinism(tmp_path, kind):
    real = _layout_dir(tmp_path / "real", n=4)
    res = run("baseline", kind, real, "--out", tmp_path / "a", "--seed", 3, "-q")
    assert res.exit_code == 0, res.output
    files = sorted((tmp_path / "a").glob("*.npy"))
    assert [f.name for f in files] == [f"p{i:02d}_gen.npy" for i in range(4)]
    a = [np.load(f) for f in files]
    assert all(x.shape == (64, 64, 3) and x.dtype == np.uint8 for x in a)
    real_l, _ = read_layouts(real)
    synth_l, _ = read_layouts(tmp_path / "a")
    if kind == "shuffle":  # same positions, labels permuted: total cells kept exactly when no overlaps merge
        assert sum(l.counts.sum() for l in synth_l) > 0
    # workers do not change the files
    res = run("baseline", kind, real, "--out", tmp_path / "b", "--seed", 3, "-q", "--jobs", 2)
    assert res.exit_code == 0, res.output
    for f in files:
        assert np.array_equal(np.load(f), np.load(tmp_path / "b" / f.name))
    # another seed changes them (shuffle/jitter/random all draw)
    run("baseline", kind, real, "--out", tmp_path / "c", "--seed", 4, "-q")
    assert any(not np.array_equal(np.load(f), np.load(tmp_path / "c" / f.name)) for f in files)


def test_baseline_counts_are_matched_before_rasterising(tmp_path):
    from topofd.layouts.baselines import perturb

    real = _layout_dir(tmp_path / "real", n=2)
    for lay in read_layouts(real)[0]:
        for kind in ("random", "jitter", "shuffle"):
            assert np.array_equal(perturb(lay, kind).counts, lay.counts)


def test_baseline_point_format_needs_canvas(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "a.csv").write_text("x,y,class\n3,4,1\n10,12,2\n")
    line = one_error_line(run("baseline", "random", tmp_path / "r", "--out", tmp_path / "o"))
    assert "--canvas" in line
    res = run("baseline", "random", tmp_path / "r", "--out", tmp_path / "o", "--canvas", "32x32", "-q")
    assert res.exit_code == 0, res.output
    assert np.load(tmp_path / "o" / "a_gen.npy").shape == (32, 32, 2)
    res = run("baseline", "random", tmp_path / "r", "--out", tmp_path / "o", "--canvas", "32by32")
    assert res.exit_code == 2 and "HEIGHTxWIDTH" in res.stderr


def test_baseline_skip_bad(tmp_path):
    real = _layout_dir(tmp_path / "real", n=2)
    (real / "zz_broken.npy").write_bytes(b"garbage")
    line = one_error_line(run("baseline", "random", real, "--out", tmp_path / "o"))
    assert "zz_broken.npy" in line and not (tmp_path / "o").exists()
    res = run("baseline", "random", real, "--out", tmp_path / "o", "--skip-bad", "-q")
    assert res.exit_code == 0 and "skipped 1" in res.stderr and "zz_broken.npy" in res.stderr
    assert len(list((tmp_path / "o").glob("*.npy"))) == 2


# ------------------------------------------------------- usage / data errors
def test_usage_errors_exit_2(tmp_path):
    real = _layout_dir(tmp_path / "real", n=2)
    for args in (["compare", real], ["compare", real, tmp_path / "missing"],
                 ["compare", real, real, "--metrics", "topofd,nosuch"], ["compare", real, real, "--format", "tiff"],
                 ["compare", real, real, "--protocol", "nope"], ["compare", real, real, "--jobs", "0"],
                 ["compare", real, real, "--colors", "a=notacolour"],
                 ["compare", real, real, "--metrics", "counts", "--pairing", "none"], ["baseline", "blur", real, "--out", tmp_path],
                 ["nosuchcommand"]):
        res = run(*args)
        assert res.exit_code == 2, (args, res.output)
        assert "Traceback" not in res.output


def test_unwritable_outputs_fail_before_computing(tmp_path, monkeypatch):
    real = _layout_dir(tmp_path / "real", n=2)
    called = []
    fake = types.ModuleType("topofd.api")
    fake.compare = lambda *a, **k: called.append(1)
    monkeypatch.setitem(sys.modules, "topofd.api", fake)
    line = one_error_line(run("compare", real, real, "--json", tmp_path / "nodir" / "r.json"))
    assert "does not exist" in line
    (tmp_path / "afile").write_text("x")
    res = run("compare", real, real, "--plots", tmp_path / "afile")
    assert res.exit_code == 2 and "is a file" in res.stderr
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        line = one_error_line(run("compare", real, real, "--csv", ro / "t.csv"))
        assert "permission denied" in line
    assert not called


class FakeReport:
    """The contract's Report, for testing the CLI's plumbing on its own."""

    def __init__(self, classes=CLASSES, paired=True, nan=False):
        idx = list(classes) + ["mean"]
        self.table = pd.DataFrame({"topofd": [1.5, 2.25, 0.001234, 1.25], "mmd": [0.1, 0.2, 0.3, 0.2],
                                   "cce": [1.0, 2.0, 3.0, np.nan if not nan else np.nan],
                                   "tce": [np.nan, np.nan, np.nan, 6.0]}, index=idx)
        self.meta = {"protocol": "paper", "sigma": {c: 1.0 for c in classes}, "n_real": 6, "n_synth": 6,
                     "n_pairs": 6 if paired else None, "unmatched_real": 0, "unmatched_synth": 0,
                     "skipped": ["x.npy: corrupt"], "seconds": 1.0, "notes": ["a note"]}
        from test_plots import fake_report  # tests/ is on the path (pyproject pythonpath)

        fr = fake_report(paired, classes[:1])  # figures of one class: the plots have their own tests
        self.artifacts, self.counts_real, self.counts_synth = fr.artifacts, fr.counts_real, fr.counts_synth

    def to_dict(self):
        return {"protocol": "paper", "classes": list(self.table.index[:-1]),
                "per_class": [{"class": c, "topofd": float(r.topofd), "mmd": float(r.mmd), "cce": float(r.cce)}
                              for c, r in self.table.iloc[:-1].iterrows()],
                "mean": {"topofd": 1.25, "mmd": 0.2, "tce": 6.0}, "meta": self.meta}


def test_compare_plumbing_with_fake_api(tmp_path, monkeypatch):
    real = _layout_dir(tmp_path / "real", n=2)
    seen = {}

    def fake_compare(r, s, opts):
        seen.update(dataclasses.asdict(opts), real=r, synth=s, reader_options=opts.reader_kwargs())
        return FakeReport()

    fake = types.ModuleType("topofd.api")
    fake.compare = fake_compare
    monkeypatch.setitem(sys.modules, "topofd.api", fake)
    res = run("compare", real, real, "--metrics", "topofd,counts", "--classes", "lym,epi,stro", "--pairing", "none",
              "--json", tmp_path / "r.json", "--csv", tmp_path / "t.csv", "--plots", tmp_path / "figs",
              "--colors", "lym=red,epi=green,stro=blue", "--x-col", "X", "--canvas", "256x256", "--cache-dir",
              tmp_path / "cache", "--se-groups", 10, "--paper-se-splits", 2, "--mmd-samples", 50, "--jobs", 2, "--seed", 7,
              "--skip-bad", "-q")
    assert res.exit_code == 0, res.output
    assert seen["metrics"] == ("topofd", "counts") and seen["classes"] == CLASSES and seen["pairing"] == "none"
    assert {k: seen["reader_options"][k] for k in ("colors", "x_col", "shape")} == {
        "colors": "lym=red,epi=green,stro=blue", "x_col": "X", "shape": (256, 256)}
    assert seen["cache_dir"] == str(tmp_path / "cache") and seen["se_groups"] == 10 and seen["mmd_samples"] == 50
    assert seen["paper_se_splits"] == 2 and seen["uncertainty"] is True and seen["extrapolate"] is False
    assert seen["n_jobs"] == 2 and seen["seed"] == 7 and seen["skip_bad"] is True and seen["progress"] is False
    out = res.stdout
    assert "TopoFD" in out and "TCE" in out and "protocol: paper" in out and "elapsed:" in out
    assert out.splitlines()[2].split()[:3] == ["lym", "1.500", "0.1000"]
    assert "skipped 1" in res.stderr
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["mean"]["tce"] == 6.0 and d["per_class"][0]["class"] == "lym"
    t = pd.read_csv(tmp_path / "t.csv", index_col=0)
    assert list(t.index) == ["lym", "epi", "stro", "mean"]
    assert sorted(p.name for p in (tmp_path / "figs").glob("*.png")) == [
        "lym_barycenters.png", "lym_counts.png", "lym_landscapes.png"]
    assert not list(tmp_path.glob(".*tmp")) and not list((tmp_path / "figs").glob(".*"))


def test_format_report_value_pm_se_one_format_per_column():
    rep = FakeReport()
    rep.table["topofd"] = [194.0, 182.3, 1.25, 125.85]
    rep.table["topofd_se"] = [3.0, 2.25, 0.5, 1.0]
    text = format_report(rep, 2.0)
    assert "194.0 ± 3.0" in text and "182.3 ± 2.2" in text and "1.2 ± 0.5" in text
    assert "elapsed: 2.0 s" in text and "note: a note" in text


# ------------------------------------------------------ the real compare
@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    d = tmp_path_factory.mktemp("sets")
    real = _layout_dir(d / "real", n=6, seed=1)
    r = CliRunner().invoke(cli, ["baseline", "random", str(real), "--out", str(d / "synth"), "-q"])
    assert r.exit_code == 0, r.output
    return d, real, d / "synth"


def test_compare_end_to_end(sets):
    d, real, synth = sets
    res = run("compare", real, synth, "--classes", "lym,epi,stro", "--json", d / "r.json", "--csv", d / "t.csv",
              "--plots", d / "figs", "-q")
    assert res.exit_code == 0, res.output
    for c in CLASSES + ("mean",):
        assert any(line.startswith(c) for line in res.stdout.splitlines())
    rep = json.loads((d / "r.json").read_text())
    assert rep["classes"] == list(CLASSES) and set(rep["mean"]) >= {"topofd", "mmd", "tce"}
    assert rep["meta"]["n_pairs"] == 6
    pngs = sorted(p.name for p in (d / "figs").glob("*.png"))
    assert len(pngs) == 9 and "lym_counts.png" in pngs
    # the CLI prints what the API computes
    from topofd.api import compare

    ref = compare(str(real), str(synth), classes=CLASSES)
    t = pd.read_csv(d / "t.csv", index_col=0)
    np.testing.assert_allclose(t["topofd"].to_numpy(), ref.table["topofd"].to_numpy(), rtol=1e-12)


def test_compare_data_errors(sets, tmp_path):
    d, real, synth = sets
    (tmp_path / "empty").mkdir()
    assert "no layout files" in one_error_line(run("compare", real, tmp_path / "empty", "-q"))
    # no pairs under prefix: counts are skipped with a note, an error only when asked for
    other = _layout_dir(tmp_path / "other", n=3, suffix="_x")
    for f in other.iterdir():
        f.rename(f.with_name("q" + f.name))
    res = run("compare", real, other, "-q", "--paper-se-splits", 0)
    assert res.exit_code == 0 and "count errors skipped" in res.stdout and "CCE" not in res.stdout
    assert "paired" in one_error_line(run("compare", real, other, "-q", "--metrics", "topofd,counts"))
    # class count mismatch
    two = tmp_path / "two"
    two.mkdir()
    for f in sorted(synth.glob("*.npy")):
        np.save(two / f.name, np.load(f)[..., :2])
    one_error_line(run("compare", real, two, "-q"))
    # a corrupt file: named; --skip-bad goes on and reports it
    bad = tmp_path / "bad"
    shutil.copytree(synth, bad)
    (bad / "p00_gen.npy").write_bytes(b"not numpy")
    assert "p00_gen.npy" in one_error_line(run("compare", real, bad, "-q", "--json", tmp_path / "j.json"))
    assert not (tmp_path / "j.json").exists()
    res = run("compare", real, bad, "-q", "--skip-bad")
    assert res.exit_code == 0, res.output
    assert "skipped 1" in res.stderr and "p00_gen.npy" in res.stderr


def test_demo_subset():
    res = run("demo", "--n-patches", 40, "--mmd-samples", 20, "--jobs", 1, "-q")
    assert res.exit_code == 0, res.output
    assert "40 real BRCA-M2C test patches" in res.stdout and "mean" in res.stdout


def test_demo_full():
    """The README's first command, end to end (its time is measured by
    benchmarks, not asserted here)."""
    res = run("demo", "-q")
    assert res.exit_code == 0, res.output
    assert "1550 real BRCA-M2C test patches" in res.stdout
    assert "mean" in res.stdout

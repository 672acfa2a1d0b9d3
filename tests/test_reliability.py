"""What a new user hits (issue: reliability): progress bars under a terminal
with workers, Ctrl-C, output files, numbers that must not come silently
wrong.  Reader-level cases are in test_readers.py / test_match_sets.py /
test_fuzz_inputs.py."""
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import topofd
from topofd.cli import cli
from conftest import layout_folder, random_layouts

CLASSES = ("lym", "epi", "stro")


def _folder(d: Path, n=12, seed=0, suffix=""):
    return layout_folder(d, random_layouts(n, seed, CLASSES, fixed=15, low=2, name="p{i:02d}", suffix=suffix))


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    d = tmp_path_factory.mktemp("rel")
    return _folder(d / "real"), _folder(d / "synth", seed=1, suffix="_gen")


def _topofd_exe():
    exe = shutil.which("topofd") or str(Path(sys.executable).with_name("topofd"))
    assert Path(exe).exists()
    return exe


@pytest.mark.skipif(shutil.which("script") is None, reason="util-linux 'script' (a pseudo-terminal) not available")
def test_workers_and_progress_bars_under_a_terminal(sets):
    real, synth = sets
    cmd = f"{_topofd_exe()} compare {real} {synth} -j 2 --protocol grid --metrics topofd,mmd"
    out = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:]
    assert "Traceback" not in out.stdout and "BrokenProcessPool" not in out.stdout
    assert "mean" in out.stdout


def test_api_progress_with_workers(sets):
    real, synth = sets
    rep = topofd.compare(str(real), str(synth), protocol="grid", metrics="topofd", progress=True, n_jobs=2)
    assert np.isfinite(rep.table.at["mean", "topofd"])


def test_ctrl_c_exits_130_with_one_line_and_no_partial_figures(sets, tmp_path, monkeypatch):
    real, synth = sets
    import topofd.output.plots as plots

    def interrupted(report, out_dir):
        (Path(out_dir) / "lym_barycenters.png").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(plots, "write_plots", interrupted)
    figs = tmp_path / "figs"
    res = CliRunner().invoke(cli, ["compare", str(real), str(synth), "--protocol", "grid", "--metrics", "topofd",
                                   "--plots", str(figs), "-q"])
    assert res.exit_code == 130, res.output
    assert res.stderr.strip().splitlines() == ["topofd: interrupted"]
    assert not figs.exists() or not any(figs.iterdir())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".figs")]


def test_outputs_readable_by_others_and_symlinks_written_through(sets, tmp_path):
    real, synth = sets
    target = tmp_path / "reports" / "r.json"
    target.parent.mkdir()
    target.write_text("{}")
    os.chmod(target, 0o644)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    csv = tmp_path / "t.csv"
    res = CliRunner().invoke(cli, ["compare", str(real), str(synth), "--protocol", "grid", "--json", str(link),
                                   "--csv", str(csv), "-q"])
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and json.loads(target.read_text())["protocol"] == "grid"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(csv.stat().st_mode) == 0o666 & ~umask


def test_unusable_cache_dir_fails_before_computing(sets, tmp_path, monkeypatch):
    real, synth = sets
    blocker = tmp_path / "cache"
    blocker.write_text("a file, not a folder")
    import topofd.evaluator as ev

    called = []
    monkeypatch.setattr(ev, "diagrams_of", lambda *a, **k: called.append(1))
    res = CliRunner().invoke(cli, ["compare", str(real), str(synth), "--cache-dir", str(blocker), "-q"])
    assert res.exit_code in (1, 2) and "Traceback" not in res.output and not called


def test_permutation_p_values_are_printed(sets):
    real, synth = sets
    res = CliRunner().invoke(cli, ["compare", str(real), str(synth), "--protocol", "grid", "--metrics", "mmd",
                                   "--permutations", "19", "-q"])
    assert res.exit_code == 0, res.output
    assert "MMD p" in res.stdout


def test_api_and_cli_columns_in_the_documented_order(sets):
    real, synth = sets
    rep = topofd.compare(str(real), str(synth), protocol="grid")
    metrics = [c for c in rep.table.columns if not c.endswith(("_se", "_lo", "_hi", "_p"))]
    assert metrics == ["topofd", "topokd", "mmd", "cce", "tce"]
    d = rep.to_dict()
    assert "cce" in d["mean"] and "tce" not in d["per_class"][0]


def test_intervals_always_contain_their_estimate(sets):
    real, synth = sets
    t = topofd.compare(str(real), str(synth), paper_se_splits=2).table
    for m in ("topofd", "mmd", "cce", "tce"):
        ok = t[[m, f"{m}_lo", f"{m}_hi"]].dropna()
        assert len(ok) and ((ok[f"{m}_lo"] <= ok[m]) & (ok[m] <= ok[f"{m}_hi"])).all(), m


def test_api_bad_arguments_are_value_errors(sets):
    real, synth = sets
    for kw in (dict(n_bins=0), dict(se_groups=0), dict(paper_se_splits=-1), dict(metrics="topofd,bogus")):
        with pytest.raises(ValueError):
            topofd.compare(str(real), str(synth), **kw)
    rep = topofd.compare(str(real), str(synth), metrics="topofd", protocol="grid")  # a string is a list
    assert list(rep.table.columns[:1]) == ["topofd"]

"""Reference files (``topofd stats``) and named sets: the same numbers as
recomputing, and refusal of files that are tampered, too new or made with
other options.  Loading must never unpickle: the cache too."""
import json
import pickle
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

import topofd
from topofd import Evaluator
from topofd.cli import cli
from topofd.storage.reference import load_reference, make_reference, names
from topofd.storage.arrays import load_npz, save_npz
from conftest import random_layouts

CLASSES = ("a", "b")


def _layouts(n, seed, suffix=""):
    return random_layouts(n, seed, CLASSES, cells=(6, 15), name="w{i:03d}", suffix=suffix)


@pytest.fixture()
def ref_file(tmp_path):
    ev = Evaluator(n_jobs=1)
    ev.update(_layouts(20, 0), real=True)
    p = tmp_path / "real.topofd"
    make_reference(ev, p, name="test")
    return p


@pytest.mark.parametrize("protocol", ["paper", "grid"])
def test_reference_round_trip_gives_identical_numbers(ref_file, protocol):
    real, synth = _layouts(20, 0), _layouts(20, 1, "_gen")
    a = topofd.compare(real, synth, protocol=protocol, paper_se_splits=2).table
    b = topofd.compare(str(ref_file), synth, protocol=protocol, paper_se_splits=2).table
    assert a.equals(b)
    ev = Evaluator(protocol=protocol, paper_se_splits=2)
    ev.load_reference(ref_file)
    ev.update(synth, real=False)
    assert ev.compute().table.equals(a)


def test_tampered_new_and_incompatible_files_are_refused(ref_file, tmp_path):
    arrays, meta = load_npz(ref_file)
    arrays["counts"] = arrays["counts"] + 1
    bad = tmp_path / "tampered.topofd"
    save_npz(bad, arrays, meta)
    with pytest.raises(ValueError, match="recorded hash"):
        load_reference(bad)
    arrays, meta = load_npz(ref_file)
    newer = tmp_path / "newer.topofd"
    save_npz(newer, arrays, dict(meta, format_version=99))
    with pytest.raises(ValueError, match="newer"):
        load_reference(newer)
    ev = Evaluator(complex="alpha")
    with pytest.raises(ValueError, match="complex 'rips'"):
        ev.load_reference(ref_file)
    junk = tmp_path / "junk.topofd"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.topofd"):
        load_reference(junk)
    with pytest.raises(ValueError, match="no such reference"):
        load_reference(tmp_path / "missing.topofd")


def test_loading_never_unpickles(ref_file, tmp_path):
    # an npz whose member is a pickled object array: np.load(allow_pickle=False) refuses it
    evil = tmp_path / "evil.topofd"
    with zipfile.ZipFile(evil, "w") as z:
        with z.open("names.npy", "w") as fh:
            np.lib.format.write_array(fh, np.array([{"x": 1}], dtype=object), allow_pickle=True)
        with z.open("__meta__.npy", "w") as fh:
            np.lib.format.write_array(fh, np.array(json.dumps({"format": "topofd-reference"})))
    with pytest.raises(ValueError, match="evil.topofd"):
        load_reference(evil)


def test_cache_folder_holds_no_pickles_and_ignores_planted_ones(tmp_path):
    real, synth = _layouts(12, 0), _layouts(12, 1, "_gen")
    cache = tmp_path / "cache"
    a = topofd.compare(real, synth, cache_dir=cache, paper_se_splits=0).table
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert files and all(p.suffix == ".npz" for p in files)
    for p in files:
        with np.load(p, allow_pickle=False) as z:
            assert all(z[k].dtype != object for k in z.files)
    # a planted pickle under an entry's name is never loaded
    victim = files[0]
    victim.write_bytes(pickle.dumps({"boom": 1}))
    b = topofd.compare(real, synth, cache_dir=cache, paper_se_splits=0).table
    assert a.equals(b)


def test_cli_stats_refs_and_named_set(tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["refs"])
    assert r.exit_code == 0 and "brca-m2c:test" in r.output
    assert "brca-m2c:test" in names()
    src = tmp_path / "real"
    src.mkdir()
    for l in _layouts(12, 0):
        np.save(src / f"{l.name}.npy", l.to_array())
    out = tmp_path / "r.topofd"
    r = runner.invoke(cli, ["stats", str(src), "--out", str(out)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["stats", str(src), "--out", str(tmp_path / "r.npz")])
    assert r.exit_code == 2 and ".topofd" in r.output
    r = runner.invoke(cli, ["compare", "nosuch:set", str(src)])
    assert r.exit_code == 2 and "named reference sets" in r.output


def test_named_brca_reference_matches_bundled_patches():
    ref = load_reference("brca-m2c:test")
    assert len(ref.keys) == 1550 and ref.classes == ("lym", "epi", "stro")
    assert set(ref.stats) == {("paper", k, 100, 1) for k in range(3)}

"""Every score on a scale from real tissue (floor) to random placement
(issue 27): the pure scaling, the matched-real baseline, reference files
with scale rows (``topofd stats --floor-pool``) and the bundled rows."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import topofd
from topofd import Layout
from topofd.cli import cli
from topofd.layouts.baselines import matched_real, nearest_counts, source_image
from topofd.layouts.sets import read_layouts
from topofd.options import Options
from topofd.scale_rows import make_scale
from topofd.stats.scale import Z, add_scaled, scaled
from topofd.storage.reference import bundled_scale

from shared_data import shared_dataset


def test_scaled_by_hand():
    s, se, why = scaled(0.3, 0.01, 0.1, 0.02, 0.5, 0.03)
    assert why is None and s == pytest.approx(0.5)
    # (se_x² + s² se_r² + (s−1)² se_f²) / (r−f)², worked out by hand
    assert se == pytest.approx(math.sqrt(0.0001 + 0.25 * 0.0009 + 0.25 * 0.0004) / 0.4)
    assert scaled(0.1, None, 0.1, 0.02, 0.5, 0.03) == (0.0, None, None)  # no interval without x's
    assert scaled(0.6, 0.0, 0.1, 0.0, 0.5, 0.0)[0] == pytest.approx(1.25)  # worse than random: above 1


def test_scale_undefined_when_rows_do_not_separate():
    s, se, why = scaled(0.3, 0.01, 0.40, 0.02, 0.45, 0.02)  # gap 0.05 < 2 * 0.028
    assert math.isnan(s) and se is None and "floor 0.4" in why
    s, _, why = scaled(0.3, 0.01, 0.50, 0.02, 0.30, 0.02)  # random below the floor (paper TopoFD, epi)
    assert math.isnan(s) and why
    assert not math.isnan(scaled(0.3, 0.01, 0.40, 0.02, 0.50, 0.02)[0])  # gap 0.1 > 2 * 0.028


def test_add_scaled_maps_stored_classes_by_order():
    t = pd.DataFrame({"m": [1.0, 3.0, 2.0], "m_se": [0.1, 0.1, 0.1]}, index=["b", "a", "mean"])
    entry = {  # stored in class order a, b, then the mean
        "floor": {"value": [2.0, 0.0, 1.0], "se": [0.0, 0.0, 0.0]},
        "random": {"value": [4.0, 2.0, 3.0], "se": [0.0, 0.0, 0.0]},
        "how": "test",
    }
    meta, notes = add_scaled(t, "m", entry, order=[1, 0])
    assert t["m_scaled"].tolist() == pytest.approx([0.5, 0.5, 0.5]) and not notes
    assert t.at["b", "m_scaled_se"] == pytest.approx(0.05)
    assert t.at["b", "m_scaled_hi"] == pytest.approx(0.5 + Z * 0.05)
    assert meta["floor"] == {"b": 0.0, "a": 2.0, "mean": 1.0} and meta["how"] == "test"
    entry["random"]["value"][0] = 2.0  # class a: random = floor
    _, notes = add_scaled(t, "m", entry, order=[1, 0])
    assert math.isnan(t.at["a", "m_scaled"]) and "m: scale undefined" in notes[0] and "a (" in notes[0]


def test_nearest_counts_other_image_ties_by_name():
    real = np.array([[5, 5], [0, 9]])
    pool = np.array([[5, 5], [5, 6], [6, 5], [0, 9]])
    idx = nearest_counts(real, ["A", "B"], pool, ["A", "C", "D", "B"], ["p0", "p2", "p1", "p3"])
    # real 0: p0 is its own image; p2 and p1 both at distance 1 -> first name p1 (index 2)
    # real 1: p3 is its own image; nearest other is p2 = (5, 6), distance 8
    assert idx.tolist() == [2, 1]
    with pytest.raises(ValueError, match="another image"):
        nearest_counts(real[:1], ["A"], pool[:1], ["A"], ["p0"])


def _grid_layout(name, counts, shape=(64, 64), seed=0):
    """Cells on a lattice 8 px apart (none merge when drawn and read back)."""
    rng = np.random.default_rng([seed, *counts])
    sites = np.array([(r, c) for r in range(4, shape[0] - 4, 8) for c in range(4, shape[1] - 4, 8)], float)
    pick = rng.permutation(len(sites))
    pts, at = [], 0
    for n in counts:
        pts.append(sites[pick[at : at + n]])
        at += n
    return Layout(tuple(pts), ("a", "b"), shape, name)


def test_matched_real_picks_other_image_nearest_counts():
    real = [_grid_layout("imgA_r00000_c00000", (4, 4)), _grid_layout("imgA_r00000_c00032", (9, 2))]
    pool = [
        _grid_layout("imgA_r00032_c00000", (4, 4)),  # same image: never chosen
        _grid_layout("imgB_r00000_c00000", (5, 4)),
        _grid_layout("imgC_r00000_c00000", (9, 3)),
    ]
    out, info = matched_real(real, pool)
    assert [l.name for l in out] == ["imgA_r00000_c00000_gen", "imgA_r00000_c00032_gen"]
    assert [l.counts.tolist() for l in out] == [[5, 4], [9, 3]]
    assert info["mean_abs_delta"] == [0.5, 0.5] and info["mean_abs_delta_total"] == 1.0 and info["distinct"] == 2
    assert source_image("x_r00032_c00064") == "x" and source_image("plain") == "plain"


def _sets(tmp_path):
    real = [_grid_layout(f"im{i % 2}_r{i:05d}_c00000", (4 + i % 5, 6 + i % 3), seed=i) for i in range(16)]
    pool = [_grid_layout(f"pool{i % 3}_r{i:05d}_c00000", (3 + i % 7, 5 + i % 5), seed=100 + i) for i in range(24)]
    for folder, lays in (("real", real), ("pool", pool)):
        (tmp_path / folder).mkdir()
        for l in lays:
            np.save(tmp_path / folder / f"{l.name}.npy", l.to_array(3))
    return real


def test_stats_floor_pool_round_trip_gives_the_direct_scale(tmp_path):
    real = _sets(tmp_path)
    (tmp_path / "synth").mkdir()
    for i, l in enumerate(real):
        jittered = _grid_layout(f"{l.name}_gen", tuple(l.counts), seed=500 + i)
        np.save(tmp_path / "synth" / f"{jittered.name}.npy", jittered.to_array(3))
    ref = tmp_path / "r.topofd"
    r = CliRunner().invoke(
        cli, ["stats", str(tmp_path / "real"), "--floor-pool", str(tmp_path / "pool"), "--out", str(ref), "-q",
              "--no-features"]
    )
    assert r.exit_code == 0, r.output
    assert "mean |Δcount|" in r.output
    out = tmp_path / "c.json"
    r = CliRunner().invoke(cli, ["compare", str(ref), str(tmp_path / "synth"), "-q", "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "scaled = (score − floor) / (random − floor)" in r.output
    rep = json.loads(out.read_text())
    # directly: the same layouts in memory, no reference file
    lay, _ = read_layouts(tmp_path / "real")
    pool, _ = read_layouts(tmp_path / "pool")
    direct = make_scale(lay, lay, pool, Options())
    for m in ("topofd", "topokd", "mmd"):
        got = rep["meta"]["scale"][m]
        assert set(got) == {"floor", "floor_se", "random", "random_se", "how"}
        for kind in ("floor", "random"):
            want = direct["metrics"][m][0][kind]["value"]
            have = [got[kind][c] for c in ("class1", "class2", "mean")]
            assert have == pytest.approx(want, rel=1e-9, nan_ok=True)
        assert f"{m}_scaled" in rep["mean"] and f"{m}_scaled" in rep["per_class"][0]
    assert "topokd_scaled_se" in rep["mean"] and "topokd_scaled_hi" in rep["per_class"][1]
    # an unpaired synthetic set (names that pair with no real one) is put on the unpaired rows
    unpaired = tmp_path / "unpaired"
    unpaired.mkdir()
    for f in (tmp_path / "synth").glob("*.npy"):
        (unpaired / f"u_{f.name}").write_bytes(f.read_bytes())
    rep = topofd.compare(str(ref), str(unpaired), metrics=("topokd",))
    e = direct["metrics"]["topokd"][1]
    assert e["paired"] is False and "drawn at random" in rep.meta["scale"]["topokd"]["how"]
    assert rep.meta["scale"]["topokd"]["floor"]["mean"] == pytest.approx(e["floor"]["value"][-1], rel=1e-9)


def test_scale_skipped_with_note_for_other_options(tmp_path):
    real = _sets(tmp_path)
    lay, _ = read_layouts(tmp_path / "real")
    pool, _ = read_layouts(tmp_path / "pool")
    ref = tmp_path / "r.topofd"
    assert CliRunner().invoke(cli, ["stats", str(tmp_path / "real"), "--out", str(ref), "-q", "--no-features"]).exit_code == 0
    from topofd.storage.reference import add_scale

    add_scale(ref, make_scale(str(ref), lay, pool, Options(), metrics=("topokd",), unpaired=False))
    synth = [_grid_layout(f"{l.name}_gen", tuple(l.counts), seed=900 + i) for i, l in enumerate(real)]
    rep = topofd.compare(str(ref), synth, metrics=("topokd", "mmd"), mmd_samples=8)
    assert "topokd" in rep.meta["scale"] and "mmd" not in rep.meta["scale"]
    assert any(n.startswith("mmd: no scale") for n in rep.meta["notes"])


def test_pool_draw_excludes_the_real_images():
    from topofd.scale_rows import pool_draw

    real = [_grid_layout(f"imgA_r{i:05d}_c00000", (3, 3)) for i in range(5)]
    pool = real + [_grid_layout(f"imgB_r{i:05d}_c00000", (2, 2), seed=i) for i in range(3)]
    d = pool_draw(real, pool, seed=0)
    assert len(d) == 5 and all(l.source.startswith("imgB") for l in d)  # 5 from 3: with replacement
    assert [l.source for l in d] == [l.source for l in pool_draw(real, pool, seed=0)]
    with pytest.raises(ValueError, match="outside the real set"):
        pool_draw(real, real, seed=0)


def test_baseline_matched_real_cli(tmp_path):
    _sets(tmp_path)
    r = CliRunner().invoke(
        cli, ["baseline", "matched-real", str(tmp_path / "real"), "--pool", str(tmp_path / "pool"),
              "--out", str(tmp_path / "floor"), "-q"]
    )
    assert r.exit_code == 0, r.output
    assert len(list((tmp_path / "floor").glob("*_gen.npy"))) == 16 and "mean |Δcount|" in r.output
    r = CliRunner().invoke(cli, ["baseline", "random", str(tmp_path / "real"), "--pool", str(tmp_path / "pool"),
                                 "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and "--pool" in r.output and "Traceback" not in r.output


def test_bundled_rows_scale_the_named_set():
    rows = bundled_scale("brca-m2c:test")
    assert rows is not None and rows["classes"] == ["lym", "epi", "stro"] and rows["n"] == 1550
    for m in ("topofd", "topokd", "mmd"):
        e = rows["metrics"][m][0]
        assert len(e["floor"]["value"]) == 4 and len(e["random"]["se"]) == 4
    # TopoKD separates real tissue from random placement on every class (the evidence of issue 27)
    e = rows["metrics"]["topokd"][0]
    assert all(r > f for f, r in zip(e["floor"]["value"], e["random"]["value"]))


def test_named_set_scale_in_compare():
    from topofd.layouts.brca_m2c import bundled_root, real_patches
    from topofd.layouts.baselines import perturb

    with bundled_root() as root:
        real = real_patches(root, 24)
    synth = [Layout.from_array(perturb(l, "jitter", sigma=2).to_array(3), l.classes, name=f"{l.name}_gen")
             for l in real]
    rep = topofd.compare("brca-m2c:test", synth, metrics=("topokd",))
    assert set(rep.meta["scale"]) == {"topokd"}
    assert np.isfinite(rep.table.at["mean", "topokd_scaled"])
    assert "TopoKD" in str(rep) and "scaled [95 % interval]" in str(rep)


def test_train_split_pool_reads_through_shared_data():
    from topofd.layouts.brca_m2c import TRAIN_SPLIT, real_patches

    root = shared_dataset("brca-m2c")
    pool = real_patches(root, 200, split_file=TRAIN_SPLIT)
    test = real_patches(root, 20)
    out, info = matched_real(test, pool)
    assert all(source_image(o.source) != source_image(t.name) for o, t in zip(out, test))
    assert info["n_pool"] == 200 and info["mean_abs_delta_total"] >= 0


def test_leaderboard_and_html_show_the_scale(tmp_path):
    from topofd.output import leaderboard as lb
    from topofd.output.html import report_html
    from topofd.output.report import Report

    t = pd.DataFrame({"topokd": [0.05, 0.07, 0.06], "topokd_se": [0.01, 0.01, 0.005]}, index=["a", "b", "mean"])
    entry = {"floor": {"value": [0.04, 0.05, 0.045], "se": [0.001] * 3},
             "random": {"value": [0.09, 0.15, 0.12], "se": [0.002] * 3}, "how": "test rows"}
    meta_scale, _ = add_scaled(t, "topokd", entry, [0, 1])
    rep = Report("paper", ("a", "b"), t, {"scale": {"topokd": meta_scale}, "n_real": 10, "n_synth": 10,
                                           "test_set": "t"})
    html = report_html(rep)
    assert 'id="scale"' in html and "TopoKD scaled" in html
    p = tmp_path / "r.json"
    p.write_text(json.dumps(rep.to_dict()))
    df = lb.build_table(lb.load_reports([p]))
    assert df.loc[0, "TopoKD scaled"] == pytest.approx((0.06 - 0.045) / (0.12 - 0.045))
    assert any("TopoKD scaled: 0 = real tissue" in n for n in df.attrs["notes"])

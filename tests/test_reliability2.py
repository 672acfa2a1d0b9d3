"""Issue 20: numbers that must not come silently wrong (empty classes, no
H1 feature, dangling links, duplicate cells, the MMD definition, the
leaderboard's comparisons).  Through the Python API only."""
import os
from pathlib import Path

import numpy as np
import pytest

import topofd
from topofd import Layout

NAMES = ("class1", "class2", "class3")


def _lay(i, seed, empty=(2,), n=(3, 8), names=NAMES):
    r = np.random.default_rng(seed * 1000 + i)
    pts = tuple(np.zeros((0, 2)) if k in empty else r.uniform(2, 60, (int(r.integers(*n)), 2))
                for k in range(len(names)))
    return Layout(pts, names, (64, 64), f"p{i:02d}")


# ---------------------------------------------------------------- 1. CCE mean
def test_cce_mean_leaves_out_a_class_empty_in_both_sets():
    R = [_lay(i, 0) for i in range(12)]
    S = [_lay(i, 1) for i in range(12)]
    rep = topofd.compare(R, S, metrics="counts")
    t = rep.table
    assert np.isnan(t.at["class3", "cce"])
    assert t.at["mean", "cce"] == pytest.approx((t.at["class1", "cce"] + t.at["class2", "cce"]) / 2)
    assert any("class3" in n and "not scored" in n for n in rep.meta["notes"])
    # the interval is that of the same per-pair numbers: it contains the mean
    if "cce_lo" in t:
        assert t.at["mean", "cce_lo"] <= t.at["mean", "cce"] <= t.at["mean", "cce_hi"]


# ---------------------------------------------------------------- 2. no H1
def _no_loop_layout(i, seed):
    """One cell per class: every H1 diagram is empty."""
    r = np.random.default_rng(seed * 1000 + i)
    return Layout(tuple(r.uniform(2, 60, (1, 2)) for _ in NAMES), NAMES, (64, 64), f"p{i:02d}")


@pytest.mark.parametrize("protocol", ["paper", "grid"])
def test_no_h1_feature_anywhere_is_not_measured(protocol):
    R = [_no_loop_layout(i, 0) for i in range(12)]
    S = [_no_loop_layout(i, 1) for i in range(12)]
    rep = topofd.compare(R, S, metrics="topofd,topokd", protocol=protocol)
    t = rep.table
    for col in ("topofd", "topokd"):
        assert t[col].isna().all(), (col, t[col])
    for c in NAMES:
        note = f"class {c}: no H1 feature (loop) in any layout of either set: TopoFD/TopoKD not measured"
        assert rep.meta["notes"].count(note) == 1


def test_no_h1_class_is_left_out_of_the_mean():
    # class3 has one cell per layout (no loop); class1/2 have loops
    def lay(i, seed):
        r = np.random.default_rng(seed * 1000 + i)
        pts = (r.uniform(2, 60, (20, 2)), r.uniform(2, 60, (20, 2)), r.uniform(2, 60, (1, 2)))
        return Layout(pts, NAMES, (64, 64), f"p{i:02d}")
    rep = topofd.compare([lay(i, 0) for i in range(12)], [lay(i, 1) for i in range(12)],
                         metrics="topofd,topokd", protocol="grid")
    t = rep.table
    for col in ("topofd", "topokd"):
        assert np.isnan(t.at["class3", col])
        assert t.at["mean", col] == pytest.approx((t.at["class1", col] + t.at["class2", col]) / 2)


# ---------------------------------------------------------------- 3. dangling links
def _npy_folder(d: Path, n, seed):
    d.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        np.save(d / f"p{i:02d}.npy", _lay(i, seed, empty=()).to_array())
    return d


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_dangling_symlink_is_an_unreadable_file(tmp_path):
    real = _npy_folder(tmp_path / "real", 12, 0)
    synth = _npy_folder(tmp_path / "synth", 11, 1)
    os.symlink(tmp_path / "gone" / "p11.npy", synth / "p11.npy")
    with pytest.raises(ValueError, match=r"p11\.npy: broken symbolic link \(target .*gone.*p11\.npy does not exist\)"):
        topofd.compare(str(real), str(synth), metrics="topofd")
    rep = topofd.compare(str(real), str(synth), metrics="topofd", skip_bad=True, protocol="grid")
    bad = [s for s in rep.meta["skipped"] if getattr(s, "unreadable", False)]
    assert len(bad) == 1 and "broken symbolic link" in bad[0] and bad[0].path.endswith("p11.npy")
    assert "skipped 1 unreadable files" in rep.meta["notes"]
    # the single-file form says the same
    from topofd.layouts.sets import read_layouts
    with pytest.raises(ValueError, match="broken symbolic link"):
        read_layouts(synth / "p11.npy")


# ---------------------------------------------------------------- 5. MMD definition
def _paper_options(**kw):
    from topofd.options import Options, OptionError
    try:
        return Options(mmd_estimator="paper", **kw)
    except (OptionError, ValueError):  # until options.py lists "paper" among the choices
        o = Options(**kw)
        object.__setattr__(o, "mmd_estimator", "paper")
        return o


def _mmd_sets():
    R = [_lay(i, 0, empty=(), n=(12, 20)) for i in range(12)]
    S = [_lay(i, 1, empty=(), n=(12, 20)) for i in range(12)]  # same names: paired
    return R, S


def test_mmd_paper_estimator_is_the_published_formula():
    from topofd.tda.wasserstein import pairwise_wasserstein
    R, S = _mmd_sets()
    rep = topofd.compare(R, S, options=_paper_options(metrics="mmd", n_jobs=1))
    m = rep.meta["mmd"]
    assert m["estimator"] == "paper" and "not comparable with Table 1" in m["definition"]
    assert m["n_real"] == 12 and m["n_synth"] == 12 and m["sigma"] == rep.meta["sigma"]
    assert rep.meta["mmd_estimator"] == "paper"
    assert any("not comparable with Table 1" in n for n in rep.meta["notes"])
    # recompute: sqrt of the biased V-statistic with the full cross term (pairs NOT left out)
    from topofd.evaluator import Evaluator
    ev = Evaluator(metrics="mmd")
    ev.update(R, real=True)
    ev.update(S, real=False)
    Rv, Sv = ev.state(True).view(synthetic=False), ev.state(False).view(synthetic=True)
    for k, c in enumerate(NAMES):
        W = pairwise_wasserstein(Rv.cls(k) + Sv.cls(k), order=1.0, internal_p=np.inf, n_jobs=1)
        K = np.exp(-W / m["sigma"][c] ** 2)
        n = 12
        V = K[:n, :n].mean() + K[n:, n:].mean() - 2 * K[:n, n:].mean()
        assert rep.table.at[c, "mmd"] == pytest.approx(np.sign(V) * np.sqrt(abs(V)), rel=1e-9)
    # jackknife interval around it
    assert rep.table.at["mean", "mmd_lo"] <= rep.table.at["mean", "mmd"] <= rep.table.at["mean", "mmd_hi"]


def test_mmd_paper_negative_v_is_signed_with_a_note():
    from topofd.metrics.diagram_mmd import paper_mmd, paper_mmd_replicates
    K = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 1.0]])
    v, V = paper_mmd(K, 2)
    assert V == pytest.approx(0.5 + 0.5 - 2.0) and v == pytest.approx(-1.0)
    reps = paper_mmd_replicates(np.pad(K, 0), 2, np.array([0, 1]))
    assert len(reps) == 2 and all(np.isfinite(reps))


def test_mmd_default_is_unbiased_and_every_report_records_its_definition():
    R, S = _mmd_sets()
    rep = topofd.compare(R, S, metrics="mmd", n_jobs=1)
    m = rep.meta["mmd"]
    assert rep.meta["mmd_estimator"] == "unbiased" == m["estimator"]
    assert m["definition"].startswith("MMD², unbiased")
    assert set(m["sigma"]) == set(NAMES) and m["sigma"] == rep.meta["sigma"]
    assert (m["n_real"], m["n_synth"]) == (12, 12)
    # a set against itself: exactly 0 with the default estimator
    same = topofd.compare(R, [Layout(l.points, l.classes, l.shape, l.name) for l in R], metrics="mmd", n_jobs=1)
    assert (same.table["mmd"] == 0).all()
    import topofd.metrics.diagram_mmd as dm
    head = dm.__doc__.split("\n\n")[0]
    assert "Suppl. Sec. 11" not in head and "**MMD², unbiased**" in dm.__doc__


# ---------------------------------------------------------------- 6. leaderboard
def _rep(tmp_path, name, topofd, topokd=None, n_synth=12, test_set="t", dataset=None, classes=("a", "b"),
         se=None, estimator="unbiased"):
    import json
    meta = {"n_real": 12, "n_synth": n_synth, "test_set": test_set, "mmd_estimator": estimator,
            "se_df": {"topofd": 19, "topokd": 19}}
    if dataset:
        meta["dataset"] = dataset
    mean = {"topofd": topofd, "mmd": 0.01, "tce": 1.0}
    if topokd is not None:
        mean["topokd"] = topokd
    if se is not None:
        for k, v in (("topofd", topofd), ("topokd", topokd)):
            if v is not None:
                mean.update({f"{k}_se": se, f"{k}_lo": v - 2 * se, f"{k}_hi": v + 2 * se})
    d = {"protocol": "paper", "classes": list(classes), "mean": mean, "meta": meta,
         "per_class": [{"class": c, "topofd": topofd, "cce": 0.5 + i} for i, c in enumerate(classes)]}
    p = tmp_path / f"{name}.json"
    p.write_text(json.dumps(d))
    return p


def test_leaderboard_flags_reports_at_different_sample_sizes(tmp_path):
    from topofd.output import leaderboard as lb
    reps = lb.load_reports([_rep(tmp_path, "big", 10.0, n_synth=12, se=1.0),
                            _rep(tmp_path, "small", 10.5, n_synth=3, se=1.0)])
    df = lb.build_table(reps, False)
    assert df.attrs["rank_by"] == "TopoFD"
    assert list(df["N"]) == ["", "† n_synth differs"]
    assert df.loc[1, "vs above"] == "n≠"  # no '≈' on TopoFD across N
    assert any("different sample sizes" in n for n in df.attrs["notes"])


def test_leaderboard_ranks_by_topokd_across_n(tmp_path):
    from topofd.output import leaderboard as lb
    reps = lb.load_reports([_rep(tmp_path, "a", 5.0, topokd=0.30, n_synth=12, se=0.01),
                            _rep(tmp_path, "b", 9.0, topokd=0.10, n_synth=3, se=0.01),
                            _rep(tmp_path, "c", 1.0, topokd=0.305, n_synth=12, se=0.01)])
    df = lb.build_table(reps, False)
    assert df.attrs["rank_by"] == "TopoKD" and list(df["method"]) == ["b", "a", "c"]
    assert "TopoKD" in df and "TopoKD se" in df and "TopoFD" in df
    assert df.loc[1, "vs above"].startswith(">") and df.loc[2, "vs above"].startswith("≈")
    assert "0.10 ± 0.01" in lb.to_markdown(df)
    assert any("TopoKD (N-free in expectation) is ranked across N" in n for n in df.attrs["notes"])


def test_leaderboard_recomputed_mmd_has_its_own_column(tmp_path):
    from topofd.output import leaderboard as lb
    reps = lb.load_reports([_rep(tmp_path, "r", 200.0, test_set="brca-m2c:test", dataset="brca-m2c",
                                 classes=("class1", "class2", "class3"))])
    df = lb.build_table(reps)
    rec, pub = df[df["source"] == lb.RECOMPUTED], df[df["source"] == lb.QUOTED]
    assert rec["MMD"].isna().all() and pub["MMD"].notna().all()
    assert rec["MMD² (unbiased)"].notna().all() and pub["MMD² (unbiased)"].isna().all()
    # on the published test set, ranked together (by TopoFD: the reports have no TopoKD)
    assert "block" not in df and list(df["method"])[-1] == "r"
    # published CCE by position onto the placeholder classes
    adm = df[df["method"] == "ADM"].iloc[0]
    assert (adm["CCE class1"], adm["CCE class2"], adm["CCE class3"]) == (13.757, 40.23, 15.491)
    assert any("lym under class1" in n for n in df.attrs["notes"])


def test_leaderboard_published_rows_apart_off_the_published_test_set(tmp_path):
    from topofd.output import leaderboard as lb
    reps = lb.load_reports([_rep(tmp_path, "r", 1.0, test_set="my-real", dataset="brca-m2c",
                                 classes=("x", "y"))])
    df = lb.build_table(reps)
    assert df.loc[0, "method"] == "r" and (df.loc[1:, "block"] == "published (own block)").all()
    assert any("not the published test set" in n for n in df.attrs["notes"])
    assert any("published per-class CCE not shown" in n for n in df.attrs["notes"])


# ---------------------------------------------------------------- 4. duplicate cells
def test_duplicate_point_rows_are_kept_once(tmp_path):
    from topofd.layouts.readers import points
    from topofd.layouts.sets import duplicate_notes, read_layouts
    p = tmp_path / "p00.csv"
    rows = ["x,y,class", "10,12,1", "10,12,1", "10,12,1", "10,12,1", "30,40,2", "10,12,2"]
    p.write_text("\n".join(rows) + "\n")
    lay = points.read(p)
    assert list(lay.counts) == [1, 2] and lay.duplicates == 3
    layouts, _ = read_layouts(tmp_path)
    assert layouts[0].duplicates == 3
    assert duplicate_notes(layouts) == ["p00.csv: 3 duplicate cell row(s) (same x, y, class) kept once"]
    # BRCA .txt: the same rule
    t = tmp_path / "b" / "q.txt"
    t.parent.mkdir()
    t.write_text("12 10 1\n12 10 1\n40 30 2\n")
    from topofd.layouts.readers import brca
    lb = brca.read(t)
    assert lb.counts.sum() == 2 and lb.duplicates == 1


def test_intervals_of_nonnegative_scores_stay_at_or_above_zero():
    """12 layouts: the t intervals of TopoFD and CCE reached below 0 (e.g.
    TopoFD [-517, 3613]); a score that cannot be negative gets its lower
    bound raised to 0, with a note."""
    from topofd.layouts.brca_m2c import demo_sets

    real, synth = demo_sets(12, seed=0)
    rep = topofd.compare(real, synth, metrics="topofd,counts", paper_se_splits=3)
    t = rep.table
    for col in ("topofd_lo", "cce_lo", "tce_lo"):
        vals = t[col].dropna()
        assert len(vals) and (vals >= 0).all(), col
    assert any("raised to 0" in n for n in rep.meta["notes"])


def test_baseline_refuses_an_out_folder_that_is_an_input_or_holds_layouts(tmp_path):
    from click.testing import CliRunner

    from topofd.cli import cli

    real = tmp_path / "R"
    real.mkdir()
    for i in range(3):
        m = np.zeros((32, 32, 2), np.uint8)
        m[4 + 3 * i, 5, 0] = m[20, 6 + 4 * i, 1] = 1
        np.save(real / f"p{i}.npy", m)
    before = sorted(p.name for p in real.iterdir())
    r = CliRunner().invoke(cli, ["baseline", "random", str(real), "--out", str(real), "-q"])
    assert r.exit_code == 1 and "input folder" in r.stderr and "Traceback" not in r.output
    assert sorted(p.name for p in real.iterdir()) == before  # nothing written into the real set
    out = tmp_path / "S"
    assert CliRunner().invoke(cli, ["baseline", "random", str(real), "--out", str(out), "-q"]).exit_code == 0
    again = CliRunner().invoke(cli, ["baseline", "random", str(real), "--out", str(out), "-q"])
    assert again.exit_code == 1 and "already holds" in again.stderr
    assert not list(out.glob("*_gen_gen.npy"))

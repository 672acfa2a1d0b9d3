"""Leaderboard: reports → Table-1 layout, refusing or grouping mixed protocols."""
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from topofd import compare
from topofd.output import leaderboard as lb
from topofd.cli.leaderboard import leaderboard as leaderboard_cmd
from conftest import random_layouts


def _report(path, method=None, protocol="paper", topofd=(1.0, 2.0), mmd=0.01, tce=0.5, test_set="t", dataset=None,
            fid=None):
    meta = {"n_real": 10, "n_synth": 10, "test_set": test_set}
    if method:
        meta["method"] = method
    if dataset:
        meta["dataset"] = dataset
    mean = {"topofd": float(np.mean(topofd)), "mmd": mmd, "tce": tce}
    if fid is not None:
        mean["fid"] = fid
    d = {
        "protocol": protocol,
        "classes": ["a", "b"],
        "per_class": [{"class": c, "topofd": v, "mmd": mmd, "cce": 0.1 * (i + 1)} for i, (c, v) in
                      enumerate(zip("ab", topofd))],
        "mean": mean,
        "meta": meta,
    }
    path.write_text(json.dumps(d))
    return path


def test_table_sorted_and_named(tmp_path):
    a = _report(tmp_path / "jitter.json", topofd=(5.0, 7.0))
    b = _report(tmp_path / "x.json", method="random", topofd=(50.0, 70.0), fid=3.0)
    c = _report(tmp_path / "floor.json", topofd=(1.0, 1.0), mmd=None)
    df = lb.build_table(lb.load_reports([b, a, c]))
    assert list(df["method"]) == ["floor", "jitter", "random"]
    assert list(df.columns[:4]) == ["method", "source", "CCE a", "CCE b"]
    # issue 20.6c: a recomputed MMD never goes in the published MMD column
    mmd = "MMD (recomputed: estimator not recorded)"
    assert {"TCE", "TopoFD", mmd, "FID"} <= set(df.columns) and "MMD" not in df.columns
    assert df.loc[0, "TopoFD"] == 1.0 and math.isnan(df.loc[0, mmd])
    assert (df["source"] == lb.RECOMPUTED).all()
    md = lb.to_markdown(df)
    assert "| floor | recomputed |" in md and "—" in md
    csv = lb.to_csv(df, tmp_path / "t.csv")
    assert csv.splitlines()[0].startswith(f"method,source,CCE a,CCE b,TCE,TopoFD,{mmd}")


def test_mixed_protocols_refused_or_grouped(tmp_path):
    a = _report(tmp_path / "a.json", protocol="paper")
    b = _report(tmp_path / "b.json", protocol="grid")
    c = _report(tmp_path / "c.json", protocol="paper", test_set="other")
    reps = lb.load_reports([a, b, c])
    with pytest.raises(ValueError, match="different protocols or test sets"):
        lb.build_table(reps)
    tables = lb.build_tables(reps)
    assert sorted(tables) == [("grid", "t"), ("paper", "other"), ("paper", "t")]
    assert all(len(df) == 1 for df in tables.values())


def test_bad_files(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "other.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="bad.json: not a JSON file"):
        lb.load_reports([tmp_path / "bad.json"])
    with pytest.raises(ValueError, match="other.json: not a topofd report"):
        lb.load_reports([tmp_path / "other.json"])
    d1 = _report(tmp_path / "d1.json", method="same")
    d2 = _report(tmp_path / "d2.json", method="same")
    with pytest.raises(ValueError, match="duplicate method"):
        lb.build_table(lb.load_reports([d1, d2]))


def test_published_rows(tmp_path):
    a = _report(tmp_path / "a.json", dataset="brca-m2c", topofd=(10.0, 10.0))
    reps = lb.load_reports([a])
    # the bundled rows: TopoCellGen Table 1, quoted as published, without intervals
    df = lb.build_table(reps)
    quoted = df[df["source"] == lb.QUOTED]
    assert sorted(quoted["method"]) == sorted(lb.PUBLISHED_METHODS)
    assert set(lb.PUBLISHED) == {"brca-m2c", "lizard"}
    assert "TopoFD se" not in df or quoted["TopoFD se"].isna().all()
    assert any("not recomputed" in n for n in df.attrs["notes"])
    pub = tmp_path / "pub.json"
    pub.write_text(json.dumps([{"dataset": "BRCA-M2C", "method": "M", "topofd": 5.0, "cce": {"a": 1.0},
                                "tce": 2.0}]))
    # issue 20.6d: the real set is not the published test set: published rows in their own block
    df = lb.build_table(reps, lb.load_published(pub))
    assert list(df["method"]) == ["a", "M"] and list(df["block"]) == [lb.RECOMPUTED, "published (own block)"]
    assert df.loc[1, "source"] == lb.QUOTED and df.loc[1, "CCE a"] == 1.0
    # on the published test set they are ranked together
    t = _report(tmp_path / "t.json", dataset="brca-m2c", topofd=(10.0, 10.0), test_set="brca-m2c:test")
    df = lb.build_table(lb.load_reports([t]), lb.load_published(pub))
    assert list(df["method"]) == ["M", "t"] and "block" not in df
    # never under another protocol
    g = _report(tmp_path / "g.json", protocol="grid", dataset="brca-m2c")
    df = lb.build_table(lb.load_reports([g]), lb.load_published(pub))
    assert list(df["method"]) == ["g"]


def test_ties_are_marked_by_a_welch_test(tmp_path):
    def rep(name, v, se):
        p = _report(tmp_path / f"{name}.json", topofd=(v, v))
        d = json.loads(p.read_text())
        d["mean"].update(topofd_se=se, topofd_lo=v - 2 * se, topofd_hi=v + 2 * se)
        d["meta"]["se_df"] = {"topofd": 19}
        p.write_text(json.dumps(d))
        return p

    df = lb.build_table(lb.load_reports([rep("a", 10.0, 1.0), rep("b", 11.0, 1.0), rep("c", 30.0, 1.0)]))
    assert list(df["method"]) == ["a", "b", "c"]
    assert df.loc[1, "vs above"].startswith("≈") and df.loc[2, "vs above"].startswith(">")
    md = lb.to_markdown(df)
    assert "10.00 ± 1.00" in md and "TopoFD lo" not in md
    assert "TopoFD lo" in lb.to_csv(df)


def test_same_data_via_two_paths_is_one_test_set(tmp_path):
    a = _report(tmp_path / "a.json", test_set=None)
    b = _report(tmp_path / "b.json", test_set=None)
    c = _report(tmp_path / "c.json", test_set=None)
    for p, real, h in ((a, "/data/real", "h1"), (b, "/data/./real/", "h1"), (c, "/data/real", "h2")):
        d = json.loads(p.read_text())
        d["meta"].update(real=real, real_hash=h)
        p.write_text(json.dumps(d))
    assert len(lb.build_table(lb.load_reports([a, b]))) == 2
    with pytest.raises(ValueError, match="different protocols or test sets"):
        lb.build_table(lb.load_reports([a, c]))


def test_command(tmp_path):
    a = _report(tmp_path / "a.json")
    b = _report(tmp_path / "b.json", protocol="grid")
    r = CliRunner().invoke(leaderboard_cmd, [str(a), str(b)])
    assert r.exit_code == 1 and "different protocols" in r.output
    r = CliRunner().invoke(leaderboard_cmd, [str(a), str(b), "--group", "--md", str(tmp_path / "l.md"),
                                                    "--csv", str(tmp_path / "l.csv")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "l.md").read_text().count("protocol `") == 2
    assert len(list(tmp_path.glob("l_*.csv"))) == 2
    r = CliRunner().invoke(leaderboard_cmd, [str(tmp_path / "missing.json")])
    assert r.exit_code == 2
    r = CliRunner().invoke(leaderboard_cmd, [str(a), "--md", str(tmp_path / "nodir" / "l.md")])
    assert r.exit_code == 1 and "does not exist" in r.output and "Traceback" not in r.output
    assert "| method" not in r.output  # checked before printing anything


def test_real_report_roundtrip(tmp_path):
    """A Report.to_dict() from compare() loads and ranks."""
    rng = np.random.default_rng(0)
    real = random_layouts(4, rng, fixed=12, high=64, name="p{i}")
    synth = random_layouts(4, rng, fixed=12, high=64, name="p{i}", suffix="_gen")
    rep = compare(real, synth, metrics=("topofd", "counts"), protocol="grid")
    d = rep.to_dict()
    d["meta"]["method"] = "toy"
    p = tmp_path / "toy.json"
    p.write_text(json.dumps(d, default=str))
    df = lb.build_table(lb.load_reports([p]))
    assert df.loc[0, "method"] == "toy" and np.isfinite(df.loc[0, "TopoFD"]) and np.isfinite(df.loc[0, "TCE"])

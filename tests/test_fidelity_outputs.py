"""Fidelity and memorisation where the user looks (issue 18): leaderboard
columns (never the ranking key), the HTML report's precision–recall point
and near-copy gallery, and the near-copy threshold's margin."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from test_fidelity import renamed, rings, scores

from topofd.cli.leaderboard import leaderboard as leaderboard_cmd
from topofd.metrics.near_copies import MARGIN, QUANTILE, copy_threshold
from topofd.output import leaderboard as lb
from topofd.output.html import report_html

SIDE = {"precision": 0.9, "recall": 0.4, "density": 0.8, "coverage": 0.5, "ct": -4.2, "near_copies": 0.125}


def _report(path, method, topokd, side=None):
    mean = {"topofd": 10.0 * topokd, "topokd": topokd, "topokd_se": 0.01, "tce": 1.0}
    if side:
        mean.update(side)
        mean["precision_se"] = 0.02
    d = {
        "protocol": "paper",
        "classes": ["a", "b"],
        "per_class": [{"class": c, "topofd": 1.0, "cce": 0.1} for c in "ab"],
        "mean": mean,
        "meta": {"method": method, "n_real": 10, "n_synth": 10, "test_set": "t"},
    }
    path.write_text(json.dumps(d))
    return path


def test_leaderboard_shows_side_scores_but_never_ranks_by_them(tmp_path):
    # the copying method has the best precision but the worst TopoKD: it stays last
    a = _report(tmp_path / "a.json", "copier", 0.30, SIDE)
    b = _report(tmp_path / "b.json", "plain", 0.10)
    df = lb.build_table(lb.load_reports([a, b]))
    assert list(df["method"]) == ["plain", "copier"] and df.attrs["rank_by"] == "TopoKD"
    for col in ("Precision", "Recall", "Density", "Coverage", "C_T", "Near copies"):
        assert col in df.columns
        assert math.isnan(df.loc[0, col])  # absent from the plain report: blank, no error
    assert df.loc[1, "C_T"] == -4.2 and df.loc[1, "Near copies"] == 0.125 and df.loc[1, "Precision se"] == 0.02
    md = lb.to_markdown(df)
    assert "| 0.90 ± 0.02 |" in md and "0.1250" in md and "shown, never ranked" in md
    assert "Precision" in lb.to_csv(df).splitlines()[0]
    res = CliRunner().invoke(leaderboard_cmd, [str(a), str(b), "--html", str(tmp_path / "lb.html")])
    assert res.exit_code == 0, res.output
    assert "Near copies" in res.output and "Near copies" in (tmp_path / "lb.html").read_text()


def test_leaderboard_without_side_scores_has_no_side_columns(tmp_path):
    df = lb.build_table(lb.load_reports([_report(tmp_path / "p.json", "plain", 0.1)]))
    assert not {"Precision", "C_T", "Near copies"} & set(df.columns)
    assert not any("never ranked" in n for n in df.attrs["notes"])


@pytest.fixture(scope="module")
def memo():
    train = rings(60, 10, "t", radii=(6.0, 40.0))
    heldout = rings(40, 11, "h", radii=(6.0, 40.0))
    return train, heldout


def test_html_has_pr_point_verdict_and_gallery_when_the_metrics_ran(memo):
    train, heldout = memo
    r = scores(heldout, renamed(train[:40], "copy"), "fidelity,memorisation", train)
    h = report_html(r)
    assert 'id="fidelity"' in h and 'aria-label="precision against recall"' in h
    assert "all classes: precision" in h
    assert "near copies of training layouts" in h and "data copying" in h  # both verdict lines
    i = h.index('id="fidelity"')
    assert h.count('aria-label="training layout t00', i) == 4 and h.count('aria-label="synthetic layout copy', i) == 4
    assert "matching distance 0.00 px" in h and ": near copy" in h
    assert "<script" not in h
    # the pairs drawn are the ones the plug-in listed, cells per class
    pairs = r.artifacts["a"]["near_copy_pairs"]
    assert len(pairs) == 4 and np.array_equal(pairs[0][0], pairs[0][1])


def test_html_has_no_fidelity_section_without_those_metrics(memo):
    train, heldout = memo
    h = report_html(scores(heldout, rings(20, 12, "g"), "topokd"))
    assert 'id="fidelity"' not in h and "near copy" not in h and "precision against recall" not in h
    # precision alone (no recall): no point to draw, no gallery without near_copies
    h = report_html(scores(heldout, rings(20, 12, "g"), "precision"))
    assert 'id="fidelity"' not in h


def test_near_copy_threshold_keeps_a_margin_below_the_real_edge():
    # natural distances concentrated in [10, 12] px: a set shifted to 9.5 px
    # (closer than every real one, as a held-out set from other source images
    # can be) is not a near copy; a copy moved by 1 px is
    d_real = np.linspace(10.0, 12.0, 300)
    tau = copy_threshold(d_real)
    assert tau == pytest.approx(MARGIN * np.quantile(d_real, QUANTILE, method="lower"))
    assert not 9.5 < tau and 1.0 < tau
    assert math.isnan(copy_threshold(np.array([np.inf])))

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

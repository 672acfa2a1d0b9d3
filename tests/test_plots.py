"""Figures: valid PNGs of non-trivial content, one per figure and class."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from topofd.output.plots import write_plots


def fake_report(paired=True, classes=("lym", "epi", "stro")):
    rng = np.random.default_rng(0)
    art = {}
    for c in classes:
        b = rng.uniform(0, 10, size=(30, 1))
        x = np.linspace(0, 20, 100)
        art[c] = {
            "barycenter_real": np.hstack([b, b + rng.uniform(0, 5, size=(30, 1))]),
            "barycenter_synth": np.hstack([b, b + rng.uniform(0, 8, size=(30, 1))]),
            "landscape_real": np.sin(x / 4) ** 2,
            "landscape_synth": np.sin(x / 5) ** 2,
            "landscape_x_real": x,
            "landscape_x_synth": x,
        }
    counts = rng.integers(0, 50, size=(40, len(classes)))
    table = pd.DataFrame({"topofd": [1.0] * (len(classes) + 1)}, index=list(classes) + ["mean"])
    return SimpleNamespace(artifacts=art, table=table, counts_real=counts if paired else None,
                           counts_synth=(counts + rng.integers(-5, 6, size=counts.shape)).clip(0) if paired else None)


def assert_real_png(path, both_series=True):
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG"
        a = np.asarray(im.convert("RGB"))
    assert a.shape[0] > 200 and a.shape[1] > 200
    assert a.std() > 10                      # not blank
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 20  # lines, markers, text, not a flat fill
    # the real (blue) and synthetic (red) series are both drawn
    r, g, b = (a[..., i].astype(int) for i in range(3))
    assert ((r > g + 60) & (r > b + 60)).sum() > 30
    if both_series:
        assert ((b > r + 60) & (b > g + 20)).sum() > 30


def test_plots_paired(tmp_path):
    out = tmp_path / "figs" / "nested"
    paths = write_plots(fake_report(classes=("lym", "epi")), out)
    names = sorted(p.name for p in paths)
    assert names == sorted(f"{c}_{k}.png" for c in ("lym", "epi") for k in ("barycenters", "landscapes", "counts"))
    for p in paths:
        assert p.parent == out
        assert_real_png(p, both_series="counts" not in p.name)
    assert not list(out.glob(".*"))  # no temporary leftovers


def test_plots_unpaired_have_no_count_scatter(tmp_path):
    paths = write_plots(fake_report(paired=False, classes=("a b/c",)), tmp_path)
    assert sorted(p.name for p in paths) == ["a_b_c_barycenters.png", "a_b_c_landscapes.png"]


def test_plots_handle_empty_diagrams(tmp_path):
    rep = fake_report(paired=False, classes=("x",))
    rep.artifacts["x"]["barycenter_real"] = np.zeros((0, 2))
    rep.artifacts["x"]["barycenter_synth"] = np.zeros((0, 2))
    paths = write_plots(rep, tmp_path)
    assert len(paths) == 2 and all(p.stat().st_size > 1000 for p in paths)

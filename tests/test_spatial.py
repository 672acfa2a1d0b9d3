"""Spatial statistics of class pairs (issue 28): K/L/g/G, pooling, the rank
envelope test, colocalisation, and the ``spatial`` plug-ins.

Parity fixture ``tests/golden/spatial_astropy.json``: astropy 8.0.2's
``RipleysKEstimator(area=H*W, x_max=H, y_max=W, x_min=0, y_min=0)``,
``evaluate(points, radii, mode="translation")`` and ``Lfunction`` on three
fixed random patterns (one half clustered), and the same on each half of
the points (the cross-type K follows from the union and the halves),
written once by ``tests/golden/make_spatial_golden.py``.  astropy counts
pairs with d < r and spatstat d ≤ r: the fixture's radii are off every
pair distance of its continuous points, so both read the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import topofd
from topofd.layouts.layout import Layout
from topofd.spatial.coloc import coloc_sums, scores
from topofd.spatial.envelope import erl_order, rank_envelope_test, studentized_envelope_test
from topofd.spatial.explain import pair_sentence
from topofd.spatial.ripley import (
    accumulate,
    class_pairs,
    g_function,
    k_function,
    l_function,
    layout_sums,
    pair_numerator,
    pcf_from_k,
)

GOLDEN = json.loads((Path(__file__).parent / "golden" / "spatial_astropy.json").read_text())


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    both0 = (a == 0) & (b == 0)
    return float(np.max(np.where(both0, 0.0, np.abs(a - b) / np.maximum(np.abs(b), 1e-300))))


@pytest.mark.parametrize("case", range(len(GOLDEN["cases"])))
def test_k_l_match_astropy_translation(case):
    c = GOLDEN["cases"][case]
    pts, win, radii = np.array(c["points"]), c["window"], np.array(c["radii"])
    K = k_function(pts, None, win, radii)
    assert _rel(K, c["K"]) <= 1e-9
    assert _rel(l_function(K), c["L"]) <= 1e-9
    # the one-pass all-pairs sums of a layout give the same K
    kn, kd, _, _ = layout_sums([pts], win, radii)
    assert _rel(kn[0, 0] / kd[0, 0], c["K"]) <= 1e-9


@pytest.mark.parametrize("case", range(len(GOLDEN["cases"])))
def test_cross_k_from_astropy_union(case):
    """n(n−1) K_∪ = n_a(n_a−1) K_a + n_b(n_b−1) K_b + 2 n_a n_b K_ab (translation weights, same window)."""
    c = GOLDEN["cases"][case]
    pts, win, radii, h = np.array(c["points"]), c["window"], np.array(c["radii"]), c["split"]
    a, b = pts[:h], pts[h:]
    n, na, nb = len(pts), len(a), len(b)
    union = n * (n - 1) * np.array(c["K"])
    want = (union - na * (na - 1) * np.array(c["K_first"]) - nb * (nb - 1) * np.array(c["K_second"])) / (2 * na * nb)
    # relative to the union's term: the subtraction cancels digits where few a-b pairs are close
    scale = union / (2 * na * nb) + 1e-300
    kn, kd, _, _ = layout_sums([a, b], win, radii)
    for got in (k_function(a, b, win, radii), k_function(b, a, win, radii), kn[0, 1] / kd[0, 1]):
        assert np.max(np.abs(got - want) / scale) <= 1e-9


def _brute_num(pa, pb, win, r):
    H, W = win
    s = 0.0
    for i, x in enumerate(pa):
        for j, y in enumerate(pb):
            if pb is pa and i == j:
                continue
            h = np.abs(x - y)
            if np.hypot(*h) <= r:
                s += 1.0 / ((H - h[0]) * (W - h[1]))
    return s


def test_pooled_k_is_the_ratio_of_summed_numerators_and_denominators():
    rng = np.random.default_rng(3)
    wins = [(50.0, 60.0), (80.0, 40.0), (64.0, 64.0)]
    layouts = [[rng.uniform(0, 1, (n, 2)) * w for n in (12 + 3 * i, 7 + i)] for i, w in enumerate(wins)]
    radii = np.array([3.0, 7.5, 10.0])
    S = accumulate(layouts, wins, radii, np.ones((1, 3), np.int32))
    K = S.K()[0]  # pairs (0,0), (0,1), (1,1)
    for q, (a, b) in enumerate(class_pairs(2)):
        for j, r in enumerate(radii):
            num = sum(_brute_num(L[a], L[a] if a == b else L[b], w, r) for L, w in zip(layouts, wins))
            den = sum(
                (len(L[a]) * (len(L[a]) - 1) if a == b else len(L[a]) * len(L[b])) / (w[0] * w[1]) ** 2
                for L, w in zip(layouts, wins)
            )
            assert K[q, j] == pytest.approx(num / den, rel=1e-12)
    # two bins partition the layouts: their sums add up to the whole
    M = np.array([[1, 0, 1], [0, 1, 0]], np.int32)
    P = accumulate(layouts, wins, radii, M)
    assert np.allclose(P.k_num.sum(0), S.k_num[0]) and np.allclose(P.k_den.sum(0), S.k_den[0])


def test_g_reduced_sample_and_pcf_by_hand():
    win = (10.0, 10.0)
    a = np.array([[5.0, 5.0], [1.0, 5.0], [5.0, 8.5]])
    b = np.array([[5.0, 7.0], [2.0, 5.0]])
    radii = np.array([0.5, 1.0, 1.5, 2.0, 3.0])
    # nearest b: 2, 1, 1.5; boundary distances: 5, 1, 1.5
    # r=0.5: all 3 in sample, none ≤ .5 -> 0; r=1: 3 in sample, the 2nd (d=1 ≤ 1 ≤ e=1) -> 1/3
    # r=1.5: sample {1st, 3rd}: 3rd d=1.5 -> 1/2; r=2: sample {1st}: d=2 -> 1; r=3: {1st} -> 1
    assert np.allclose(g_function(a, b, win, radii), [0.0, 1 / 3, 0.5, 1.0, 1.0])
    _, _, gn, gd = layout_sums([a, b], win, radii)
    assert np.allclose(gn[0, 1] / gd[0, 1], [0.0, 1 / 3, 0.5, 1.0, 1.0])
    K = np.array([2.0, 5.0])
    mid, g = pcf_from_k(np.array([1.0, 2.0]), K)
    assert np.allclose(mid, [0.5, 1.5]) and np.allclose(g, [2.0 / np.pi, 3.0 / (np.pi * 3.0)])


def test_layout_sums_match_the_kd_tree_path():
    rng = np.random.default_rng(5)
    P = [rng.uniform(0, 1, (n, 2)) * (70, 90) for n in (40, 25, 0)]
    radii = np.linspace(1, 17, 9)
    kn, _, _, _ = layout_sums(P, (70, 90), radii, rows=7)  # in several row blocks
    for a in range(3):
        for b in range(3):
            ref = pair_numerator(P[a], None if a == b else P[b], (70, 90), radii)
            assert np.allclose(kn[a, b], ref, rtol=1e-12, atol=0)


def test_erl_and_envelope():
    # each null curve is extreme at one radius at most; the observed one at all three
    null = np.array([[0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0], [0.4, 0.6, 0.45]])
    obs = np.array([5.0, 5.0, 5.0])
    assert list(erl_order(np.vstack([obs, null]))) == [1, 4, 4, 4, 5]
    t = rank_envelope_test(obs, null, alpha=0.25)
    assert t["p"] == pytest.approx(1 / 5) and t["outside"].all()
    assert np.allclose(t["lo"], [0.0, 0.0, 0.0]) and np.allclose(t["hi"], [0.5, 0.6, 0.5])
    # two-sided: a null curve lowest everywhere is as extreme as one highest everywhere (a tie)
    tied = rank_envelope_test(obs, np.vstack([null[:3], [[-1.0, -1.0, -1.0]]]), alpha=0.25)
    assert tied["p"] == pytest.approx(2 / 5)
    inside = rank_envelope_test(np.array([0.3, 0.3, 0.3]), null, alpha=0.25)
    assert inside["p"] == pytest.approx(1.0)  # the least extreme of the five


def test_studentized_envelope_by_hand():
    null = np.array([[0.0, 1.0], [2.0, 1.0], [1.0, 3.0], [1.0, -1.0]])
    # pointwise mean (1, 1), sd (√(2/3), √(8/3)); null measures max |z|: 1.2247, 1.2247, 1.2247, 1.2247
    obs = np.array([1.0, 6.0])  # z = 5/√(8/3) = 3.06 at the second radius
    t = studentized_envelope_test(obs, null, alpha=0.2)
    assert t["p"] == pytest.approx(1 / 5)
    u = np.sqrt(1.5)  # the 4th smallest of the four equal null measures
    assert np.allclose(t["lo"], [1 - u * np.sqrt(2 / 3), 1 - u * np.sqrt(8 / 3)])
    assert np.allclose(t["hi"], [1 + u * np.sqrt(2 / 3), 1 + u * np.sqrt(8 / 3)])
    assert list(t["outside"]) == [False, True]
    assert studentized_envelope_test(np.array([1.0, 1.0]), null)["p"] == pytest.approx(1.0)


def test_coloc_by_hand():
    a = np.array([[0.0, 0.0], [0.0, 3.0], [10.0, 10.0]])
    b = np.array([[0.0, 1.0], [10.0, 12.5]])
    s = scores(coloc_sums([[a, b]], 2.0, np.ones((1, 1))))
    # close pairs within 2: a-b: (0,0)-(0,1) d=1, (0,3)-(0,1) d=2 -> 2; a-a: none (3 apart) -> 0; b-b: 0
    assert s["cin"][0, 0, 1] == pytest.approx(2 / 3)
    assert s["cin"][0, 1, 0] == pytest.approx(2 / 2)
    assert np.isnan(s["mixing"][0, 0, 1])  # no a-a pair: the mixing score is undefined
    assert s["amd"][0, 0, 1] == pytest.approx((1 + 2 + 2.5) / 3)
    assert s["amd"][0, 0, 0] == pytest.approx((3 + 3 + np.hypot(10, 7)) / 3)
    a2 = np.array([[0.0, 0.0], [0.0, 1.5], [10.0, 10.0]])
    s2 = scores(coloc_sums([[a2, b]], 2.0, np.ones((1, 1))))
    # a-b close: (0,0)-(0,1), (0,1.5)-(0,1) -> 2; a-a close: 1 -> MS = 2; NMS = (2/6)/(1/3) = 1
    assert s2["mixing"][0, 0, 1] == pytest.approx(2.0)
    assert s2["nmixing"][0, 0, 1] == pytest.approx(1.0)


def test_sentence_names_the_departure():
    radii = np.arange(1.0, 11.0)
    Kr = np.pi * radii**2
    Ks = Kr.copy()
    Ks[4:] -= np.pi * (radii[4:] ** 2 - 16) * 0.5  # half as many pairs beyond 4 px
    s = pair_sentence("epi", "lym", radii, Kr, Ks, l_function(Kr), l_function(Ks), 0.3, 0.004)
    assert s.startswith("epi–lym: synthetic lym cells are 50 % less frequent at ")
    assert "of epi cells" in s and "± 0.3" in s and "outside the real set's variability" in s


# ------------------------------------------------------------------ plug-ins
SHAPE = (128, 128)


def _tissue(n, seed):
    """Layouts where class b sits next to class a (within ~4 px) and class c is uniform."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        centres = rng.uniform(16, 112, (4, 2))
        a = (centres[rng.integers(0, 4, 40)] + rng.normal(0, 8, (40, 2))).clip(0, 127)
        b = (a[:25] + rng.normal(0, 2.5, (25, 2))).clip(0, 127)
        c = rng.uniform(0, 128, (30, 2))
        out.append(Layout((a, b, c), ("a", "b", "c"), SHAPE, name=f"w{i:03d}"))
    return out


def _run(real, synth, **kw):
    return topofd.compare(real, synth, metrics="spatial", **kw)


def _flags(rep):
    return {r["pair"]: r["flagged"] for r in rep.meta["sections"]["spatial_l"][0]["table"]}


def _section_dict(rep, metric):
    s = rep.meta["sections"][metric][0]
    return s if isinstance(s, dict) else s.to_dict()


def test_class_swap_is_flagged_on_cross_pairs_only():
    real = _tissue(60, 1)
    other = _tissue(60, 2)
    # the b channel of each window taken from another window: b keeps its own structure, loses a
    synth = [
        Layout((l.points[0], other[(i + 1) % 60].points[1], l.points[2]), l.classes, SHAPE, name=f"s{i:03d}")
        for i, l in enumerate(other)
    ]
    rep = _run(real, synth)
    flags = {r["pair"]: r["flagged"] for r in _section_dict(rep, "spatial_l")["table"]}
    assert flags["a–b"]
    assert not flags["a–a"] and not flags["b–b"] and not flags["c–c"]
    same = _run(real, other)  # another draw of the same tissue: nothing flagged
    assert not any(r["flagged"] for r in _section_dict(same, "spatial_l")["table"])
    assert rep.table.at["b", "spatial_l"] > 3 * same.table.at["b", "spatial_l"]
    sp = rep.meta["spatial"]["pairs"]["a–b"]
    assert len(sp["r"]) == len(sp["real"]) == len(sp["synthetic"]) == len(sp["band"][0]) == 32
    assert any("a–b" in s for s in _section_dict(rep, "spatial_l")["sentences"])


def test_same_numbers_for_any_jobs():
    real, synth = _tissue(24, 3), _tissue(24, 4)
    r1, r2 = _run(real, synth, n_jobs=1), _run(real, synth, n_jobs=2)
    for m in ("spatial_l", "spatial_coloc"):
        assert _section_dict(r1, m) == _section_dict(r2, m)
    assert r1.table.at["mean", "spatial_l"] == r2.table.at["mean", "spatial_l"]


def test_empty_class_and_single_layout_give_notes_not_crashes():
    real = _tissue(12, 5)
    synth = [
        Layout((l.points[0], np.zeros((0, 2)), l.points[2]), l.classes, SHAPE, name=l.name) for l in _tissue(12, 6)
    ]
    rep = _run(real, synth)
    assert any("spatial_l: pairs" in n and "a–b" in n for n in rep.meta["notes"])
    assert np.isfinite(rep.table.at["a", "spatial_l"])
    one = _run(real[:1], synth[:1])
    assert "spatial_l" in one.table.columns


# ------------------------------------------------ relabelling units: whole images
def _image_windows(image: int, seed: int, swap_from: list | None = None) -> list[Layout]:
    """Overlapping 128-px windows (stride 64) of one 384-px image whose tissue
    differs from image to image (cluster size of class a, density of c);
    class b sits within ~3 px of a."""
    g = np.random.default_rng([seed, image])
    spread, n_c = g.choice([3.0, 14.0]), int(g.integers(60, 400))
    centres = g.uniform(20, 364, (int(g.integers(6, 14)), 2))
    a = (centres[g.integers(0, len(centres), 500)] + g.normal(0, spread, (500, 2))).clip(0, 383)
    b = (a[:250] + g.normal(0, 3.0, (250, 2))).clip(0, 383)
    c = g.uniform(0, 384, (n_c, 2))
    out = []
    for r in range(0, 257, 64):
        for q in range(0, 257, 64):
            pts = []
            for p in (a, b, c):
                inside = (p[:, 0] >= r) & (p[:, 0] < r + 128) & (p[:, 1] >= q) & (p[:, 1] < q + 128)
                pts.append(p[inside] - (r, q))
            out.append(Layout(tuple(pts), ("a", "b", "c"), SHAPE, name=f"im{seed}-{image}_r{r:05d}_c{q:05d}"))
    return out


def _tissue_of_images(images, seed):
    return [w for i in images for w in _image_windows(i, seed)]


def test_units_are_whole_images_when_known():
    from topofd.metrics.spatial_l import members, units
    from topofd.state import SetView

    def view(images):
        n = len(images)
        return SetView([f"x{i}" for i in range(n)], list(range(n)), np.zeros((n, 3)), [[]] * n, images=images)

    real, synth = view(["A", "A", "B", "B", "B"]), view(["C", "D", "D"])
    u = units(real, synth, None, 0)
    MR, MS = members(u, None, 50, 0)
    assert u.distinct == 3 and "source images" in u.how  # C(4, 2) = 6 deals of 2 + 2 images, in mirrored pairs
    for row_r, row_s in zip(MR[1:], MS[1:]):
        assert row_r[0] == row_r[1] and row_r[2] == row_r[3] == row_r[4] and row_s[1] == row_s[2]
        assert row_r[[0, 2]].sum() + row_s[[0, 1]].sum() == 2  # two whole images went to the "real" part
    # no image known: a unit is a layout, as before; a paired synthetic layout follows its partner's image
    assert units(view([None] * 5), synth, None, 0).real.tolist() == [0, 1, 2, 3, 4]
    paired = units(real, view([None] * 5), [(i, 4 - i) for i in range(5)], 0)
    assert paired.synth.tolist()[::-1] == paired.real.tolist()


def test_real_tissue_of_other_images_is_inside_the_envelope():
    # windows of one image overlap and share its tissue: dealt one by one they flag other images of the same
    # tissue; dealt as whole images they do not, while a swap of class b is still flagged (cross pairs only)
    real, other = _tissue_of_images(range(0, 8), 7), _tissue_of_images(range(8, 16), 7)
    rep = _run(real, other, uncertainty=False)
    assert not any(_flags(rep).values()), _flags(rep)
    assert "source images (8 real, 8 synthetic)" in rep.meta["spatial"]["envelope"]["units"]
    loose = _run(real, other, uncertainty=False, group_by="none")
    assert any(_flags(loose).values())
    n = len(real)
    swap = [
        Layout((l.points[0], real[(i + n // 2) % n].points[1], l.points[2]), l.classes, SHAPE, name=f"{l.name}_gen")
        for i, l in enumerate(real)
    ]
    flags = _flags(_run(real, swap, uncertainty=False))
    assert flags["a–b"] and not flags["a–a"] and not flags["b–b"] and not flags["c–c"]


def test_too_few_images_to_flag_says_so():
    real, other = _tissue_of_images(range(0, 2), 3), _tissue_of_images(range(2, 4), 3)
    rep = _run(real, other, uncertainty=False)
    assert not any(_flags(rep).values())
    assert any("no pair can be flagged" in n and "3 different relabellings" in n for n in rep.meta["notes"])


def test_sentence_for_equal_curves_and_cells_real_tissue_lacks():
    radii = np.arange(1.0, 11.0)
    Kr = np.pi * radii**2
    same = pair_sentence("lym", "lym", radii, Kr, Kr, l_function(Kr), l_function(Kr), 0.0, 1.0)
    assert same.startswith("lym–lym: the synthetic curve is the real one") and "0 %" not in same
    Kr0 = np.where(radii < 5, 0.0, Kr)  # no real pair closer than 5 px
    s = pair_sentence("a", "b", radii, Kr0, Kr, l_function(Kr0), l_function(Kr), None, 0.001)
    assert "synthetic b cells lie at 1–4 px of a cells, where real tissue has none" in s and "than in" not in s

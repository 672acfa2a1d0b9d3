"""Standard errors and intervals: the estimators against brute force, the
properties a reader relies on, and the bad-input rules.  Whether the
intervals *cover* is measured by benchmarks/calibration.py (re-drawn
synthetic sets), not here."""
import numpy as np
import pytest

import topofd
from topofd import Layout
from topofd.metrics.diagram_mmd import mmd2, mmd2_replicates, pair_mask
from topofd.stats.uncertainty import MIN_LAYOUTS, assign_groups, group_splits, interval, jackknife, mean_with_se, subsamples
from conftest import random_layouts

CLASSES = ("a", "b")


def _layouts(n, seed, spread=1.0, prefix="l", suffix=""):
    return random_layouts(n, seed, CLASSES, high=60 * spread, name=prefix + "{i:03d}", suffix=suffix)


def test_groups_are_balanced_seeded_and_cover_everything():
    lab = assign_groups(103, 20, seed=3)
    assert sorted(np.bincount(lab)) == [5] * 17 + [6] * 3
    assert np.array_equal(lab, assign_groups(103, 20, seed=3))
    assert not np.array_equal(lab, assign_groups(103, 20, seed=4))
    assert assign_groups(7, 20, 0).max() == 6  # fewer items than groups: delete-one


def test_jackknife_of_a_mean_is_the_analytic_standard_error():
    x = np.random.default_rng(0).normal(size=40)
    lab = np.arange(40)  # delete-one
    reps = [x[lab != g].mean() for g in range(40)]
    e = jackknife(x.mean(), reps)
    assert e.se == pytest.approx(x.std(ddof=1) / np.sqrt(40), rel=1e-12)
    assert mean_with_se(x).se == pytest.approx(e.se, rel=1e-12)
    assert e.lo < x.mean() < e.hi


@pytest.mark.parametrize("n_groups", [2, 8])
def test_disjoint_subsamples_of_a_mean_estimate_its_variance(n_groups):
    rng = np.random.default_rng(1)
    ests, dfs = [], set()
    for rep in range(300):
        x = rng.normal(size=200)
        splits = [tuple(x[g].mean() for g in groups) for groups in group_splits(200, 2, n_groups, seed=rep)]
        e = subsamples(x.mean(), splits)
        ests.append(e.se**2)
        dfs.add(e.df)
    # Var(mean of n/G) / G = sigma^2 / n
    assert np.mean(ests) == pytest.approx(1 / 200, rel=0.1)
    assert dfs == {2 * (n_groups - 1)}


def test_two_groups_are_the_split_half_estimator():
    pairs = [(3.0, 1.0), (2.0, 2.5), (0.5, 1.5)]
    d = np.array([a - b for a, b in pairs])
    e = subsamples(2.0, pairs)
    assert e.se == pytest.approx(np.sqrt(np.mean(d**2) / 4)) and e.df == 3


def test_group_splits_partition_the_set():
    for groups in group_splits(103, 3, 8, seed=4):
        assert len(groups) == 8 and {len(g) for g in groups} <= {12, 13}
        assert sorted(np.concatenate(groups).tolist()) == list(range(103))
        assert all((np.diff(g) > 0).all() for g in groups)


def test_interval_uses_t_quantiles():
    lo, hi = interval(10.0, 1.0, 3)
    assert hi - 10.0 == pytest.approx(3.182446305284263, rel=1e-9)
    assert 10.0 - lo == pytest.approx(hi - 10.0)


@pytest.mark.parametrize("unbiased", [True, False])
@pytest.mark.parametrize("with_pairs", [False, True])
def test_mmd_jackknife_closed_form_equals_recomputing(unbiased, with_pairs):
    rng = np.random.default_rng(2)
    n, m = 15, 23
    Z = rng.normal(size=(n + m, 3))
    K = np.exp(-((Z[:, None] - Z[None]) ** 2).sum(-1))
    pairs = [(i, i) for i in range(n)] if with_pairs else None
    cross = pair_mask(n, m, pairs)
    lab = assign_groups(m, 6, seed=0)
    fast = mmd2_replicates(K, n, lab, unbiased=unbiased, cross=cross)
    for g in range(6):
        keep = np.concatenate([np.arange(n), n + np.flatnonzero(lab != g)])
        sub_cross = cross[:, lab != g] if cross is not None else None
        assert fast[g] == pytest.approx(mmd2(K[np.ix_(keep, keep)], n, unbiased=unbiased, cross=sub_cross),
                                        rel=1e-10, abs=1e-12)


def test_mmd_of_a_set_with_itself_is_exactly_zero_when_paired():
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(12, 2))
    K1 = np.exp(-((Z[:, None] - Z[None]) ** 2).sum(-1))
    K = np.block([[K1, K1], [K1, K1]])
    assert mmd2(K, 12, cross=pair_mask(12, 12, [(i, i) for i in range(12)])) == 0.0
    assert mmd2(K, 12) < 0  # unpaired: the cross term meets every layout's own copy


def test_compare_reports_se_and_intervals_that_contain_the_value():
    real = _layouts(30, 0)
    synth = _layouts(30, 1, spread=0.8, suffix="_gen")
    for protocol in ("grid", "paper"):
        rep = topofd.compare(real, synth, protocol=protocol, paper_se_splits=2)
        t = rep.table
        for m in ("topofd", "mmd", "cce"):
            for c in (*CLASSES, "mean"):
                v, se, lo, hi = (t.at[c, f"{m}{s}"] for s in ("", "_se", "_lo", "_hi"))
                assert np.isfinite([v, se, lo, hi]).all() and se >= 0 and lo <= v <= hi, (protocol, m, c)
        assert {"topofd", "mmd", "cce", "tce"} <= set(rep.meta["uncertainty"])
        d = rep.to_dict()
        assert {"topofd_se", "topofd_lo", "topofd_hi", "cce_se"} <= set(d["per_class"][0])
        assert {"tce_se", "tce_lo", "tce_hi", "cce"} <= set(d["mean"])


def test_intervals_do_not_depend_on_jobs():
    real, synth = _layouts(24, 0), _layouts(24, 5, spread=0.7, suffix="_gen")
    a = topofd.compare(real, synth, protocol="grid", n_jobs=1, seed=3).table
    b = topofd.compare(real, synth, protocol="grid", n_jobs=2, seed=3).table
    assert a.equals(b)
    c = topofd.compare(real, synth, protocol="grid", n_jobs=1, seed=4).table
    assert np.allclose(a["topofd"], c["topofd"]) and not np.allclose(a["topofd_se"], c["topofd_se"])


def test_too_few_layouts_give_the_value_and_a_note_not_an_interval():
    real, synth = _layouts(MIN_LAYOUTS - 1, 0), _layouts(MIN_LAYOUTS - 1, 1, suffix="_gen")
    rep = topofd.compare(real, synth, protocol="grid")
    t = rep.table
    assert np.isfinite(t.at["mean", "topofd"]) and "topofd_se" not in t
    assert any("no interval" in n for n in rep.meta["notes"])
    assert "fewer than" in rep.meta["uncertainty"]["topofd"]


def test_folder_against_itself_scores_zero(tmp_path):
    real = _layouts(15, 0)
    same = [Layout(l.points, l.classes, l.shape, l.name) for l in real]
    for protocol in ("grid", "paper"):
        t = topofd.compare(real, same, protocol=protocol, paper_se_splits=0).table
        assert (t["topofd"] == 0).all() and (t["mmd"] == 0).all(), protocol


def test_extrapolated_topofd_is_reported_with_its_interval():
    real, synth = _layouts(40, 0), _layouts(40, 1, spread=0.7, suffix="_gen")
    rep = topofd.compare(real, synth, protocol="grid", metrics="topofd", extrapolate=True)
    t = rep.table
    assert np.isfinite(t.at["mean", "topofd_inf"]) and np.isfinite(t.at["mean", "topofd_inf_se"])
    assert any("TopoFD∞" in n for n in rep.meta["notes"])


def test_no_uncertainty_option():
    real, synth = _layouts(15, 0), _layouts(15, 1, suffix="_gen")
    t = topofd.compare(real, synth, protocol="grid", uncertainty=False).table
    assert not [c for c in t.columns if c.endswith("_se")]


def test_twin_plan_estimates_the_conditional_spread():
    """Paired sets: the synthetic layout i is generated from real window i,
    so another draw keeps the windows; the spread wanted excludes the
    differences between windows.  Simulated: condition c_i heterogeneous,
    value e_i = c_i / 10 + N(0, 1) noise; the spread over redraws of the mean
    is 1/sqrt(N), the iid standard error counts the window heterogeneity too."""
    from topofd.stats.uncertainty import plan

    rng = np.random.default_rng(0)
    N = 400
    c = rng.uniform(0, 100, N)
    p = plan(N, seed=1, partner_features=c[:, None])
    assert p.mode == "twins" and len(p.twins) == N // 2
    assert np.median(np.abs(c[p.twins[:, 0]] - c[p.twins[:, 1]])) < 1.0  # twins are alike
    twin_se, iid_se = [], []
    for _ in range(200):
        e = c / 10 + rng.normal(size=N)
        twin_se.append(p.mean(e).se)
        iid_se.append(mean_with_se(e).se)
    truth = 1 / np.sqrt(N)
    assert 0.85 < np.mean(twin_se) / truth < 1.2
    assert np.mean(iid_se) / truth > 2.5
    # jackknife over twin groups: a mean statistic gives the same answer
    lab = p.groups(20)
    assert set(np.bincount(lab)) <= {N // 20}
    e = c / 10 + rng.normal(size=N)
    est = p.jackknife(e.mean(), [e[lab != g].mean() for g in range(20)])
    assert 0.5 < est.se / truth < 1.6 and est.df == 10
    # subsample groups keep twins in twin groups (2h, 2h+1)
    for groups in p.splits(3, 8):
        assert len(groups) == 8 and sorted(np.concatenate(groups).tolist()) == list(range(N))
        lab = np.empty(N, int)
        for j, g in enumerate(groups):
            lab[g] = j
        assert (lab[p.twins[:, 0]] // 2 == lab[p.twins[:, 1]] // 2).all()
        assert (lab[p.twins[:, 0]] != lab[p.twins[:, 1]]).all()
    e = p.subsamples(e.mean(), [tuple(e[g].mean() for g in groups) for groups in p.splits(3, 8)])
    assert 0.5 < e.se / truth < 1.6 and e.df == 12


def test_topokd_kernel_sums_equal_the_kernel_matrix():
    from topofd.metrics.landscape_kd import _gauss_block, kernel_sums

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(30, 5)), rng.normal(size=(25, 5)) + 0.3
    pairs = [(i, i) for i in range(20)]
    lab = assign_groups(25, 5, 0)
    ks = kernel_sums(X, Y, 2.0, pairs=pairs, labels=lab)
    Z = np.vstack([X, Y])
    K = _gauss_block(Z, Z, 2.0)
    assert ks.mmd2() == pytest.approx(mmd2(K, 30, cross=pair_mask(30, 25, pairs)), rel=1e-12)
    assert np.allclose(ks.replicates(lab), mmd2_replicates(K, 30, lab, cross=pair_mask(30, 25, pairs)), rtol=1e-10)


def test_topokd_tiled_sums_equal_one_matrix_whatever_the_threads(monkeypatch):
    """Sets larger than a tile are summed tile by tile (off-diagonal tiles of a
    set with itself once, counted twice): the same sums as one kernel matrix
    to rounding, and the same bits for 1 or 2 threads."""
    from topofd.metrics import landscape_kd as kd

    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(70, 6)), rng.normal(size=(53, 6)) + 0.2
    Y_far = Y.copy()
    Y_far[3] += 60.0  # a row so far out that the factorised Gaussian would underflow: subtractive form
    pairs = [(i, i) for i in range(40)]
    lab = assign_groups(53, 5, 0)
    for Yk in (Y, Y_far):
        with monkeypatch.context() as m:
            whole = kd.kernel_sums(X, Yk, 3.0, pairs=pairs, labels=lab)
            m.setattr(kd, "_BLOCK", 16)
            tiled = [kd.kernel_sums(X, Yk, 3.0, pairs=pairs, labels=lab, n_jobs=j) for j in (1, 2)]
        assert tiled[0].mmd2() == tiled[1].mmd2() and tiled[0].replicates(lab) == tiled[1].replicates(lab)
        assert np.array_equal(tiled[0].row_y, tiled[1].row_y) and np.array_equal(tiled[0].col_y, tiled[1].col_y)
        assert tiled[0].mmd2() == pytest.approx(whole.mmd2(), rel=1e-12)
        assert np.allclose(tiled[0].row_y, whole.row_y, rtol=1e-13, atol=1e-300)
        assert np.allclose(tiled[0].col_y, whole.col_y, rtol=1e-13, atol=1e-300)
        assert np.allclose(tiled[0].within, whole.within, rtol=1e-13)

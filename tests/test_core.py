"""Metric core: parity with the published building blocks (computed live with
gudhi / scipy on small inputs) and mathematical properties."""
import numpy as np
import pytest
from scipy import ndimage

import topofd
from topofd import Layout
from topofd.tda.barycenter import lagrangian_barycenter
from topofd.metrics.counts import count_errors
from topofd.tda.frechet import frechet_distance
from topofd.tda.landscapes import landscapes_on, landscapes_own_range, shared_sampling
from topofd.metrics.diagram_mmd import mmd2
from topofd.tda.persistence import alpha_diagrams, rips_diagrams
from conftest import random_layouts, score_diagrams
from topofd.tda.wasserstein import pairwise_wasserstein, wasserstein_distance

gudhi = pytest.importorskip("gudhi")


def _sorted(d):
    d = np.asarray(d, float).reshape(-1, 2)
    return d[np.lexsort((d[:, 1], d[:, 0]))]


def random_diagram(rng, n, scale=10.0):
    b = rng.uniform(0, scale, n)
    return np.stack([b, b + rng.exponential(scale / 4, n)], axis=1)


# ------------------------------------------------------------------ layout
def test_centres_equal_scipy_center_of_mass():
    rng = np.random.default_rng(0)
    a = (rng.random((80, 70, 3)) < 0.1).astype(np.uint8)
    lay = Layout.from_array(a)
    for k in range(3):
        lab, n = ndimage.label(a[:, :, k])
        ref = np.array(ndimage.center_of_mass(a[:, :, k], lab, range(1, n + 1))).reshape(-1, 2)
        assert np.array_equal(ref, lay.points[k])


def test_layout_channels_first_and_instances():
    a = np.zeros((2, 10, 12), np.int32)
    a[0, 1:3, 1:3] = 1
    a[1, 5, 5] = 7  # instance ids
    a[1, 8, 8] = 9
    lay = Layout.from_array(a, ["a", "b"], channels="first", labels="instance")
    assert lay.counts.tolist() == [1, 2]
    assert np.allclose(lay.points[0], [[1.5, 1.5]])


@pytest.mark.parametrize("bad", [np.full((4, 4, 2), np.nan), np.full((4, 4, 2), 0.5), -np.ones((4, 4, 2))])
def test_layout_rejects_bad_arrays(bad):
    with pytest.raises(ValueError):
        Layout.from_array(bad)


def test_layout_rejects_nan_points():
    with pytest.raises(ValueError, match="NaN"):
        Layout((np.array([[1.0, np.nan]]),), ("a",))


def test_rasterise_roundtrip():
    lay = Layout((np.array([[10.0, 10.0], [0.0, 5.0]]), np.zeros((0, 2))), ("a", "b"), (32, 32))
    back = Layout.from_array(lay.to_array(), ("a", "b"))
    assert back.counts.tolist() == [2, 0]
    assert np.allclose(back.points[0][0], [0.5, 5.0])  # clipped at the border: 2x3 block


# ------------------------------------------------------------- persistence
def _gudhi_rips(P, dim):
    st = gudhi.RipsComplex(points=P).create_simplex_tree(max_dimension=2)
    st.compute_persistence()
    return _sorted(st.persistence_intervals_in_dimension(dim))


@pytest.mark.parametrize("n,seed", [(0, 0), (2, 1), (3, 2), (7, 3), (25, 4), (60, 5)])
def test_rips_h1_equals_gudhi(n, seed):
    rng = np.random.default_rng(seed)
    for P in (rng.uniform(0, 100, (n, 2)), rng.integers(0, 12, (n, 2)).astype(float)):  # lattice: tied distances
        ours = rips_diagrams(P)
        assert np.array_equal(_sorted(ours[1]), _gudhi_rips(P, 1))
        if n > 1:
            assert np.array_equal(_sorted(ours[0]), _gudhi_rips(P, 0))


def test_alpha_equals_gudhi():
    P = np.random.default_rng(1).uniform(0, 50, (40, 2))
    st = gudhi.AlphaComplex(points=P).create_simplex_tree()
    st.compute_persistence()
    assert np.allclose(_sorted(alpha_diagrams(P)[1]), _sorted(st.persistence_intervals_in_dimension(1)))


# ------------------------------------------------------------- wasserstein
@pytest.mark.parametrize("order,internal_p", [(1.0, np.inf), (1.0, 2.0), (2.0, 2.0), (2.0, np.inf)])
def test_wasserstein_equals_gudhi(order, internal_p):
    from gudhi.wasserstein import wasserstein_distance as gw

    rng = np.random.default_rng(7)
    dgms = [random_diagram(rng, n) for n in (0, 1, 3, 8, 15)] + [np.array([[1.0, 2.0], [1.0, 2.0]])]
    for X in dgms:
        for Y in dgms:
            assert wasserstein_distance(X, Y, order=order, internal_p=internal_p) == pytest.approx(
                gw(X, Y, order=order, internal_p=internal_p), rel=1e-12, abs=1e-12
            )


def test_wasserstein_matching_is_optimal_and_complete():
    rng = np.random.default_rng(3)
    X, Y = random_diagram(rng, 9), random_diagram(rng, 6)
    d, match = wasserstein_distance(X, Y, matching=True, order=2.0, internal_p=2.0)
    assert sorted(i for i, _ in match if i >= 0) == list(range(9))
    assert sorted(j for _, j in match if j >= 0) == list(range(6))
    cost = 0.0
    for i, j in match:
        if i >= 0 and j >= 0:
            cost += np.sum((X[i] - Y[j]) ** 2)
        else:
            p = X[i] if i >= 0 else Y[j]
            cost += (p[1] - p[0]) ** 2 / 2
    assert np.sqrt(cost) == pytest.approx(d)


def test_wasserstein_essential_parts():
    X = np.array([[0.0, np.inf], [1.0, 2.0]])
    assert wasserstein_distance(X, np.array([[1.0, 2.0]])) == np.inf
    from gudhi.wasserstein import wasserstein_distance as gw

    Y = np.array([[0.5, np.inf], [-np.inf, 3.0], [4.0, 4.0]])
    X = np.vstack([X, [[-np.inf, 1.0]]])
    assert wasserstein_distance(X, Y) == pytest.approx(gw(X, Y))


def test_wasserstein_metric_properties():
    rng = np.random.default_rng(11)
    dgms = [random_diagram(rng, n) for n in (0, 2, 5, 9, 12)]
    W = pairwise_wasserstein(dgms, order=1.0)
    assert np.allclose(W, W.T) and np.all(np.diag(W) == 0)
    for i in range(5):
        for j in range(5):
            for k in range(5):
                assert W[i, k] <= W[i, j] + W[j, k] + 1e-9
    assert np.array_equal(W, pairwise_wasserstein(dgms, order=1.0, n_jobs=2))


# --------------------------------------------------------------- barycenter
def _bundled_diagrams(k, n, start=0):
    """H1 diagrams of overlapping windows of the bundled BRCA-M2C test data:
    the same loops recur in neighbouring windows, so the estimate meets the
    exact ties that decide gudhi's result."""
    from topofd.layouts.patches import cut_patches, read_sizes
    from topofd.layouts.readers.brca import CLASSES, read_image
    from importlib import resources

    root = resources.files("topofd") / "data" / "brca_m2c"
    sizes = read_sizes(root / "image_sizes.tsv")
    stem = sorted(sizes)[0]
    stem = [s for s in sizes if (root / "labels" / f"{s}_gt_class_coords.txt").is_file()][start // 1000]
    img = read_image(root / "labels" / f"{stem}_gt_class_coords.txt", sizes[stem])
    out = []
    for _, arr in cut_patches(img, CLASSES):
        out.append(rips_diagrams(Layout.from_array(arr).points[k])[1])
        if len(out) == n:
            break
    return out


@pytest.mark.parametrize("k,n", [(0, 40), (1, 30), (2, 40)])
def test_barycenter_equals_gudhi_with_ties(k, n):
    from gudhi.wasserstein.barycenter import lagrangian_barycenter as gl

    dgms = _bundled_diagrams(k, n)
    ours, log = lagrangian_barycenter(dgms, init=0, return_log=True)
    ref, rlog = gl(dgms, init=0, verbose=True)
    assert log["nb_iter"] == rlog["nb_iter"]
    assert np.array_equal(ours, ref)


def test_barycenter_random_and_edge_cases():
    from gudhi.wasserstein.barycenter import lagrangian_barycenter as gl

    rng = np.random.default_rng(5)
    dgms = [random_diagram(rng, n) for n in (4, 0, 7, 3, 0, 5)]
    assert np.array_equal(lagrangian_barycenter(dgms), gl(dgms, init=0))
    assert lagrangian_barycenter([]) is None
    assert lagrangian_barycenter([np.zeros((0, 2))] * 3).shape == (0, 2)
    one = random_diagram(rng, 4)
    assert np.array_equal(lagrangian_barycenter([one]), one)


# --------------------------------------------------------------- landscapes
def test_landscape_paper_sampling_and_values():
    d = np.array([[1.0, 5.0], [2.0, 3.0]])
    L, t = landscapes_own_range([d, np.zeros((0, 2))])
    assert t[0, 0] == 1.0 and t[0, -1] == 5.0
    assert L.shape == (2, 100) and not L[1].any()
    expected = np.maximum(2.0 - np.abs(t[0] - 3.0), np.maximum(0.5 - np.abs(t[0] - 2.5), 0))
    assert np.array_equal(L[0], np.maximum(expected, 0))


def test_landscape_layers_sorted():
    rng = np.random.default_rng(2)
    dgms = [random_diagram(rng, n) for n in (1, 4, 9)]
    s = shared_sampling(dgms, 30)
    L = landscapes_on(dgms, s, n_layers=3).reshape(3, 3, 30)
    assert np.all(np.diff(L, axis=1) <= 0)  # layer k >= layer k+1
    assert not L[0, 1:].any()  # one point: only the first layer


# ------------------------------------------------------------------ frechet
def test_frechet_properties():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(50, 6))
    B = rng.normal(size=(40, 6)) + 0.3
    m1, s1, m2, s2 = A.mean(0), np.cov(A, rowvar=False), B.mean(0), np.cov(B, rowvar=False)
    assert frechet_distance(m1, s1, m1, s1, method="eig") == pytest.approx(0, abs=1e-10)
    assert frechet_distance(m1, s1, m1, s1) == pytest.approx(0, abs=1e-8)
    d = frechet_distance(m1, s1, m2, s2)
    assert d > 0
    assert d == pytest.approx(frechet_distance(m1, s1, m2, s2, method="eig"), rel=1e-9)
    assert d == pytest.approx(frechet_distance(m2, s2, m1, s1), rel=1e-9)
    # singular covariances (rank 2 in 6 dims) stay finite
    S = np.outer([1, 2, 0, 0, 0, 0], [1, 2, 0, 0, 0, 0]) + np.outer([0, 1, 1, 0, 0, 0], [0, 1, 1, 0, 0, 0])
    assert np.isfinite(frechet_distance(m1, S, m2, S))


def test_frechet_rejects_nan():
    with pytest.raises(ValueError):
        frechet_distance([np.nan], [[1.0]], [0.0], [[1.0]])


# ------------------------------------------------------------------- topofd
def test_topofd_identical_sets_is_zero():
    rng = np.random.default_rng(4)
    dgms = [random_diagram(rng, n) for n in rng.integers(1, 12, 30)]
    for protocol in ("paper", "grid"):
        assert score_diagrams(dgms, dgms, "topofd", protocol=protocol, fd_method="eig") == pytest.approx(0, abs=1e-8)
        # pytorch-fid's sqrtm route: zero up to its ~1e-7 x trace error (traces ~130 here)
        assert score_diagrams(dgms, dgms, "topofd", protocol=protocol) == pytest.approx(0, abs=1e-4)


def test_topofd_single_sample_is_an_error():
    d = [np.array([[1.0, 2.0]])]
    with pytest.raises(ValueError, match="at least 2"):
        score_diagrams(d, d * 3, "topofd")


# ---------------------------------------------------------------------- mmd
def test_mmd_identical_and_separated():
    rng = np.random.default_rng(9)
    X = [random_diagram(rng, n) for n in rng.integers(2, 8, 20)]
    Y = [random_diagram(rng, n, scale=40) for n in rng.integers(2, 8, 20)]
    same = score_diagrams(X, X, "mmd", mmd_estimator="biased")
    assert same == pytest.approx(0, abs=1e-12)
    diff = score_diagrams(X, Y, "mmd", permutations=200, seed=1)
    assert diff > 0.05 and score_diagrams.last_report.table.loc["class1", "mmd_p"] < 0.05
    assert score_diagrams.last_report.meta["sigma"]["class1"] > 0


def test_mmd_negative_estimate_is_reported_not_clamped():
    W = np.array([[0, 5, 0.1, 0.1], [5, 0, 0.1, 0.1], [0.1, 0.1, 0, 5], [0.1, 0.1, 5, 0]])
    assert mmd2(np.exp(-W / 1.0**2), 2) < 0
    # the plug-in reports such an estimate as it is, with a note
    X = [np.array([[0.0, 1.0]]), np.array([[0.0, 6.0]])]
    Y = [np.array([[0.0, 1.1]]), np.array([[0.0, 6.1]])]
    v = score_diagrams(X, Y, "mmd", mmd_sigma=1.0)
    notes = score_diagrams.last_report.meta["notes"]
    assert v < 0 and any("negative" in n for n in notes)


# ------------------------------------------------------------------- counts
def test_count_errors():
    cce, tce = count_errors(np.array([[1, 2], [3, 4]]), np.array([[2, 2], [1, 4]]))
    assert cce.tolist() == [1.5, 0.0]
    assert tce == 1.5
    with pytest.raises(ValueError):
        count_errors(np.zeros((2, 2)), np.zeros((2, 3)))


# ------------------------------------------------------------------ compare
def _layouts(seed, n, names=("a", "b"), suffix="", prefix="p"):
    return random_layouts(n, seed, names, cells=(0, 25), high=64, name=prefix + "{i:03d}", suffix=suffix)


def test_compare_report_and_jobs_independence(tmp_path):
    R, S = _layouts(0, 12), _layouts(1, 12, suffix="_gen")
    r1 = topofd.compare(R, S, mmd_samples=8)
    r2 = topofd.compare(R, S, mmd_samples=8, n_jobs=2, cache_dir=tmp_path)
    r3 = topofd.compare(R, S, mmd_samples=8, n_jobs=2, cache_dir=tmp_path)  # from cache
    assert r1.table.equals(r2.table) and r1.table.equals(r3.table)
    assert r3.meta["cache"]["hits"] > 0
    d = r1.to_dict()
    assert set(d) == {"protocol", "classes", "per_class", "mean", "meta"}
    assert [c["class"] for c in d["per_class"]] == ["a", "b"]
    assert {"topofd", "mmd", "cce"} <= set(d["per_class"][0]) and {"topofd", "mmd", "tce"} <= set(d["mean"])
    assert np.isfinite(r1.table.loc["mean", "topofd"])


def test_compare_bad_inputs():
    R = _layouts(0, 5)
    with pytest.raises(ValueError, match="cannot match classes"):
        topofd.compare(R, _layouts(1, 5, names=("a", "b", "c")))
    with pytest.raises(ValueError, match="no layouts"):
        topofd.compare(R, [])
    with pytest.raises(ValueError, match="at least 2"):
        topofd.compare(R[:1], R[:1], metrics=["topofd"], pairing="none")
    with pytest.raises(ValueError, match="count errors need paired layouts"):
        topofd.compare(R, _layouts(1, 5, prefix="q"), metrics=["counts"])


def test_compare_empty_classes_are_defined():
    names = ("a", "b")
    R = [Layout((np.zeros((0, 2)), np.random.default_rng(i).uniform(0, 9, (5, 2))), names, (10, 10), f"r{i}") for i in range(4)]
    S = [Layout((np.zeros((0, 2)), np.random.default_rng(9 + i).uniform(0, 9, (5, 2))), names, (10, 10), f"r{i}_gen") for i in range(4)]
    rep = topofd.compare(R, S)
    # a class with no cells in either set is not scored (and not averaged in as 0), with a note
    assert np.isnan(rep.table.loc["a", "topofd"]) and np.isnan(rep.table.loc["a", "mmd"])
    assert rep.table.loc["mean", "topofd"] == rep.table.loc["b", "topofd"]
    assert any("class a is empty in both sets" in n for n in rep.meta["notes"])
    assert np.isfinite(rep.table.loc["b", "topofd"])


def test_barycenter_threads_do_not_change_tied_results():
    """The tie fallback runs in threads with n_threads > 1: same estimate."""
    dgms = _bundled_diagrams(1, 60)
    a = lagrangian_barycenter(dgms, n_threads=1)
    b = lagrangian_barycenter(dgms, n_threads=2)
    assert np.array_equal(a, b)

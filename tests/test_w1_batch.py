"""The compiled all-pairs W1 (topofd/tda/_w1.pyx) gives MMD's distances:
the same floats as the reference path (scipy's solver pair by pair), and
gudhi's ``wasserstein_distance(order=1, internal_p=inf)`` to ≤1e-12
relative, on random diagrams with ties, duplicates, empty and one-point
diagrams, and on real BRCA-M2C diagrams."""

from __future__ import annotations

import gudhi.wasserstein as gw
import numpy as np
import pytest

from topofd.tda import wasserstein as W

pytest.importorskip("topofd.tda._w1")


def _random_diagrams(n_dgms: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n_dgms):
        n = int(rng.integers(0, 14))
        grid = (None, 2, 4)[k % 3]  # coarse grids: many ties in costs and savings
        b = rng.random(n) * 10
        length = rng.random(n) * 5 + 1e-3
        if grid:
            b = np.round(b * grid) / grid
            length = np.round(length * grid) / grid + 1.0 / grid
        d = np.c_[b, b + length] if n else np.zeros((0, 2))
        if k % 5 == 0 and n > 1:
            d = np.r_[d, d[:2]]  # duplicate points
        out.append(d)
    out += [
        out[3].copy(),
        out[7].copy(),
        np.zeros((0, 2)),
        np.zeros((0, 2)),
        np.array([[1.0, 2.0]]),
        np.array([[1.0, 2.0]]),
        np.array([[0.5, 0.75]]),
    ]
    return out


def _real_diagrams(n_patches: int = 24) -> list[np.ndarray]:
    from topofd.diagrams import compute_diagrams
    from topofd.layouts.brca_m2c import demo_sets

    real, synth = demo_sets(n_patches, seed=0)
    dg, _ = compute_diagrams(list(real) + list(synth))
    return [d[k] for d in dg for k in range(len(d))]


def _max_rel_vs_gudhi(dgms, M, step=1):
    worst = 0.0
    for i in range(0, len(dgms), step):
        for j in range(len(dgms)):
            g = gw.wasserstein_distance(dgms[i], dgms[j], order=1.0, internal_p=np.inf)
            worst = max(worst, abs(g - M[i, j]) / abs(g) if g else abs(M[i, j]))
    return worst


@pytest.mark.parametrize("seed", [0, 1])
def test_random_diagrams_match_reference_and_gudhi(seed):
    D = _random_diagrams(150, seed)
    fast = W.pairwise_wasserstein(D)
    ref = W.pairwise_wasserstein(D, compiled=False)
    assert np.array_equal(fast, ref)  # same solver steps, same summation: the same floats
    assert np.array_equal(fast, fast.T) and not np.diag(fast).any()
    assert _max_rel_vs_gudhi(D, fast, step=3) <= 1e-12


def test_real_brca_diagrams_match_reference_and_gudhi():
    D = _real_diagrams()
    fast = W.pairwise_wasserstein(D)
    assert np.array_equal(fast, W.pairwise_wasserstein(D, compiled=False))
    assert _max_rel_vs_gudhi(D, fast, step=2) <= 1e-12


def test_cross_matrix_and_jobs_do_not_change_numbers():
    D = _random_diagrams(60, 3)
    A, B = D[:25], D[25:]
    cross = W.pairwise_wasserstein(A, B)
    assert np.array_equal(cross, W.pairwise_wasserstein(A, B, compiled=False))
    full = W.pairwise_wasserstein(D)
    assert np.array_equal(full[:25, 25:], cross)
    assert np.array_equal(W.pairwise_wasserstein(D, n_jobs=2), full)
    assert np.array_equal(W.pairwise_wasserstein(A, B, n_jobs=2), cross)


def test_exact_special_cases():
    X = np.array([[0.0, 4.0], [1.0, 2.0], [1.0, 2.0]])
    D = [np.zeros((0, 2)), np.zeros((0, 2)), X, X.copy(), np.array([[3.0, 3.5]])]
    M = W.pairwise_wasserstein(D)
    assert M[0, 1] == 0.0  # empty vs empty
    assert M[0, 2] == 0.5 * (4.0 + 1.0 + 1.0)  # empty vs X: half-persistences (L∞ to the diagonal)
    assert M[2, 3] == 0.0  # identical diagrams
    assert M[0, 4] == 0.25
    for i in range(len(D)):
        for j in range(len(D)):
            assert M[i, j] == pytest.approx(gw.wasserstein_distance(D[i], D[j], order=1.0, internal_p=np.inf), 1e-12)


def test_other_orders_use_the_reference_path():
    D = _random_diagrams(12, 5)
    M2 = W.pairwise_wasserstein(D, order=2.0, internal_p=2.0)
    for i in range(len(D)):
        for j in range(len(D)):
            g = gw.wasserstein_distance(D[i], D[j], order=2.0, internal_p=2.0)
            assert M2[i, j] == pytest.approx(g, rel=1e-9, abs=1e-12)


def test_compiled_path_is_faster_than_reference():
    """Speed as a ratio against the reference in one run (no absolute times)."""
    import time

    D = _random_diagrams(80, 7)
    t = time.perf_counter()
    W.pairwise_wasserstein(D, compiled=False)
    t_ref = time.perf_counter() - t
    t = time.perf_counter()
    W.pairwise_wasserstein(D)
    t_fast = time.perf_counter() - t
    assert t_fast * 5 < t_ref


def test_compiled_assignment_blocks_match_scipy_loop(monkeypatch):
    """The barycenter's small assignment problems: the compiled solver
    (``_w1.assign_blocks``) and scipy's ``linear_sum_assignment`` one block
    at a time give the same matchings, hence bit-identical barycenters, on
    grid-valued diagrams (tied savings) with repeated diagrams."""
    from topofd.tda import barycenter as B
    from topofd.tda import barycenter_matching as BM

    dgms = _random_diagrams(60, 3)
    dgms += [d + 0.25 for d in dgms[:20] if len(d)]
    fast = B.lagrangian_barycenter(dgms, 0, max_iter=60)
    monkeypatch.setattr(BM, "_assign_compiled", None)
    np.testing.assert_array_equal(B.lagrangian_barycenter(dgms, 0, max_iter=60), fast)

"""The compiled replay of POT's network simplex (topofd/tda/_simplex.pyx) must end
at the same vertex as ``ot.emd`` -- the same optimal plan, not just the same
cost -- on the transport problems gudhi builds for the barycenter, ties
included.  The reference is POT itself, called here (no stored fixture)."""
import numpy as np
import pytest

from topofd.tda import barycenter as B
from topofd.tda import pot_replay

simplex = pytest.importorskip("topofd.tda._simplex", reason="compiled solver not built; topofd falls back to POT")


def _pot_pairs(M, a, b):
    pot_replay.import_pot()
    import ot

    P = ot.emd(a, b, M, numItermax=2000000)
    return np.argwhere(P)


def _problem(Y, X):
    a = np.ones(len(Y) + 1)
    a[-1] = len(X)
    b = np.ones(len(X) + 1)
    b[-1] = len(Y)
    return pot_replay.cost_matrix(Y, X), a, b


def _diagram(rng, n, integer):
    pts = rng.integers(0, 12, (n, 2)).astype(float) if integer else rng.random((n, 2)) * 12
    pts.sort(axis=1)
    pts[:, 1] += 0.5
    return pts


@pytest.mark.parametrize("integer", [True, False])
def test_same_plan_as_pot(integer):
    rng = np.random.default_rng(7 + integer)
    for _ in range(150):
        Y = _diagram(rng, int(rng.integers(1, 60)), integer)
        X = _diagram(rng, int(rng.integers(1, 20)), integer)
        if rng.random() < 0.5:  # exact twins, as overlapping windows give
            Y = np.concatenate([Y, Y[rng.integers(0, len(Y), len(Y) // 2)]])
        M, a, b = _problem(Y, X)
        rows, cols, status = simplex.emd_pairs(M, a, b)
        assert status == 1
        ref = _pot_pairs(M, a, b)
        np.testing.assert_array_equal(np.stack([rows, cols], axis=1), ref)


def test_barycenter_like_problem():
    """A barycenter estimate with thousands of near-diagonal twins (the
    case that decides the published numbers) against a real-size diagram."""
    rng = np.random.default_rng(3)
    X = _diagram(rng, 25, integer=False)
    base = X[rng.integers(0, len(X), 300)]
    mid = (base[:, 0] + base[:, 1]) / 2
    tiny = np.stack([mid - (base[:, 1] - base[:, 0]) / 3000, mid + (base[:, 1] - base[:, 0]) / 3000], axis=1)
    Y = np.concatenate([X[:10], np.repeat(tiny, 5, axis=0)])
    M, a, b = _problem(Y, X)
    rows, cols, status = simplex.emd_pairs(M, a, b)
    assert status == 1
    np.testing.assert_array_equal(np.stack([rows, cols], axis=1), _pot_pairs(M, a, b))


def test_fallback_gives_the_same_barycenter(monkeypatch):
    rng = np.random.default_rng(11)
    dgms = [_diagram(rng, int(rng.integers(0, 12)), integer=True) for _ in range(40)]
    dgms += dgms[:15]  # repeated diagrams: ties in every iteration
    fast = B.lagrangian_barycenter(dgms, 0)
    monkeypatch.setattr(pot_replay, "_emd_pairs", None)
    np.testing.assert_array_equal(B.lagrangian_barycenter(dgms, 0), fast)


def test_rejects_what_it_does_not_replay():
    M = np.zeros((2, 2))
    with pytest.raises(ValueError):
        simplex.emd_pairs(M, np.array([1.0, 0.0]), np.array([0.5, 0.5]))
    rows, cols, status = simplex.emd_pairs(M, np.array([1.0, 1.0]), np.array([1.0, 3.0]))
    assert status == 0  # unbalanced: the caller falls back to POT

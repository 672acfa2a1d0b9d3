"""``published_ties=False`` (the paper interval's group barycenters): where the
W2 matching of the estimate to a diagram is unique it is the published one,
and where it is not, the matching kept is still optimal."""
import numpy as np

from topofd.tda.barycenter import lagrangian_barycenter
from topofd.tda.barycenter_matching import DiagramMatcher


def _diagrams(rng, k, integer):
    out = []
    for _ in range(k):
        n = int(rng.integers(0, 12))
        p = rng.integers(0, 12, (n, 2)).astype(float) if integer else rng.random((n, 2)) * 12
        p.sort(axis=1)
        p[:, 1] += 0.5
        out.append(p)
    return out


def _cost(matcher, Y, mx, my):
    """Σ of squared distances of matched pairs + squared distances to the
    diagonal of everything left unmatched (per diagram), gudhi's W2²."""
    P, m = matcher.P, len(matcher.X)
    to_diag = lambda A: ((A[:, 1] - A[:, 0]) / np.sqrt(2)) ** 2  # noqa: E731
    k = np.bincount(my, minlength=len(Y))
    unmatched = np.ones(len(P), bool)
    unmatched[mx] = False
    return ((P[mx] - Y[my]) ** 2).sum() + ((m - k) * to_diag(Y)).sum() + to_diag(P[unmatched]).sum()


def test_without_ties_the_estimate_is_the_published_one():
    rng = np.random.default_rng(5)
    X = _diagrams(rng, 60, integer=False)
    a, la = lagrangian_barycenter(X, 0, return_log=True)
    b, lb = lagrangian_barycenter(X, 0, return_log=True, published_ties=False)
    np.testing.assert_array_equal(a, b)
    assert la["nb_iter"] == lb["nb_iter"]


def test_tied_matchings_stay_optimal():
    rng = np.random.default_rng(6)
    X = _diagrams(rng, 50, integer=True)
    X += X[:20]  # repeated diagrams: ties in every iteration
    Y = lagrangian_barycenter(X, 0, max_iter=3)
    published, fast = DiagramMatcher(X), DiagramMatcher(X, published_ties=False)
    (px, py), (fx, fy) = published(Y), fast(Y)
    assert not (np.array_equal(px, fx) and np.array_equal(py, fy))  # a tie decided something
    assert np.isclose(_cost(fast, Y, fx, fy), _cost(published, Y, px, py), rtol=1e-12, atol=0)
    Z, log = lagrangian_barycenter(X, 0, return_log=True, published_ties=False)
    assert log["stopped"] in ("fixed point", "cycle") and np.isfinite(Z).all()

"""Issue 20, defect 1: Turner et al. 2014 Alg. 1 (gudhi's stopping rule) can
revisit a state forever; the barycenter must stop and say so."""
import time

import numpy as np
import pytest

from shared_data import shared_fixture
from topofd.tda.barycenter import DEFAULT_MAX_ITER, lagrangian_barycenter
from topofd.tda.summaries import LandscapeStats, barycenter_note, landscape_stats


def _fixture():
    z = np.load(shared_fixture("barycenter_no_fixed_point.npz"))
    return [z[k] for k in sorted(z.files)]


def _frechet(Y, dgms):
    """Σ_i W2(Y, D_i)² by gudhi, independent of the iteration's matchings."""
    from gudhi.wasserstein import wasserstein_distance

    return sum(wasserstein_distance(Y, d, order=2, internal_p=2) ** 2 for d in dgms)


def test_fixture_stops_on_the_cycle_deterministically():
    dgms = _fixture()
    t = time.perf_counter()
    Y, log = lagrangian_barycenter(dgms, 0, return_log=True)
    assert time.perf_counter() - t < 60
    assert log["converged"] is False and log["stopped"] == "cycle"
    P, start = log["cycle_length"], log["cycle_start"]
    assert P >= 1 and log["nb_iter"] == start + P < DEFAULT_MAX_ITER
    Y2, log2 = lagrangian_barycenter(dgms, 0, return_log=True)
    assert Y.tobytes() == Y2.tobytes() and log2 == log

    # the states of the cycle, replayed one update at a time from the start
    states = [lagrangian_barycenter(dgms, 0, max_iter=start)] if start else [dgms[0]]
    for _ in range(P):
        states.append(lagrangian_barycenter(dgms, states[-1], max_iter=1))
    assert np.array_equal(states[P], states[0])  # it is a cycle of period P
    assert not any(np.array_equal(states[i], states[j]) for i in range(P) for j in range(i))
    chosen = log["state"] - start
    assert np.array_equal(Y, states[chosen])

    costs = [_frechet(s, dgms) for s in states[:P]]
    assert log["cost"] == pytest.approx(costs[chosen], rel=1e-12)
    assert log["cycle_costs"] == pytest.approx(costs, rel=1e-12)
    assert all(costs[chosen] <= c * (1 + 1e-12) for c in costs)
    # ties go to the first state of the cycle with the lowest cost
    own = log["cycle_costs"]
    assert chosen == own.index(min(own))


def test_landscape_stats_carries_a_note():
    dgms = _fixture()
    s = landscape_stats(dgms, "paper")
    assert s.note is not None and "cycles with period" in s.note and "lowest-cost" in s.note
    assert np.array_equal(s.barycenter, lagrangian_barycenter(dgms, 0))


def test_max_iter_caps():
    dgms = _fixture()
    Y, log = lagrangian_barycenter(dgms, 0, max_iter=3, return_log=True)
    assert log["nb_iter"] == 3 and log["stopped"] == "max_iter" and log["converged"] is False
    assert log["cycle_length"] == 0 and log["cost"] is None
    # the last state: the same as three single updates
    Z = dgms[0]
    for _ in range(3):
        Z = lagrangian_barycenter(dgms, Z, max_iter=1)
    assert np.array_equal(Y, Z)
    assert "within 3 iterations" in barycenter_note(log)
    with pytest.raises(ValueError):
        lagrangian_barycenter(dgms, 0, max_iter=0)


def test_max_iter_caps_without_shared_data():
    rng = np.random.default_rng(3)
    dgms = []
    for _ in range(6):
        b = rng.uniform(0, 10, 8)
        dgms.append(np.stack([b, b + rng.uniform(0.1, 5, 8)], axis=1))
    full, log = lagrangian_barycenter(dgms, 0, return_log=True)
    assert log["stopped"] == "fixed point" and log["converged"] and log["nb_iter"] > 1
    assert log["cycle_length"] == 0 and log["state"] == log["nb_iter"]
    assert log["cost"] == pytest.approx(_frechet(full, dgms), rel=1e-12)
    cut, clog = lagrangian_barycenter(dgms, 0, max_iter=1, return_log=True)
    assert clog["nb_iter"] == 1 and clog["stopped"] == "max_iter"
    # a cap at or above the convergence point changes nothing
    same, slog = lagrangian_barycenter(dgms, 0, max_iter=log["nb_iter"], return_log=True)
    assert np.array_equal(same, full) and slog == log


def test_convergent_stats_have_no_note():
    rng = np.random.default_rng(4)
    dgms = []
    for _ in range(5):
        b = rng.uniform(0, 10, 6)
        dgms.append(np.stack([b, b + rng.uniform(0.1, 5, 6)], axis=1))
    assert landscape_stats(dgms, "paper").note is None
    assert LandscapeStats(np.zeros(1), np.zeros((1, 1)), 2).note is None  # the field is optional


def test_note_survives_the_cache(tmp_path):
    from topofd.storage.cache import Cache

    s = LandscapeStats(np.zeros(3), np.eye(3), 4, np.zeros((0, 2)), np.arange(3.0), "barycenter did not converge")
    c = Cache(tmp_path, bundled=False)
    c.put_stats("k" * 64, s)
    assert c.get_stats("k" * 64).note == s.note
    s.note = None
    c.put_stats("j" * 64, s)
    assert c.get_stats("j" * 64).note is None


def _tiny_bar():
    # a bar one ulp long: its image (x + proj(x)) / 2 lands on the diagonal,
    # is matched by nothing, vanishes and is added again, forever (gudhi's
    # lagrangian_barycenter never returns on these two diagrams)
    b = 4250.0
    return [np.array([[0.0, 10.0]]), np.array([[0.0, 10.0], [b, np.nextafter(b, np.inf)]])]


def test_synthetic_period_one_cycle():
    dgms = _tiny_bar()
    Y, log = lagrangian_barycenter(dgms, 0, return_log=True)
    assert log["stopped"] == "cycle" and not log["converged"]
    assert (log["cycle_length"], log["cycle_start"], log["nb_iter"]) == (1, 1, 2)
    np.testing.assert_array_equal(Y, [[0.0, 10.0], [4250.0, 4250.0]])
    assert lagrangian_barycenter(dgms, Y, max_iter=1).tobytes() == Y.tobytes()
    assert log["cost"] == pytest.approx(_frechet(Y, dgms), rel=1e-12)
    note = landscape_stats(dgms, "paper").note
    assert note is not None and "period 1" in note


def test_synthetic_cap_reports_max_iter():
    dgms = _tiny_bar()
    Y, log = lagrangian_barycenter(dgms, 0, max_iter=1, return_log=True)
    assert (log["stopped"], log["nb_iter"], log["cycle_length"]) == ("max_iter", 1, 0)

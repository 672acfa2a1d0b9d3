"""Reliability and parity, third pass (issue 26): the surfaces added last
with bad and unusual input, share intervals inside [0, 1], C_T as Meehan
et al. publish it, the fidelity tie rule, and the streaming paths."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import mannwhitneyu
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors

import topofd
from topofd import metrics as registry
from topofd.layouts.layout import Layout
from topofd.layouts.sets import read_layouts
from topofd.metrics.embedding import fidelity_features
from topofd.metrics.manifold import STATS, manifold_scores
from topofd.stats.shares import share_estimate, wilson
from topofd.stats.uncertainty import Estimate

CLASSES = ("lym", "epi", "stro")
SHAPE = (64, 64)


def layouts(n, seed, prefix, spread=1.0):
    """``n`` three-class layouts on a 64 x 64 canvas: clustered cells (a
    cluster centre per class, ``spread`` scales how far cells stray)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        pts = []
        for _ in CLASSES:
            c = rng.uniform(12, 52, 2)
            m = int(rng.integers(4, 14))
            pts.append(np.clip(c + rng.normal(0, 6 * spread, (m, 2)), 0, 63).round())
        out.append(Layout(tuple(pts), CLASSES, SHAPE, f"{prefix}{i:03d}"))
    return out


def renamed(ls, prefix):
    return [Layout(l.points, l.classes, l.shape, f"{prefix}{i:03d}") for i, l in enumerate(ls)]


def evaluate(real, synth, train=None, **kw):
    kw.setdefault("pairing", "none")
    ev = topofd.Evaluator(**kw)
    ev.update(real, real=True)
    ev.update(synth, real=False)
    if train is not None:
        ev.update_train(train)
    return ev, ev.compute()


# ------------------------------------------------------------ C_T parity
def authors_ct(P, Q, T, n_cells, seed, tau_count=20):
    """C_T re-derived from Meehan et al. (2020), Sec. 3 and their published
    ``C_T``/``Zu_cells``/``Zu``: k-means cells of the training rows
    (``KMeans(n_clusters, n_init=10, random_state=seed)``, what topofd
    seeds), L = distance to the nearest training row of the same cell, per
    cell the Mann-Whitney U of generated against test distances
    (``scipy.stats.mannwhitneyu``; the statistic counts L_gen > L_test, ties
    ½), Z = (U − (mn/2 − ½)) / √(mn(m+n+1)/12), cells with more than
    ``tau_count`` generated rows (Q_m(π) > τ = 20/m) weighted by their test
    share P_n(π)."""
    km = KMeans(n_clusters=n_cells, n_init=10, random_state=seed).fit(T)
    tc, pc, qc = km.predict(T), km.predict(P), km.predict(Q)
    num = den = 0.0
    for c in range(n_cells):
        p, q, t = P[pc == c], Q[qc == c], T[tc == c]
        if len(q) <= tau_count or not len(p):
            continue
        nn = NearestNeighbors(n_neighbors=1).fit(t)
        lq, lp = nn.kneighbors(q)[0][:, 0], nn.kneighbors(p)[0][:, 0]
        u = mannwhitneyu(lq, lp, alternative="less").statistic
        m, n = len(q), len(p)
        z = (u - (m * n / 2 - 0.5)) / np.sqrt(m * n * (m + n + 1) / 12)
        num += len(p) / len(P) * z
        den += len(p) / len(P)
    return num / den


@pytest.fixture(scope="module")
def memo():
    train = layouts(120, 1, "t")
    real = layouts(80, 2, "h")
    fresh = layouts(80, 3, "g")
    return train, real, fresh


@pytest.mark.parametrize("kind", ["fresh", "copies", "spread"])
def test_ct_equals_the_authors_formula(memo, kind):
    train, real, fresh = memo
    synth = {
        "fresh": fresh,
        "copies": renamed(train[:80], "c"),
        "spread": layouts(80, 4, "w", spread=1.6),
    }[kind]
    ev, r = evaluate(real, synth, train, metrics="ct", seed=7)
    (P, Q, T), _, _ = fidelity_features(ev.real_view(), ev.state(False).view(True), ev._train.view(False))
    n = r.meta["ct"]["n_cells"]
    assert n == 2
    want = authors_ct(P, Q, T, n, seed=7)
    assert abs(r.table.at["mean", "ct"] - want) <= 1e-12
    for cell in r.meta["ct"]["cells"]:
        assert 0 <= cell["share_real_lo"] <= cell["share_real"] <= cell["share_real_hi"] <= 1


# ------------------------------------------------------- P/R/D/C parity
def prdc(real, fake, k):
    """The rule of the ``prdc`` package (Naeem et al. 2020): k-NN radii
    including the point itself at rank 0, strict ``<``, plain distances."""
    rr, ff, rf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    r = np.sort(rr, axis=1)[:, k]
    s = np.sort(ff, axis=1)[:, k]
    return {
        "precision": (rf < r[:, None]).any(axis=0).mean(),
        "recall": (rf < s[None, :]).any(axis=1).mean(),
        "density": (rf < r[:, None]).sum(axis=0).mean() / k,
        "coverage": (rf.min(axis=1) < r).mean(),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prdc_parity_where_no_distance_ties_a_radius(seed):
    rng = np.random.default_rng(seed)
    Fr, Fs = rng.normal(size=(120, 6)), rng.normal(0.3, 1.2, size=(90, 6))
    got = {k: v[0] for k, v in manifold_scores(Fr, Fs, k=5).items()}
    want = prdc(Fr, Fs, 5)
    for stat in STATS:
        assert abs(got[stat] - want[stat]) <= 2e-16, stat


def test_fidelity_scores_do_not_move_with_a_shift_or_a_scale():
    rng = np.random.default_rng(5)
    # tight clusters with duplicates: distances near and at the radii, zero rows as in sparse classes
    Fr = np.vstack([rng.normal(0, 1e-3, (40, 4)), np.zeros((10, 4))])
    Fs = np.vstack([rng.normal(0, 1.2e-3, (40, 4)), np.zeros((6, 4)), Fr[:5]])
    base = {k: v[0] for k, v in manifold_scores(Fr, Fs, k=5).items()}
    for shift, scale in ((1e3, 1.0), (-7.5, 1.0), (0.0, 1e4), (0.0, 1e-4), (3e3, 20.0)):
        got = {k: v[0] for k, v in manifold_scores(Fr * scale + shift, Fs * scale + shift, k=5).items()}
        assert got == base, (shift, scale)


# ------------------------------------------------------- share intervals
def test_wilson_bounds_and_effective_size():
    assert wilson(1.0, 8) == pytest.approx((8 / (8 + 1.959963984540054**2), 1.0))
    for p, se in ((1.0, 0.0625), (0.0, 0.05), (0.97, 0.04), (0.5, 0.3)):
        e = share_estimate(Estimate(p, se, p - 2 * se, p + 2 * se, 7), 40)
        assert 0.0 <= e.lo <= p <= e.hi <= 1.0 and e.se == se
    assert share_estimate(Estimate(0.5), 10) == Estimate(0.5)  # no se: nothing to do


def test_share_scores_have_intervals_inside_zero_one(memo):
    train, real, fresh = memo
    _, r = evaluate(real, renamed(real, "same"), metrics="fidelity,near_copies", train=train)
    for col in ("precision", "recall", "coverage", "near_copies"):
        lo, v, hi = (r.table.at["mean", col + s] for s in ("_lo", "", "_hi"))
        assert 0.0 <= lo <= v <= hi <= 1.0, (col, lo, v, hi)
    assert "Wilson" in r.meta["uncertainty"]["coverage"]


# ------------------------------------------------------ streaming parity
def _table(report):
    return report.table.astype(float)


@pytest.mark.parametrize("name", registry.names())
def test_evaluator_compare_and_topometrics_agree(memo, name):
    train, real, fresh = memo
    real, synth = real[:40], fresh[:40]
    needs_train = getattr(registry.get(name), "needs_train", False)
    kw = dict(metrics=name, protocol="grid", pairing="none", seed=3, classes=CLASSES)
    if name == "counts":
        kw["pairing"] = "prefix"
        synth = [Layout(s.points, s.classes, s.shape, r.name + "_g") for r, s in zip(real, synth)]
    train_set = None
    if not needs_train:
        b = topofd.compare(real, synth, **kw)
    else:  # compare reads the training set from files: the Evaluator gets what it reads
        with tempfile.TemporaryDirectory() as d:
            for l in train:
                np.save(Path(d) / f"{l.name}.npy", l.to_array(channels="last"))
            b = topofd.compare(real, synth, train=d, **kw)
            train_set, _ = read_layouts(d, classes=CLASSES)
    _, a = evaluate(real, synth, train_set, **kw)
    np.testing.assert_allclose(_table(a), _table(b), rtol=0, atol=0, equal_nan=True)
    if needs_train:
        return  # TopoMetrics takes no training set
    tm = pytest.importorskip("topofd.integrations.torchmetrics")
    m = tm.TopoMetrics(**kw)
    m.update(real, real=True)
    m.update(synth, real=False)
    m.compute()
    np.testing.assert_allclose(_table(a), _table(m.report), rtol=0, atol=0, equal_nan=True)

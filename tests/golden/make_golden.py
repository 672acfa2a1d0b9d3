"""Small golden fixtures from gudhi, giotto-tda and the published TopoFD computation.

Run in the reference environment (``benchmarks/reference/setup_env.sh``)::

    .venv-reference/bin/python tests/golden/make_golden.py   # -> tests/golden/small.npz

Everything is seeded, so a rerun with the same library versions writes the
same arrays.  The keys are documented in ``tests/golden/README.md``.  Nothing
here imports ``topofd``: these are the numbers our code is checked against.
"""
from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

import gudhi
from gudhi.wasserstein import wasserstein_distance
from gudhi.wasserstein.barycenter import lagrangian_barycenter

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "benchmarks" / "reference"))
import published_topofd as ref  # noqa: E402

SEED = 20250611
WASSERSTEIN_PARAMS = ((1.0, np.inf), (1.0, 2.0), (2.0, 2.0), (2.0, np.inf))


def _fmt(i):
    return f"{i:02d}"


# ------------------------------------------------------------ (a) persistence
def point_clouds(rng):
    """12 clouds: sizes 0..60, duplicates, lattices with tied distances."""
    clouds = [
        np.zeros((0, 2)),
        rng.uniform(0, 64, (1, 2)),
        rng.uniform(0, 64, (2, 2)),
        rng.uniform(0, 64, (3, 2)),
        rng.uniform(0, 64, (5, 2)),
        rng.uniform(0, 64, (10, 2)),
        rng.uniform(0, 256, (30, 2)),
        rng.uniform(0, 256, (60, 2)),
    ]
    base = rng.integers(0, 32, (6, 2)).astype(float)
    clouds.append(np.concatenate([base, base[:4]]))  # 4 duplicated points
    g = np.arange(0, 40, 8.0)
    clouds.append(np.array([[r, c] for r in g for c in g]))  # 5x5 lattice: all ties
    clouds.append(rng.integers(0, 16, (30, 2)).astype(float))  # small box: ties + duplicates
    # centres of 3x3 squares clipped at a border, as center_of_mass gives them
    cells = rng.integers(0, 64, (25, 2)).astype(float)
    cells[:5, 0] = 0.5
    cells[5:8, 1] = 63.5
    clouds.append(cells)
    return clouds


def rips(points):
    st = gudhi.RipsComplex(points=points).create_simplex_tree(max_dimension=2)
    st.compute_persistence()
    h0 = st.persistence_intervals_in_dimension(0).reshape(-1, 2)
    h1 = st.persistence_intervals_in_dimension(1).reshape(-1, 2)
    return h0, h1


def alpha(points):
    if len(points) == 0:
        # gudhi.AlphaComplex needs at least one point: record empty diagrams
        return np.zeros((0, 2)), np.zeros((0, 2))
    st = gudhi.AlphaComplex(points=points).create_simplex_tree()
    st.compute_persistence()
    return (st.persistence_intervals_in_dimension(0).reshape(-1, 2),
            st.persistence_intervals_in_dimension(1).reshape(-1, 2))


def part_a(rng, out):
    clouds = point_clouds(rng)
    out["pc_count"] = np.array(len(clouds))
    for i, P in enumerate(clouds):
        k = _fmt(i)
        out[f"pc{k}_points"] = P
        out[f"pc{k}_rips_h0"], out[f"pc{k}_rips_h1"] = rips(P)
        out[f"pc{k}_rips_h1_published"] = ref.h1_diagram(P).reshape(-1, 2)
        out[f"pc{k}_alpha_h0"], out[f"pc{k}_alpha_h1"] = alpha(P)


# ------------------------------------------------------------ (b) Wasserstein
def random_diagram(rng, n, scale=20.0):
    b = rng.uniform(0, scale, n)
    return np.column_stack([b, b + rng.exponential(scale / 4, n)])


def diagram_pairs(rng):
    e = np.zeros((0, 2))
    one = np.array([[1.0, 3.0]])
    pairs = [
        (e, e),
        (e, one),
        (one, e),
        (one, one),
        (one, np.array([[1.5, 2.5]])),
        (np.array([[2.0, 2.0]]), e),  # a point on the diagonal
        (np.array([[2.0, 2.0], [1.0, 4.0]]), np.array([[1.0, 4.0]])),
        (np.array([[1.0, 4.0], [1.0, 4.0]]), np.array([[1.0, 4.0]])),  # duplicates
        (np.array([[1.0, 4.0], [1.0, 4.0], [2.0, 3.0]]), np.array([[1.5, 3.5], [2.0, 3.0]])),
        (np.array([[0.0, 1e6]]), np.array([[1.0, 2.0]])),  # large value
    ]
    while len(pairs) < 30:
        i = len(pairs)
        a = random_diagram(rng, int(rng.integers(0, 15)))
        b = random_diagram(rng, int(rng.integers(1, 15)))
        if i % 4 == 0 and len(a):
            a[: max(1, len(a) // 3), 1] = a[: max(1, len(a) // 3), 0]  # diagonal points
        if i % 5 == 0 and len(a) and len(b):
            b = np.concatenate([b, a[:2]])  # shared points
        if i % 7 == 0:
            b = np.round(b)  # integer values: ties in the cost matrix
        pairs.append((a, b))
    return pairs


def part_b(rng, out):
    pairs = diagram_pairs(rng)
    out["wd_count"] = np.array(len(pairs))
    out["wd_params"] = np.array(WASSERSTEIN_PARAMS)
    for i, (a, b) in enumerate(pairs):
        k = _fmt(i)
        out[f"wd{k}_a"], out[f"wd{k}_b"] = a, b
        out[f"wd{k}_dist"] = np.array(
            [wasserstein_distance(a, b, order=o, internal_p=p) for o, p in WASSERSTEIN_PARAMS])
        cost, match = wasserstein_distance(a, b, matching=True, order=2.0, internal_p=2.0)
        out[f"wd{k}_match_cost"] = np.array(cost)
        out[f"wd{k}_match"] = np.asarray(match, dtype=np.int64).reshape(-1, 2)


# ------------------------------------------------------------ (c) barycenter
def h1_of_random_cloud(rng, n, side=64.0):
    return ref.h1_diagram(rng.uniform(0, side, (n, 2)))


def diagram_sets(rng):
    sets = []
    # small hand-made set, first diagram empty (init=0 starts from nothing)
    sets.append([np.array([]), np.array([[1.0, 3.0]]), np.array([[1.0, 3.0], [2.0, 6.0]])])
    # realistic H1 diagrams, some empty (clouds of < 4 points)
    sets.append([h1_of_random_cloud(rng, int(n)) for n in rng.integers(2, 25, 12)])
    # duplicated diagrams
    d = [h1_of_random_cloud(rng, 20) for _ in range(4)]
    sets.append(d + d + [d[0]] + [np.array([])])
    # integer cell centres: ties
    sets.append([ref.h1_diagram(rng.integers(0, 40, (int(n), 2)).astype(float))
                 for n in rng.integers(5, 30, 25)])
    # the largest: 40 diagrams
    sets.append([h1_of_random_cloud(rng, int(n), side=128.0) for n in rng.integers(0, 40, 40)])
    return sets


def part_c(rng, out):
    sets = diagram_sets(rng)
    out["bary_count"] = np.array(len(sets))
    for i, dgms in enumerate(sets):
        k = _fmt(i)
        out[f"bary{k}_n"] = np.array(len(dgms))
        for j, d in enumerate(dgms):
            # stored (n, 2); the published run passes np.array(list), (0,) when empty
            out[f"bary{k}_dgm{j:02d}"] = np.asarray(d, dtype=float).reshape(-1, 2)
        y, log = lagrangian_barycenter(pdiagset=[np.array(d) for d in dgms], init=0, verbose=True)
        out[f"bary{k}_result"] = np.asarray(y, dtype=float).reshape(-1, 2)
        out[f"bary{k}_nb_iter"] = np.array(log["nb_iter"])
        out[f"bary{k}_energy"] = np.array(log["energy"])


# ------------------------------------------------------------ (d) landscapes
def landscape_diagrams(rng):
    ds = [
        np.array([[2.0, 6.0]]),                          # one point
        np.array([[3.0, 3.0]]),                          # one point on the diagonal
        np.array([[3.0, 3.0], [3.0, 3.0], [3.0, 3.0]]),  # all equal: min == max
        np.array([[1.0, 1.0], [5.0, 5.0]]),              # only diagonal points
        np.array([[1.0, 1.0], [2.0, 4.0]]),              # diagonal point widens the range
        np.array([[2.0, 4.0], [2.0, 4.0]]),              # duplicates
        np.array([[0.0, 1e6], [10.0, 20.0]]),            # large values
        np.array([[1e-9, 2e-9], [1.5e-9, 3e-9]]),        # tiny values
        np.array([[0.0, 5.0], [5.0, 10.0]]),             # touching
        np.array([[0.0, 10.0], [2.0, 8.0], [4.0, 6.0]]), # nested
    ]
    while len(ds) < 25:
        d = random_diagram(rng, int(rng.integers(1, 30)))
        if len(ds) % 3 == 0:
            d = np.round(d, 1)
        ds.append(d)
    return ds


def padded(ds):
    """Equal-length stack for giotto's multi-diagram fit: pad every diagram
    with points (m, m) where m is the smallest birth over all diagrams, so
    the padding changes neither the shared range nor any landscape."""
    m = min(float(d[:, 0].min()) for d in ds)
    n = max(len(d) for d in ds)
    X = np.full((len(ds), n, 3), m)
    X[:, :, 2] = 1.0
    for i, d in enumerate(ds):
        X[i, : len(d), :2] = d
    return X


def part_d(rng, out):
    from gtda.diagrams import PersistenceLandscape

    ds = landscape_diagrams(rng)
    out["pl_count"] = np.array(len(ds))
    for i, d in enumerate(ds):
        k = _fmt(i)
        out[f"pl{k}_dgm"] = d
        out[f"pl{k}_default"] = ref.landscape(d)
    multi = [0, 4, 5, 10, 11]
    out["pl_multi_idx"] = np.array(multi)
    for i in multi:
        out[f"pl{_fmt(i)}_l3b50"] = ref.landscape(ds[i], n_layers=3, n_bins=50)
    grid = [ds[i] for i in (0, 5, 8, 9, 10, 11, 12, 13)]
    X = padded(grid)
    out["pl_grid_X"] = X
    pl = PersistenceLandscape(n_layers=2, n_bins=30).fit(X)
    out["pl_grid_sampling"] = np.asarray(pl.samplings_[1], dtype=float)
    out["pl_grid_result"] = pl.transform(X)  # (n_diagrams, 2 layers, 30 bins)


# ------------------------------------------------------------ (e) Frechet
def part_e(rng, out):
    cases = []
    d = 10
    A = rng.normal(size=(d, d))
    B = rng.normal(size=(d, d))
    cases.append((rng.normal(size=d), A @ A.T, rng.normal(size=d), B @ B.T))          # full rank
    X = rng.normal(size=(4, 20))
    Y = rng.normal(size=(6, 20))
    cases.append((X.mean(0), np.cov(X, rowvar=False), Y.mean(0), np.cov(Y, rowvar=False)))  # singular
    e = np.diag(np.r_[np.ones(15), 1e-12 * np.ones(15)])
    C = rng.normal(size=(30, 30))
    cases.append((np.zeros(30), e, np.ones(30), C @ C.T * 1e-6))                    # near-singular
    cases.append((np.zeros(5), np.zeros((5, 5)), np.arange(5.0), np.zeros((5, 5))))  # zero covariances
    # landscapes of a handful of real-like H1 diagrams: the TopoFD regime
    Ls = [ref.landscape(h1_of_random_cloud(rng, 30)) for _ in range(6)]
    Ms = [ref.landscape(h1_of_random_cloud(rng, 30, side=48.0)) for _ in range(9)]
    cases.append((np.mean(Ls, 0), np.cov(np.array(Ls), rowvar=False),
                  np.mean(Ms, 0), np.cov(np.array(Ms), rowvar=False)))
    out["fd_count"] = np.array(len(cases))
    for i, (m1, s1, m2, s2) in enumerate(cases):
        k = _fmt(i)
        out[f"fd{k}_mu1"], out[f"fd{k}_sigma1"] = m1, s1
        out[f"fd{k}_mu2"], out[f"fd{k}_sigma2"] = m2, s2
        fd, info = ref.frechet_distance(m1, s1, m2, s2)
        out[f"fd{k}_value"] = np.array(fd)
        out[f"fd{k}_eps_retry"] = np.array(info["eps_retry"])
        out[f"fd{k}_max_imag_diag"] = np.array(info["max_imag_diag"])


# ------------------------------------------------------------ (f) TopoFD
def random_layouts(rng, n, size=64, classes=3, jitter=None, base=None):
    """``n`` layouts ``(size, size, classes)``, 3x3 squares (clipped) at cell
    centres, BRCA style; with ``base`` the centres are ``base``'s moved by
    rounded N(0, jitter^2)."""
    arrs = np.zeros((n, size, size, classes), dtype=np.uint8)
    centres = []
    for i in range(n):
        per = []
        for c in range(classes):
            if base is None:
                k = int(rng.poisson((4, 10, 6)[c % 3]))
                p = rng.integers(0, size, (k, 2))
            else:
                p = np.clip(base[i][c] + np.rint(rng.normal(0, jitter, base[i][c].shape)),
                            0, size - 1).astype(int)
            for r, q in p:
                arrs[i, max(r - 1, 0): r + 2, max(q - 1, 0): q + 2, c] = 1
            per.append(p)
        centres.append(per)
    return arrs, centres


def part_f(rng, out):
    real, cen = random_layouts(rng, 40)
    synth, _ = random_layouts(rng, 40, jitter=3.0, base=cen)
    out["tfd_real"], out["tfd_synth"] = real, synth
    with tempfile.TemporaryDirectory() as tmp:
        r, s = Path(tmp, "real"), Path(tmp, "synth")
        r.mkdir()
        s.mkdir()
        for i in range(len(real)):
            np.save(r / f"l{i:03d}.npy", real[i])
            np.save(s / f"l{i:03d}_gen.npy", synth[i])
        res = ref.run(r, s, 3)
        pairs = ref.pair_files(r, s)
        rs, _ = ref.summarise(ref.diagrams_of([p[0] for p in pairs]))
        ss, _ = ref.summarise(ref.diagrams_of([p[1] for p in pairs]))
    out["tfd_topofd"] = np.array(res["topofd"])
    out["tfd_mean"] = np.array(res["mean"])
    for c in range(3):
        out[f"tfd_real_bary{c}"] = rs[c]["barycenter"]
        out[f"tfd_synth_bary{c}"] = ss[c]["barycenter"]
        out[f"tfd_real_mu{c}"] = rs[c]["mu"]
        out[f"tfd_synth_mu{c}"] = ss[c]["mu"]
    out["tfd_nb_iter"] = np.array([res["nb_iter"]["real"], res["nb_iter"]["synth"]])


def main():
    out = {}
    rng = np.random.default_rng(SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for part in (part_a, part_b, part_c, part_d, part_e, part_f):
            part(np.random.default_rng(rng.integers(2**63)), out)
            print(part.__name__, "done", flush=True)
    out["versions"] = np.array(str(ref.versions()))
    target = HERE / "small.npz"
    np.savez_compressed(target, **out)
    print(f"{target}: {len(out)} arrays, {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()

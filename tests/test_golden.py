"""Parity with golden values written by the published libraries.

`tests/golden/small.npz` was generated once with gudhi 3.13.0, giotto-tda
0.6.2, POT 0.9.7.post1, scipy 1.17.1 (numpy 1.26.4) by
`tests/golden/make_golden.py` in the reference environment
(`bash benchmarks/reference/setup_env.sh`); `tests/golden/README.md` documents
every key and how to regenerate.  `brca_m2c_paper.json` holds the published
computation on the full BRCA-M2C test protocol
(`benchmarks/reference/brca_golden.py`).
"""
import json
from pathlib import Path

import numpy as np
import pytest

from topofd import Layout
from topofd.tda.barycenter import lagrangian_barycenter
from topofd.tda.frechet import frechet_distance
from topofd.tda.landscapes import landscapes_on, landscapes_own_range
from topofd.tda.persistence import alpha_diagrams, rips_diagrams
from conftest import score_diagrams
from topofd.tda.wasserstein import wasserstein_distance

HERE = Path(__file__).parent / "golden"
G = np.load(HERE / "small.npz")


def _sorted(d):
    d = np.asarray(d, float).reshape(-1, 2)
    return d[np.lexsort((d[:, 1], d[:, 0]))]


def _count(prefix):
    return int(G[f"{prefix}_count"])


@pytest.mark.parametrize("i", range(_count("pc")))
def test_rips_and_alpha(i):
    P = G[f"pc{i:02d}_points"]
    ours = rips_diagrams(P)
    assert np.array_equal(_sorted(ours[1]), _sorted(G[f"pc{i:02d}_rips_h1"]))
    ref_order = G[f"pc{i:02d}_rips_h1_published"].reshape(-1, 2)
    lengths = ref_order[:, 1] - ref_order[:, 0]
    if len(np.unique(lengths)) == len(lengths):  # gudhi's order of equal lengths is its sort's
        assert np.array_equal(ours[1], ref_order)
    if len(P) > 1:
        assert np.array_equal(_sorted(ours[0]), _sorted(G[f"pc{i:02d}_rips_h0"]))
    if len(P) > 0:
        a = alpha_diagrams(P)
        assert np.allclose(_sorted(a[1]), _sorted(G[f"pc{i:02d}_alpha_h1"]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("i", range(_count("wd")))
def test_wasserstein(i):
    a, b = G[f"wd{i:02d}_a"].reshape(-1, 2), G[f"wd{i:02d}_b"].reshape(-1, 2)
    for (order, p), ref in zip(G["wd_params"], G[f"wd{i:02d}_dist"]):
        assert wasserstein_distance(a, b, order=order, internal_p=p) == pytest.approx(ref, rel=1e-12, abs=1e-12)
    d, match = wasserstein_distance(a, b, matching=True, order=2.0, internal_p=2.0)
    assert d == pytest.approx(float(G[f"wd{i:02d}_match_cost"]), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("i", range(_count("bary")))
def test_barycenter(i):
    n = int(G[f"bary{i:02d}_n"])
    dgms = [G[f"bary{i:02d}_dgm{j:02d}"].reshape(-1, 2) for j in range(n)]
    Y, log = lagrangian_barycenter(dgms, init=0, return_log=True)
    assert np.array_equal(Y, G[f"bary{i:02d}_result"].reshape(-1, 2))
    assert log["nb_iter"] == int(G[f"bary{i:02d}_nb_iter"])


@pytest.mark.parametrize("i", range(_count("pl")))
def test_landscape_paper(i):
    d = G[f"pl{i:02d}_dgm"].reshape(-1, 2)
    L, _ = landscapes_own_range([d])
    assert np.array_equal(L[0], G[f"pl{i:02d}_default"])
    if f"pl{i:02d}_l3b50" in G:
        L3, _ = landscapes_own_range([d], n_bins=50, n_layers=3)
        assert np.array_equal(L3[0], G[f"pl{i:02d}_l3b50"])


def test_landscape_grid():
    X = G["pl_grid_X"]
    dgms = [x[:, :2] for x in X]
    L = landscapes_on(dgms, G["pl_grid_sampling"], n_layers=2)
    assert np.allclose(L, G["pl_grid_result"].reshape(len(X), -1), rtol=0, atol=1e-12)


@pytest.mark.parametrize("i", range(_count("fd")))
def test_frechet(i):
    args = [G[f"fd{i:02d}_{k}"] for k in ("mu1", "sigma1", "mu2", "sigma2")]
    ref = float(G[f"fd{i:02d}_value"])
    # sqrtm of a singular product differs across LAPACK builds at ~1e-8
    assert frechet_distance(*args) == pytest.approx(ref, rel=1e-7, abs=1e-9)
    scale = np.trace(args[1]) + np.trace(args[3])
    assert frechet_distance(*args, method="eig") == pytest.approx(ref, abs=1e-6 * max(scale, 1.0))


def test_topofd_end_to_end():
    names = ("lym", "epi", "stro")
    R = [Layout.from_array(a, names) for a in G["tfd_real"]]
    S = [Layout.from_array(a, names) for a in G["tfd_synth"]]
    ref = G["tfd_topofd"]
    for k in range(3):
        dr = [rips_diagrams(l.points[k])[1] for l in R]
        ds = [rips_diagrams(l.points[k])[1] for l in S]
        assert np.array_equal(_sorted(lagrangian_barycenter(dr)), _sorted(G[f"tfd_real_bary{k}"]))
        # FD is a difference of O(trace) terms: relative error is meaningless
        # near 0 (class 0 scores 0.0031), so the tolerance scales with the traces
        assert score_diagrams(dr, ds, "topofd") == pytest.approx(float(ref[k]), rel=1e-6, abs=1e-7)


BRCA = HERE / "brca_m2c_paper.json"


@pytest.mark.skipif(not BRCA.exists(), reason="brca_m2c_paper.json not generated")
def test_brca_first_diagrams_and_landscapes():
    """The first 20 real BRCA-M2C test patches: diagrams and landscapes."""
    from topofd.layouts.patches import cut_patches, read_sizes, read_split
    from topofd.layouts.readers.brca import CLASSES, read_image
    from importlib import resources

    g = json.loads(BRCA.read_text())
    root = resources.files("topofd") / "data" / "brca_m2c"
    sizes = read_sizes(root / "image_sizes.tsv")
    want = set(Path(f).stem for f in g["real"]["first_files"])
    arrays = {}
    for stem in read_split(root / "brca_ds_test.txt"):
        img = read_image(root / "labels" / f"{stem}_gt_class_coords.txt", sizes[stem])
        for name, arr in cut_patches(img, CLASSES):
            if name in want:
                arrays[name] = arr
    for k in range(3):
        dgms = []
        for j, f in enumerate(g["real"]["first_files"]):
            d = rips_diagrams(Layout.from_array(arrays[Path(f).stem]).points[k])[1]
            assert np.array_equal(d, np.array(g["real"]["first_diagrams"][k][j]).reshape(-1, 2))  # persistence() order
            dgms.append(d)
        L, _ = landscapes_own_range(dgms)
        assert np.array_equal(L, np.array(g["real"]["first_landscapes"][k]))

"""The published TopoFD computation, kept as the reference for parity and speed.

TopoFD (TopoCellGen, CVPR 2025, Sec. 3.4, Eqs. 11-12; Suppl. Sec. 11): per
class, the Frechet distance between two Gaussians fitted to persistence
landscapes of H1 diagrams, with the mean replaced by the landscape of the
Wasserstein barycenter of the diagrams.

This script redoes the public evaluation step by step, deliberately *plain*:
the same library calls, the same loops, the same order of diagrams.  It is the
baseline the fast implementation (``topofd``) is timed against, so nothing
here is optimised.  It must run in the reference environment
(``benchmarks/reference/setup_env.sh``: giotto-tda 0.6.2, gudhi 3.13.0,
POT 0.9.7.post1, scipy 1.17.1) and imports nothing from ``topofd``.

Steps, as published:

1. Centres: per channel of an ``(H, W, C)`` layout, ``scipy.ndimage.label``
   (default 4-connected structure), then ``center_of_mass`` called once per
   label (the published loop), giving ``(n, 2)`` (row, col) centres.
2. H1 diagram: ``gudhi.RipsComplex(points=centres)
   .create_simplex_tree(max_dimension=2).persistence()``, keeping the pairs of
   dimension 1 *in the order ``persistence()`` lists them* (sorted by
   decreasing length), as ``np.array`` of that list.  Fewer than 3 points
   give no H1 pair.  ``persistence()`` drops zero-length pairs
   (``min_persistence=0`` keeps only length > 0).
3. Barycenter: ``gudhi.wasserstein.barycenter.lagrangian_barycenter(dgms,
   init=0)``.  ``init=0`` starts from the first diagram, so the diagram order
   matters: real layouts in sorted file-name order, each synthetic layout in
   the position of the real layout it pairs with (the published script lists
   the reference folder and takes, for each reference file, the first
   synthetic file whose name starts with its stem; it used ``os.listdir``
   order, which is arbitrary, so we fix it to sorted order).
4. Landscapes: giotto-tda ``PersistenceLandscape()`` (1 layer, 100 bins)
   ``fit_transform`` on one diagram at a time (homology-dimension column 1),
   so each diagram is sampled on its own [min, max] of births and deaths;
   an empty diagram gives ``zeros(100)``.  mu = landscape of the barycenter,
   Sigma = ``np.cov(landscapes, rowvar=False)``.
5. FD: the pytorch-fid formula with ``scipy.linalg.sqrtm``.  Two departures
   from the published function, both recorded in the output rather than
   changing a value: a large imaginary part on the diagonal of the matrix
   square root (which pytorch-fid turns into a ``ValueError``) is reported,
   not raised; and ``sqrtm(..., disp=False)`` - deprecated since scipy 1.16,
   removed in 1.18 - is called only when the installed scipy still accepts
   it (the square root itself is the same either way; ``disp`` only adds an
   error estimate to the return value).

Usage::

    python published_topofd.py REAL_DIR SYNTH_DIR [--classes 3] [--out JSON]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import gudhi
import numpy as np
import scipy
import scipy.linalg
from gudhi.wasserstein.barycenter import lagrangian_barycenter
from scipy.ndimage import center_of_mass, label

N_BINS = 100  # giotto-tda PersistenceLandscape() default, fixes len(mu)


# --------------------------------------------------------------------- input
def pair_files(real_dir, synth_dir):
    """Real ``.npy`` files in sorted order, each with its synthetic partner.

    The published pairing: a synthetic file belongs to a real file when its
    name starts with the real file's stem; the first such name (here in
    sorted order) is used.
    """
    real_dir, synth_dir = Path(real_dir), Path(synth_dir)
    for d in (real_dir, synth_dir):
        if not d.is_dir():
            raise ValueError(f"{d}: not a folder")
    real = sorted(f for f in os.listdir(real_dir) if f.endswith(".npy"))
    synth = sorted(f for f in os.listdir(synth_dir) if f.endswith(".npy"))
    if not real:
        raise ValueError(f"{real_dir}: no .npy layouts")
    pairs = []
    for r in real:
        stem = r.rsplit(".", 1)[0]
        match = [g for g in synth if g.startswith(stem)]
        if not match:
            raise ValueError(f"{synth_dir}: no synthetic layout for {r}")
        pairs.append((real_dir / r, synth_dir / match[0]))
    return pairs


def layout_centres(path, n_classes=3):
    """Per-channel cell centres of one ``(H, W, C)`` layout, published loop."""
    return centres_of_array(np.load(path), n_classes, name=str(path))


def centres_of_array(arr, n_classes=3, name="layout"):
    """Per-channel centres of an ``(H, W, C)`` array (see ``layout_centres``)."""
    if arr.ndim != 3 or arr.shape[2] != n_classes:
        raise ValueError(f"{name}: expected (H, W, {n_classes}) layout, got {arr.shape}")
    out = []
    for c in range(n_classes):
        ch = arr[..., c]
        lab, n = label(ch)
        if n == 0:
            out.append(np.empty((0, 2)))
            continue
        out.append(np.array([center_of_mass(ch, lab, i) for i in range(1, n + 1)]))
    return out


def h1_diagram(points):
    """H1 pairs of the Rips filtration of ``points``, as the published code
    lists them (``persistence()`` order); ``np.array`` of a list, so an empty
    diagram has shape ``(0,)`` exactly as in the published run."""
    st = gudhi.RipsComplex(points=points).create_simplex_tree(max_dimension=2)
    return np.array([p[1] for p in st.persistence() if p[0] == 1])


def diagrams_of(paths, n_classes=3):
    """``dgms[c][i]``: H1 diagram of class ``c`` in layout ``paths[i]``."""
    dgms = [[] for _ in range(n_classes)]
    for p in paths:
        for c, pts in enumerate(layout_centres(p, n_classes)):
            dgms[c].append(h1_diagram(pts))
    return dgms


# ----------------------------------------------------------------- summaries
def barycenter(dgms):
    """gudhi Lagrangian barycenter (Turner et al. 2014), ``init=0``.

    Returns ``(Y, nb_iter)``.  The published call asks ``verbose=True`` (and
    discards the log); ``verbose`` only adds a final pass of matchings.
    """
    y, log = lagrangian_barycenter(pdiagset=[np.array(d) for d in dgms], init=0, verbose=True)
    return y, int(log["nb_iter"])


def landscape(diagram, n_layers=1, n_bins=N_BINS):
    """giotto-tda persistence landscape of one diagram on its own range,
    flattened; empty diagram -> zeros."""
    from gtda.diagrams import PersistenceLandscape

    diagram = np.asarray(diagram, dtype=float)
    if diagram.shape[0] == 0:
        return np.zeros(n_layers * n_bins)
    x = np.column_stack((diagram.reshape(-1, 2), np.ones((diagram.shape[0], 1))))
    pl = PersistenceLandscape(n_layers=n_layers, n_bins=n_bins)
    return pl.fit_transform([x]).flatten()


def _sqrtm(a):
    """``scipy.linalg.sqrtm(a, disp=False)[0]`` where ``disp`` still exists
    (scipy < 1.18), else ``sqrtm(a)``: the same square root."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            res, _ = scipy.linalg.sqrtm(a, disp=False)
        return res
    except TypeError:
        return scipy.linalg.sqrtm(a)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid Frechet distance ``|mu1-mu2|^2 + tr(S1) + tr(S2)
    - 2 tr((S1 S2)^(1/2))``.  Returns ``(fd, info)``; ``info`` records the
    eps retry and the imaginary part that pytorch-fid would have raised on."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError("mean vectors or covariances have different shapes")
    diff = mu1 - mu2
    info = {"eps_retry": False, "complex": False, "max_imag": 0.0,
            "max_imag_diag": 0.0, "would_raise": False}
    with warnings.catch_warnings():
        # singular products are the normal case here (few landscapes vary)
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = _sqrtm(sigma1.dot(sigma2))
        if not np.isfinite(covmean).all():
            info["eps_retry"] = True
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = _sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        info["complex"] = True
        info["max_imag"] = float(np.max(np.abs(covmean.imag)))
        info["max_imag_diag"] = float(np.max(np.abs(np.diagonal(covmean).imag)))
        info["would_raise"] = not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3)
        covmean = covmean.real
    fd = diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)
    return float(fd), info


def summarise(dgms_per_class):
    """Per class: barycenter, its landscape (mu), landscapes, Sigma.

    Returns ``(summary, seconds)`` where ``seconds`` splits barycenters from
    landscapes (covariance included)."""
    out, t_bary, t_land = [], 0.0, 0.0
    for dgms in dgms_per_class:
        t0 = time.perf_counter()
        bary, nb_iter = barycenter(dgms)
        t1 = time.perf_counter()
        mu = landscape(bary)
        lands = np.array([landscape(d) for d in dgms])
        sigma = np.cov(lands, rowvar=False)
        t2 = time.perf_counter()
        t_bary += t1 - t0
        t_land += t2 - t1
        out.append({"barycenter": np.asarray(bary, dtype=float).reshape(-1, 2),
                    "nb_iter": nb_iter, "mu": mu, "landscapes": lands, "sigma": sigma})
    return out, {"barycenters": t_bary, "landscapes": t_land}


def compare(real_summary, synth_summary):
    """Per-class TopoFD with (mu1, Sigma1) = real, (mu2, Sigma2) = synthetic."""
    vals, infos = [], []
    for r, s in zip(real_summary, synth_summary):
        fd, info = frechet_distance(r["mu"], r["sigma"], s["mu"], s["sigma"])
        vals.append(fd)
        infos.append(info)
    return vals, infos


def versions():
    import gtda
    import ot
    import sklearn

    return {"python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "gudhi": gudhi.__version__,
            "giotto-tda": gtda.__version__, "POT": ot.__version__,
            "scikit-learn": sklearn.__version__, "machine": platform.machine(),
            "cpu_count": os.cpu_count()}


def diagram_list(d):
    return [[float(b), float(e)] for b, e in np.asarray(d, dtype=float).reshape(-1, 2)]


def run(real_dir, synth_dir, n_classes=3):
    """One full published comparison; returns a JSON-ready dict."""
    t0 = time.perf_counter()
    pairs = pair_files(real_dir, synth_dir)
    real_dgms = diagrams_of([p[0] for p in pairs], n_classes)
    synth_dgms = diagrams_of([p[1] for p in pairs], n_classes)
    t_pers = time.perf_counter() - t0
    real_sum, t_real = summarise(real_dgms)
    synth_sum, t_synth = summarise(synth_dgms)
    t1 = time.perf_counter()
    vals, infos = compare(real_sum, synth_sum)
    t_fd = time.perf_counter() - t1
    return {
        "real_dir": str(real_dir), "synth_dir": str(synth_dir), "n_layouts": len(pairs),
        "topofd": [float(v) for v in vals], "mean": float(np.mean(vals)),
        "fd_info": infos,
        "nb_iter": {"real": [s["nb_iter"] for s in real_sum],
                    "synth": [s["nb_iter"] for s in synth_sum]},
        "seconds": {"loading_persistence": t_pers,
                    "barycenters": t_real["barycenters"] + t_synth["barycenters"],
                    "landscapes_fd": t_real["landscapes"] + t_synth["landscapes"] + t_fd},
        "versions": versions(),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("real_dir")
    ap.add_argument("synth_dir")
    ap.add_argument("--classes", type=int, default=3, help="channels per layout (default 3)")
    ap.add_argument("--out", help="write the result as JSON here")
    a = ap.parse_args(argv)
    res = run(a.real_dir, a.synth_dir, a.classes)
    res["seconds"]["total"] = sum(res["seconds"].values())
    for c, v in enumerate(res["topofd"]):
        print(f"TopoFD class {c}: {v!r}")
    print(f"mean TopoFD: {res['mean']!r}")
    print("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in res["seconds"].items()))
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Validity study: does each metric measure what it claims?

Graded perturbations of real BRCA-M2C test patches, scored against real
patches from *other* images, so that strength 0 is a genuine real-vs-real
comparison (the test windows are split by image into halves A and B;
perturbations act on B; TopoFD and MMD compare A with perturbed B):

* ``jitter``   every cell moved by rounded N(0, σ²) px (σ = strength);
* ``replace``  a fraction of cells re-placed uniformly at random;
* ``dissolve`` lymphocyte clusters (single-linkage at ``LINK`` px, ≥ 3 cells)
  spread about their centroid by a factor 1 + strength;
* ``swap``     a fraction of cells get their class labels permuted among
  themselves (per-class counts unchanged);
* ``rings``    in each epithelial cluster, cells ordered by angle about its
  centroid and every k-th removed (strength = 1/k).

Perturbed layouts are rasterised and read back like files (3x3 squares, so
nearby cells can merge).  Metrics: TopoFD under both protocols (TopoCellGen
Eqs. 11–12), MMD (:mod:`topofd.mmd`), with percentile bootstrap 95 % intervals
from ``compare(bootstrap=...)``; TCE (paired B vs perturbed B).  Reported:
Spearman ρ with strength, which levels fall above the real-vs-real interval,
one figure per perturbation, the dependence on the number of patches, and a
decomposition of the ``paper`` protocol's TopoFD (``--explain``).

Usage::

    python benchmarks/validity.py [--n-per-half 100] [--bootstrap 10] [--sizes 100,400,1550] [--explain 200]
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from scipy.stats import spearmanr

from topofd import compare
from topofd.api import compute_diagrams
from topofd.baselines import perturb, rng_for
from topofd.demo import bundled_root, read_back, real_patches
from topofd.frechet import frechet_distance, trace_sqrt_product
from topofd.landscapes import landscapes_own_range
from topofd.layout import Layout
from topofd.topo_fd import landscape_stats

ROOT = Path(__file__).resolve().parents[1]
LINK = 20.0  # px: single-linkage radius of a cluster (median nearest-neighbour distance is ~17 px)
LEVELS = {
    "jitter": (1, 2, 4, 8),
    "replace": (0.1, 0.25, 0.5, 1.0),
    "dissolve": (0.5, 1, 2, 4),
    "swap": (0.1, 0.25, 0.5, 1.0),
    "rings": (0.125, 0.25, 0.5),
}
LYM, EPI = 0, 1


# ------------------------------------------------------------- perturbations
def _clusters(p: np.ndarray, r: float = LINK) -> np.ndarray:
    if len(p) == 0:
        return np.zeros(0, int)
    pairs = cKDTree(p).query_pairs(r, output_type="ndarray")
    from scipy.sparse import coo_matrix

    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(p), len(p)))
    return connected_components(g, directed=False)[1]


def _clip(p, shape):
    return np.clip(p, 0, (shape[0] - 1, shape[1] - 1))


def perturbed(layout: Layout, kind: str, s: float, seed: int = 0) -> Layout:
    """``layout`` under perturbation ``kind`` of strength ``s`` (0: unchanged)."""
    if s == 0:
        return layout
    rng = rng_for(f"{kind}:{s}:{layout.name}", seed)
    H, W = layout.shape
    pts = [np.array(p) for p in layout.points]
    if kind == "jitter":
        pts = [_clip(np.rint(p) + np.rint(rng.normal(0, s, p.shape)), layout.shape) for p in pts]
    elif kind == "replace":
        for p in pts:
            m = rng.random(len(p)) < s
            p[m] = rng.integers(0, (H, W), size=(m.sum(), 2))
    elif kind == "dissolve":
        p = pts[LYM]
        lab = _clusters(p)
        for c in np.unique(lab):
            m = lab == c
            if m.sum() >= 3:
                ctr = p[m].mean(axis=0)
                p[m] = _clip(ctr + (1 + s) * (p[m] - ctr), layout.shape)
    elif kind == "swap":
        allp = np.concatenate(pts)
        lab = np.repeat(np.arange(len(pts)), [len(p) for p in pts])
        idx = np.flatnonzero(rng.random(len(lab)) < s)
        lab[idx] = lab[rng.permutation(idx)]
        pts = [allp[lab == k] for k in range(len(pts))]
    elif kind == "rings":
        k = max(2, int(round(1 / s)))
        p = pts[EPI]
        lab = _clusters(p)
        keep = np.ones(len(p), bool)
        for c in np.unique(lab):
            ids = np.flatnonzero(lab == c)
            if len(ids) >= 3:
                d = p[ids] - p[ids].mean(axis=0)
                order = ids[np.argsort(np.arctan2(d[:, 0], d[:, 1]))]
                keep[order[k - 1 :: k]] = False
        pts[EPI] = p[keep]
    else:
        raise ValueError(f"unknown perturbation {kind!r}")
    return Layout(tuple(pts), layout.classes, layout.shape, layout.name)


def perturbed_set(layouts, kind, s, seed=0):
    return layouts if s == 0 else read_back([perturbed(l, kind, s, seed) for l in layouts])


# --------------------------------------------------------------------- data
def halves(n_per_half: int | None):
    """Test windows split by image (alternate images) into A and B."""
    with bundled_root() as root:
        allp = real_patches(root)
    stems = sorted({l.name.rsplit("_r", 1)[0] for l in allp})
    side = {s: i % 2 for i, s in enumerate(stems)}
    A = [l for l in allp if side[l.name.rsplit("_r", 1)[0]] == 0]
    B = [l for l in allp if side[l.name.rsplit("_r", 1)[0]] == 1]
    return _evenly(A, n_per_half), _evenly(B, n_per_half), allp


def _evenly(items, n):
    if n is None or n >= len(items):
        return items
    keep = np.unique(np.linspace(0, len(items) - 1, n).round().astype(int))
    return [items[i] for i in keep]


def _gen(layouts):
    return [Layout(l.points, l.classes, l.shape, f"{l.name}_gen") for l in layouts]


# ------------------------------------------------------------------ scoring
def score_level(A, B, kind, s, *, bootstrap, mmd_samples, jobs, cache, seed):
    """Rows ``{metric, class, value, lo, hi}`` for one perturbation level."""
    PB = perturbed_set(B, kind, s, seed)
    rows = []
    for protocol, metrics in (("paper", ("topofd", "mmd")), ("grid", ("topofd",))):
        rep = compare(A, PB, metrics=metrics, protocol=protocol, pairing="none", bootstrap=bootstrap,
                      mmd_samples=mmd_samples, n_jobs=jobs, cache_dir=cache, seed=seed)
        t = rep.table
        for m in metrics:
            name = f"TopoFD {protocol}" if m == "topofd" else "MMD"
            for c in t.index:
                rows.append(dict(metric=name, cls=c, value=float(t.at[c, m]),
                                 lo=float(t.at[c, f"{m}_lo"]) if f"{m}_lo" in t else None,
                                 hi=float(t.at[c, f"{m}_hi"]) if f"{m}_hi" in t else None))
    rep = compare(B, _gen(PB), metrics=("counts",))
    rows.append(dict(metric="TCE", cls="mean", value=float(rep.table.at["mean", "tce"]), lo=None, hi=None))
    return rows


def summarise(results: dict) -> list[dict]:
    """Spearman ρ and separation per (perturbation, metric), on class means."""
    base = {r["metric"]: r for r in results["real-vs-real"] if r["cls"] == "mean"}
    out = []
    for kind, levels in results["perturbations"].items():
        for metric in base:
            xs, ys, sep = [0.0], [base[metric]["value"]], []
            for s, rows in levels:
                r = next(r for r in rows if r["metric"] == metric and r["cls"] == "mean")
                xs.append(s)
                ys.append(r["value"])
                ref = base[metric]
                # separated: its interval lies above real-vs-real's (TCE: any error > 0)
                if metric == "TCE":
                    sep.append(r["value"] > 0)
                else:
                    sep.append((r["lo"] if r["lo"] is not None else r["value"]) > (ref["hi"] if ref["hi"] is not None
                                                                                      else ref["value"]))
            rho = spearmanr(xs, ys).statistic if np.ptp(ys) > 0 else float("nan")
            out.append(dict(perturbation=kind, metric=metric, rho=float(rho), levels=xs[1:], separated=sep,
                            values=ys))
    return out


def size_study(allp, sizes, shared_train, *, jobs, cache, seed):
    """TopoFD (both protocols) of real-vs-real and random vs n patches per set."""
    rows = []
    for n in sizes:
        real = _evenly(allp, n)
        sets = {"random": read_back(_gen([perturb(l, "random", seed=seed) for l in real]))}
        if shared_train is not None:
            sets["train-split"] = _evenly(shared_train, len(real))
        for name, synth in sets.items():
            for protocol in ("paper", "grid"):
                t = time.perf_counter()
                rep = compare(real, synth, metrics=("topofd",), protocol=protocol, pairing="none", n_jobs=jobs,
                              cache_dir=cache, seed=seed)
                rows.append(dict(n=len(real), synth=name, protocol=protocol,
                                 **{c: float(rep.table.at[c, "topofd"]) for c in rep.table.index},
                                 seconds=time.perf_counter() - t))
                click.echo(f"size {len(real):5d} {name:12s} {protocol:5s} TopoFD {rows[-1]['mean']:9.2f}", err=True)
    return rows


def explain(real, synth_sets: dict, classes) -> list[dict]:
    """Decompose the ``paper`` protocol's TopoFD per class.

    FD = |μr − μs|² + [tr Σr + tr Σs − 2 tr (Σr Σs)^½].  Under the paper
    protocol μ is the landscape of the barycenter diagram, sampled on the
    barycenter's own range, while Σ is the covariance of landscapes each
    sampled on its own range — around their mean, which is not μ.  Reported:
    both terms, ``mu_gap`` = |λ(barycenter) − mean λ|² within each set, the
    FD with μ := mean landscape (own ranges), the diagrams' median range
    (max death) and median H1 point count.
    """
    DR, _ = compute_diagrams(real)
    out = []
    for name, synth in synth_sets.items():
        DS, _ = compute_diagrams(synth)
        for k, c in enumerate(classes):
            dr, ds = [d[k] for d in DR], [d[k] for d in DS]
            sr, ss = landscape_stats(dr, "paper"), landscape_stats(ds, "paper")
            Lr, _ = landscapes_own_range(dr)
            Ls, _ = landscapes_own_range(ds)
            mean_term = float(np.sum((sr.mu - ss.mu) ** 2))
            cov_term = float(np.trace(sr.sigma) + np.trace(ss.sigma) - 2 * trace_sqrt_product(sr.sigma, ss.sigma))
            out.append(dict(
                synth=name, cls=c, topofd=mean_term + cov_term, mean_term=mean_term, cov_term=cov_term,
                mu_gap_real=float(np.sum((sr.mu - Lr.mean(0)) ** 2)),
                mu_gap_synth=float(np.sum((ss.mu - Ls.mean(0)) ** 2)),
                fd_mean_landscape=float(frechet_distance(Lr.mean(0), sr.sigma, Ls.mean(0), ss.sigma)),
                max_mu_real=float(sr.mu.max()), max_mu_synth=float(ss.mu.max()),
                max_meanL_real=float(Lr.mean(0).max()), max_meanL_synth=float(Ls.mean(0).max()),
                median_range_real=float(np.median([d.max() if len(d) else 0 for d in dr])),
                median_range_synth=float(np.median([d.max() if len(d) else 0 for d in ds])),
                median_points_real=float(np.median([len(d) for d in dr])),
                median_points_synth=float(np.median([len(d) for d in ds])),
                barycenter_points_real=int(len(sr.barycenter)), barycenter_points_synth=int(len(ss.barycenter)),
            ))
    return out


# ------------------------------------------------------------------ figures
def figure(kind, levels, base, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["TopoFD paper", "TopoFD grid", "MMD", "TCE"]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
    for ax, m in zip(axes, metrics):
        b = next(r for r in base if r["metric"] == m and r["cls"] == "mean")
        xs = [0.0] + [s for s, _ in levels]
        rs = [b] + [next(r for r in rows if r["metric"] == m and r["cls"] == "mean") for _, rows in levels]
        ys = np.array([r["value"] for r in rs])
        lo = np.array([r["lo"] if r["lo"] is not None else r["value"] for r in rs])
        hi = np.array([r["hi"] if r["hi"] is not None else r["value"] for r in rs])
        # percentile intervals of a biased statistic need not contain the point estimate: draw them as a band
        ax.plot(xs, ys, marker="o", label="value (class mean)")
        ax.fill_between(xs, lo, hi, alpha=0.3, label="bootstrap 95 %")
        if b["hi"] is not None:
            ax.axhspan(b["lo"], b["hi"], color="0.85", label="real vs real 95 %")
        ax.set_title(m)
        ax.set_xlabel(f"{kind} strength")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def markdown(summary, sizes_rows, expl, setting) -> str:
    lines = [f"Setting: {setting}", "", "| perturbation | metric | Spearman ρ | levels | above real-vs-real CI |",
             "|---|---|---:|---|---|"]
    for r in summary:
        lv = ", ".join(f"{x:g}" for x in r["levels"])
        sep = " ".join("✓" if s else "✗" for s in r["separated"])
        lines.append(f"| {r['perturbation']} | {r['metric']} | {r['rho']:.2f} | {lv} | {sep} |")
    if sizes_rows:
        lines += ["", "| n per set | synthetic | protocol | TopoFD lym | epi | stro | mean |", "|---:|---|---|---:|---:|---:|---:|"]
        for r in sizes_rows:
            lines.append(f"| {r['n']} | {r['synth']} | {r['protocol']} | {r['lym']:.1f} | {r['epi']:.1f} | "
                         f"{r['stro']:.1f} | {r['mean']:.1f} |")
    if expl:
        lines += ["", "| vs real | class | TopoFD (paper) | mean term | cov term | FD, μ = mean landscape | "
                  "max λ(bary) real / synth | max mean λ real / synth | bary pts real / synth | median H1 pts real / synth |",
                  "|---|---|---:|---:|---:|---:|---|---|---|---|"]
        for r in expl:
            lines.append(
                f"| {r['synth']} | {r['cls']} | {r['topofd']:.1f} | {r['mean_term']:.1f} | {r['cov_term']:.1f} | "
                f"{r['fd_mean_landscape']:.1f} | {r['max_mu_real']:.2f} / {r['max_mu_synth']:.2f} | "
                f"{r['max_meanL_real']:.2f} / {r['max_meanL_synth']:.2f} | {r['barycenter_points_real']} / "
                f"{r['barycenter_points_synth']} | {r['median_points_real']:.0f} / {r['median_points_synth']:.0f} |")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--n-per-half", type=int, default=None, help="Patches per half (A, B); default: all (~775).")
@click.option("--bootstrap", type=int, default=50, show_default=True)
@click.option("--mmd-samples", type=int, default=300, show_default=True)
@click.option("--perturbations", default=",".join(LEVELS), show_default=True)
@click.option("--max-levels", type=int, default=None, help="Keep only the first k levels of each perturbation.")
@click.option("--sizes", default="100,400,1550", show_default=True, help="Patch counts for the size study ('' = skip).")
@click.option("--explain", "n_explain", type=int, default=1550, show_default=True,
              help="Patches for the paper-protocol decomposition (0 = skip).")
@click.option("--jobs", type=int, default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--shared", type=click.Path(file_okay=False, path_type=Path),
              default=ROOT.parent / "shared" / "datasets" / "brca-m2c", show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=ROOT / "benchmarks" / "results" / "validity", show_default=True)
def main(n_per_half, bootstrap, mmd_samples, perturbations, max_levels, sizes, n_explain, jobs, seed, shared, out):
    """Run the validity study; write results.json, summary.md and one figure per perturbation."""
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    A, B, allp = halves(n_per_half)
    cache = Path(tempfile.mkdtemp(prefix="topofd_validity_"))
    kw = dict(bootstrap=bootstrap, mmd_samples=mmd_samples, jobs=jobs, cache=cache, seed=seed)
    try:
        results = {"real-vs-real": score_level(A, B, "jitter", 0, **kw), "perturbations": {}}
        click.echo(f"real-vs-real done ({time.perf_counter() - t0:.0f} s)", err=True)
        for kind in [p.strip() for p in perturbations.split(",") if p.strip()]:
            levels = LEVELS[kind][:max_levels] if max_levels else LEVELS[kind]
            results["perturbations"][kind] = []
            for s in levels:
                rows = score_level(A, B, kind, s, **kw)
                results["perturbations"][kind].append((s, rows))
                m = {r["metric"]: r["value"] for r in rows if r["cls"] == "mean"}
                click.echo(f"{kind:8s} {s:6g} " + "  ".join(f"{k} {v:.4g}" for k, v in m.items())
                           + f"  ({time.perf_counter() - t0:.0f} s)", err=True)
            (out / "results_partial.json").write_text(json.dumps(results, indent=1))
            try:
                figure(kind, results["perturbations"][kind], results["real-vs-real"], out / f"validity_{kind}.png")
            except Exception as e:  # a figure must not cost the run
                click.echo(f"figure {kind}: {e}", err=True)
        summary = summarise(results)
        train = None
        if (shared / "brca_ds_train.txt").is_file():
            sys.path.insert(0, str(Path(__file__).parent))
            from brca_m2c import train_patches

            train = train_patches(shared, None)
        size_list = [int(x) for x in sizes.split(",") if x.strip()]
        sizes_rows = size_study(allp, size_list, train, jobs=jobs, cache=cache, seed=seed) if size_list else []
        expl = []
        if n_explain:
            real = _evenly(allp, n_explain)
            synth = {"random": read_back(_gen([perturb(l, "random", seed=seed) for l in real]))}
            if train is not None:
                synth["train-split"] = _evenly(train, len(real))
            expl = explain(real, synth, real[0].classes)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    setting = (f"`python benchmarks/validity.py {' '.join(sys.argv[1:])}`: halves of {len(A)} / {len(B)} patches "
               f"(split by image), bootstrap {bootstrap}, MMD on ≤ {mmd_samples} per set, "
               f"{time.perf_counter() - t0:.0f} s")
    (out / "results.json").write_text(json.dumps(dict(setting=setting, results=results, summary=summary,
                                                      sizes=sizes_rows, explain=expl), indent=1))
    md = markdown(summary, sizes_rows, expl, setting)
    (out / "summary.md").write_text(md)
    click.echo(md)


if __name__ == "__main__":
    main()

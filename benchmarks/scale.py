"""Scale: TopoFD and MMD on many simulated 256x256 patches.

Patches are simulated point processes, one per class (deterministic per
patch index and seed): ``lym`` a Thomas cluster process (Poisson parents,
Gaussian offspring, σ = 6 px), ``epi`` a Thomas process with larger, denser
clusters (σ = 14 px), ``stro`` homogeneous Poisson.  The "real" and
"synthetic" sets differ slightly in their parameters.

Each configuration runs in a fresh subprocess so that its peak resident
memory (``resource.getrusage``, the process and its joblib workers) is its
own.  Stages timed: simulation, ``compare(protocol="grid", metrics=("topofd",
"mmd"), mmd_samples=M)`` (persistence is linear in the number of patches;
the ``grid`` protocol's mean landscape is linear; MMD on a fixed-size
subsample is constant), and the ``paper`` protocol's barycenter
(superlinear), measured only up to ``--paper-max``.  ``--mmd-error`` measures
the subsampled MMD's error against the full MMD on a small set.

Usage::

    python -m benchmarks.scale [--sizes 1000,10000] [--jobs 1,2] [--paper-max 2000] [--mmd-error 600]
    python -m benchmarks.scale --sizes 100000        # the target: < 10 min, < 4 GB on 2 cores
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import click
import numpy as np

from benchmarks.common import CLASSES, RESULTS

SIZE = 256


def _thomas(rng, parents: float, children: float, sigma: float) -> np.ndarray:
    n_par = rng.poisson(parents)
    par = rng.uniform(0, SIZE, (n_par, 2))
    k = rng.poisson(children, n_par)
    pts = np.repeat(par, k, axis=0) + rng.normal(0, sigma, (k.sum(), 2))
    return pts[((pts >= 0) & (pts < SIZE)).all(axis=1)]


def simulate(i: int, seed: int = 0, variant: int = 0):
    """One simulated patch (a :class:`topofd.Layout`); ``variant`` 1 shifts the parameters a little."""
    from topofd import Layout

    rng = np.random.default_rng([seed, variant, i])
    d = 0.15 * variant
    pts = (
        _thomas(rng, 2.0, 5.0 * (1 + d), 6.0),
        _thomas(rng, 2.0, 14.0, 14.0 * (1 + d)),
        rng.uniform(0, SIZE, (rng.poisson(30 * (1 - d)), 2)),
    )
    return Layout(pts, CLASSES, (SIZE, SIZE), f"sim{variant}_{i:07d}")


def simulate_set(n: int, seed: int, variant: int):
    return [simulate(i, seed, variant) for i in range(n)]


def peak_mb() -> float:
    # ru_maxrss is KiB on Linux; the children term covers joblib's worker processes
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


# ------------------------------------------------------------ one run (child)
def run_one(n: int, jobs: int, mmd_samples: int, paper_max: int, seed: int, metrics=("topofd", "mmd")) -> dict:
    from topofd import compare
    from topofd.diagrams import compute_diagrams
    from topofd.tda.barycenter import lagrangian_barycenter

    out = {"n": n, "jobs": jobs, "mmd_samples": mmd_samples}
    t = time.perf_counter()
    real, synth = simulate_set(n, seed, 0), simulate_set(n, seed, 1)
    out["simulate_s"] = time.perf_counter() - t
    out["cells_per_patch"] = float(np.mean([l.counts.sum() for l in real]))
    if metrics == ("topokd",):
        return topokd_run(out, real, synth, jobs, seed)
    t = time.perf_counter()
    rep = compare(real, synth, metrics=metrics, protocol="grid", pairing="none", n_jobs=jobs,
                  mmd_samples=mmd_samples, seed=seed)
    out["compare_grid_s"] = time.perf_counter() - t
    out["topofd_grid"] = float(rep.table.at["mean", "topofd"])
    out["mmd"] = float(rep.table.at["mean", "mmd"])
    if n <= paper_max:
        # the paper protocol's extra cost: one Lagrangian barycenter per class and set
        D, _ = compute_diagrams(real, n_jobs=jobs)
        t = time.perf_counter()
        for k in range(len(CLASSES)):
            lagrangian_barycenter([d[k] for d in D], init=0)
        out["barycenter_real_s"] = time.perf_counter() - t
    out["peak_mb"] = peak_mb()
    return out


def topokd_run(out: dict, real, synth, jobs: int, seed: int) -> dict:
    """``compare(metrics=("topokd",))`` with its interval (20-group
    jackknife): total time, and the TopoKD plug-in's own time (features and
    every kernel sum) apart from reading the layouts and their diagrams."""
    from topofd import compare
    from topofd import metrics as registry

    plugin = registry.get("topokd")
    spent = []

    def timed(real_v, synth_v, ctx, _score=plugin.score):
        t0 = time.perf_counter()
        res = _score(real_v, synth_v, ctx)
        spent.append(time.perf_counter() - t0)
        return res

    plugin.score = timed
    try:
        t = time.perf_counter()
        rep = compare(real, synth, metrics=("topokd",), pairing="none", n_jobs=jobs, seed=seed)
        out["compare_topokd_s"] = time.perf_counter() - t
    finally:
        del plugin.score
    out["topokd_plugin_s"] = spent[0]
    out["topokd"] = float(rep.table.at["mean", "topokd"])
    out["topokd_se"] = float(rep.table.at["mean", "topokd_se"])
    out["peak_mb"] = peak_mb()
    return out


def mmd_error(n: int, samples: list[int], seed: int, reps: int = 3) -> list[dict]:
    """|subsampled MMD² − full MMD²| on ``n`` patches per set, over ``reps``
    subsample seeds.  The median-heuristic bandwidth is re-estimated on each
    subsample, as a user of ``--mmd-samples`` gets it, so the error includes it."""
    from topofd import compare

    real, synth = simulate_set(n, seed, 0), simulate_set(n, seed, 1)
    t = time.perf_counter()
    full = compare(real, synth, metrics=("mmd",), pairing="none", seed=seed).table["mmd"]
    rows = [dict(n=n, samples=n, mmd=float(full["mean"]), abs_err=0.0, rel_err=0.0, seconds=time.perf_counter() - t)]
    for m in samples:
        errs, secs, vals = [], [], []
        for r in range(reps):
            t = time.perf_counter()
            sub = compare(real, synth, metrics=("mmd",), pairing="none", seed=seed + 1 + r, mmd_samples=m).table["mmd"]
            secs.append(time.perf_counter() - t)
            vals.append(float(sub["mean"]))
            errs.append(abs(float(sub["mean"]) - float(full["mean"])))
        rows.append(dict(n=n, samples=m, mmd=float(np.mean(vals)), abs_err=float(np.mean(errs)),
                         rel_err=float(np.mean(errs) / abs(full["mean"])) if full["mean"] else float("nan"),
                         seconds=float(np.mean(secs))))
    return rows


# -------------------------------------------------------------------- driver
@click.command()
@click.option("--sizes", default="1000,10000", show_default=True, help="Patches per set.")
@click.option("--jobs", "jobs_list", default="1,2", show_default=True,
              help="Job counts (each size runs with the first; the largest size with all).")
@click.option("--mmd-samples", type=int, default=300, show_default=True)
@click.option("--paper-max", type=int, default=2000, show_default=True,
              help="Largest size that times the paper barycenter.")
@click.option("--mmd-error", "mmd_err_n", type=int, default=300, show_default=True,
              help="Set size of the MMD error study (0 = skip).")
@click.option("--mmd-error-samples", "mmd_err_samples", default="50,100,150", show_default=True)
@click.option("--metrics", default="topofd,mmd", show_default=True,
              help="topofd,mmd (grid TopoFD + subsampled MMD) or topokd (exact TopoKD with its interval).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=RESULTS / "scale.json", show_default=True)
@click.option("--child", type=str, default=None, hidden=True)
def main(sizes, jobs_list, mmd_samples, paper_max, mmd_err_n, mmd_err_samples, metrics, seed, out, child):
    """Time and memory of TopoFD/MMD versus the number of patches."""
    if child:
        kind, *args = child.split(":")
        if kind == "run":
            n, jobs = int(args[0]), int(args[1])
            res = run_one(n, jobs, mmd_samples, paper_max, seed, tuple(metrics.split(",")))
        else:
            res = mmd_error(int(args[0]), [int(x) for x in args[1].split(",")], seed)
        print(json.dumps(res))
        return
    sizes_l = [int(x) for x in sizes.split(",") if x]
    jobs_l = [int(x) for x in jobs_list.split(",") if x]
    plan = [(n, jobs_l[0]) for n in sizes_l] + [(sizes_l[-1], j) for j in jobs_l[1:]]
    runs = []
    for n, j in plan:
        res = _child(f"run:{n}:{j}", mmd_samples, paper_max, seed, metrics)
        runs.append(res)
        click.echo(json.dumps(res), err=True)
    err = _child(f"err:{mmd_err_n}:{mmd_err_samples}", mmd_samples, paper_max, seed, metrics) if mmd_err_n else []
    fit = extrapolate(runs, jobs_l[0]) if metrics != "topokd" else {}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(command=" ".join(["python -m benchmarks.scale", *sys.argv[1:]]), runs=runs,
                                   mmd_error=err, extrapolation=fit), indent=1))
    click.echo(report(runs, err, fit))


def _child(spec, mmd_samples, paper_max, seed, metrics):
    cmd = [sys.executable, __file__, "--child", spec, "--mmd-samples", str(mmd_samples), "--paper-max",
           str(paper_max), "--seed", str(seed), "--metrics", metrics]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"{spec}: failed\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def extrapolate(runs, jobs):
    """Linear fit of grid-protocol time (and a power law for the barycenter) to 100K patches."""
    r = [x for x in runs if x["jobs"] == jobs]
    if len(r) < 2:
        return {}
    n = np.array([x["n"] for x in r], float)
    t = np.array([x["compare_grid_s"] + x["simulate_s"] for x in r])
    a, b = np.polyfit(n, t, 1)
    res = {"seconds_per_patch_pair": a, "intercept_s": b, "predicted_100k_s": a * 1e5 + b}
    pk = np.array([x["peak_mb"] for x in r])
    ma, mb = np.polyfit(n, pk, 1)
    res["mb_per_patch_pair"] = ma
    res["predicted_100k_peak_mb"] = ma * 1e5 + mb
    bar = [(x["n"], x["barycenter_real_s"]) for x in r if "barycenter_real_s" in x]
    if len(bar) >= 2:
        (n0, t0), (n1, t1) = bar[0], bar[-1]
        k = np.log(t1 / t0) / np.log(n1 / n0)
        res["barycenter_exponent"] = k
        res["barycenter_predicted_100k_s"] = t1 * (1e5 / n1) ** k
    return res


def report(runs, err, fit) -> str:
    lines = ["| patches per set | jobs | simulate s | compare (grid, TopoFD + MMD) s "
             "| paper barycenter (real set) s | peak MB |",
             "|---:|---:|---:|---:|---:|---:|"]
    if runs and "compare_topokd_s" in runs[0]:
        lines = ["| patches per set | jobs | simulate s | compare (TopoKD + interval) s | of which TopoKD s "
                 "| TopoKD (mean) | se | peak MB |",
                 "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {r['n']} | {r['jobs']} | {r['simulate_s']:.1f} | {r['compare_topokd_s']:.1f} "
                  f"| {r['topokd_plugin_s']:.1f} "
                  f"| {r['topokd']:.4f} | {r['topokd_se']:.4f} | {r['peak_mb']:.0f} |" for r in runs]
        return "\n".join(lines) + "\n"
    for r in runs:
        bar = f"{r['barycenter_real_s']:.1f}" if "barycenter_real_s" in r else "—"
        lines.append(f"| {r['n']} | {r['jobs']} | {r['simulate_s']:.1f} | {r['compare_grid_s']:.1f} | {bar} "
                     f"| {r['peak_mb']:.0f} |")
    if err:
        lines += ["", "| set size | MMD samples per set | mean MMD² | mean abs. error vs full | relative | seconds |",
                  "|---:|---:|---:|---:|---:|---:|"]
        for e in err:
            lines.append(f"| {e['n']} | {e['samples']} | {e['mmd']:.5f} | {e['abs_err']:.5f} | {e['rel_err']:.1%} "
                         f"| {e['seconds']:.1f} |")
    if fit:
        lines += ["", "Extrapolation (linear in patches): " + ", ".join(f"{k} = {v:.4g}" for k, v in fit.items())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

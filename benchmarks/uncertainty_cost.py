"""What the standard errors add to a ``compare`` run, measured in one run.

The demo's sets (real BRCA-M2C test patches vs their matched-count random
layouts, built in memory) are scored twice per protocol, with
``uncertainty=True`` and ``uncertainty=False``; each run starts from layouts
(persistence diagrams included), so the ratio is the one a user sees.  The
``grid`` run covers TopoFD, TopoKD, MMD and the count errors; the ``paper``
run TopoFD alone (its subsample barycenters are the expensive part).

    python -m benchmarks.uncertainty_cost --n-patches 1550 --jobs 2
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

import topofd
from benchmarks.common import RESULTS
from topofd.layouts.brca_m2c import demo_sets

RUNS = {"grid": ("topofd", "topokd", "mmd", "counts"), "paper": ("topofd",)}


@click.command()
@click.option("--n-patches", type=int, default=1550, show_default=True)
@click.option("--jobs", type=int, default=2, show_default=True)
@click.option("--protocols", default="grid,paper", show_default=True)
@click.option("--repeats", type=int, default=2, show_default=True,
              help="Timed runs per setting, interleaved (off, on, on, off, ...); the minimum is kept, so that "
                   "load from other jobs on the machine hits both settings alike.")
@click.option("--mmd-samples", type=int, default=None, help="As compare's --mmd-samples (default: all layouts).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=RESULTS / "uncertainty_cost.json", show_default=True)
def main(n_patches, jobs, protocols, repeats, mmd_samples, out):
    real, synth = demo_sets(n_patches, seed=0)
    # warm-up (imports, worker start-up, first-call costs) outside the timings
    topofd.compare(real[:20], synth[:20], protocol="paper", n_jobs=jobs, progress=False)
    res = {"command": "python -m benchmarks.uncertainty_cost " + " ".join(sys.argv[1:]), "n_patches": len(real),
           "jobs": jobs, "mmd_samples": mmd_samples, "repeats": repeats, "runs": {}}
    for protocol in [p.strip() for p in protocols.split(",") if p.strip()]:
        times = {"without_se": float("inf"), "with_se": float("inf")}
        order = [(False, True), (True, False)]
        for r in range(repeats):
            for unc in order[r % 2]:
                t0 = time.perf_counter()
                topofd.compare(real, synth, metrics=RUNS[protocol], protocol=protocol, n_jobs=jobs, seed=0,
                               uncertainty=unc, mmd_samples=mmd_samples, progress=False)
                key = "with_se" if unc else "without_se"
                times[key] = min(times[key], time.perf_counter() - t0)
                click.echo(f"{protocol} uncertainty={unc}: {time.perf_counter() - t0:.1f} s", err=True)
        times["added"] = times["with_se"] / times["without_se"] - 1
        res["runs"][protocol] = {"metrics": list(RUNS[protocol]), **times}
        click.echo(f"{protocol}: standard errors add {100 * times['added']:.0f} %", err=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    click.echo(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

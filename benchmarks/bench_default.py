"""The default ``topofd compare real/ synth/`` (every default metric,
intervals on) against the reference computation, in one run, stage by stage.

    python -m benchmarks.bench_default --n 580 --out benchmarks/results/bench_default_580.json
    python -m benchmarks.bench_default --n 200 --repeat 2 --out benchmarks/results/bench_default_200x2.json
    python -m benchmarks.bench_default --bundled --dask --out benchmarks/results/bench_default_1550_bundled.json

N bundled BRCA-M2C windows and their matched-count random layouts are written
as ``.npy`` files (the published ``(H, W, 3)`` uint8 format) to two folders;
then, alternately, the same ``topofd.compare`` runs

* ``reference``: today's code before issue 19, kept callable — the reader
  labels every mask image with ``ndimage.label`` after ~15 reductions
  (``centres_from_mask(as_mask(...))``), diagrams come from
  ``rips_diagrams(...)[1]``, and MMD's all-pairs W1 is solved pair by pair
  with scipy (``pairwise_wasserstein(compiled=False)``);
* ``fast``: the default paths (one-pass reader, ``rips_h1``, the compiled
  all-pairs W1), with ``--jobs 1`` and ``--jobs 2``.

Bundled statistics and caches are off (everything is computed); a warm-up
compare on 8 windows runs first (imports and first-call costs), but the
``--jobs 2`` run starts its worker processes inside its own time, as a user's
run does.  Stage times
come from wrapping the reader, the diagram stage and each metric's ``score``.
The reports must agree (floats to 1e-12 relative, everything else exactly).
With ``--repeat R`` the three runs alternate R times and the fastest time of
each stage (and of the total) is kept: on a loaded machine the minimum is
the least disturbed measure.  Also measured: the floors — ``np.load`` alone per file, ripser alone on the
same clouds, W1 pairs per second.  Times are wall-clock on whatever machine
runs it: say how loaded it was (the load average is recorded).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import click
import numpy as np

import topofd
from benchmarks.identity import diff
from topofd import metrics as registry
from topofd.layouts import layout as layout_mod
from topofd.layouts import masks
from topofd.layouts.brca_m2c import demo_sets
from topofd.tda import persistence, wasserstein

STAGES = ("read", "diagrams", "topofd", "topokd", "mmd", "counts")


@contextlib.contextmanager
def reference_paths():
    """Today's code before issue 19: image reader, rips_diagrams, scipy W1."""
    import topofd.diagrams as diagrams_mod

    saved = (layout_mod.mask_centres, diagrams_mod.h1_diagrams, wasserstein._w1_rows)
    layout_mod.mask_centres = lambda a, where="": masks.centres_from_mask(masks.as_mask(a, where))
    diagrams_mod.h1_diagrams = lambda pts, complex="rips": [persistence.diagrams(p, complex, 1)[1] for p in pts]
    wasserstein._w1_rows = None
    try:
        yield
    finally:
        layout_mod.mask_centres, diagrams_mod.h1_diagrams, wasserstein._w1_rows = saved


@contextlib.contextmanager
def stage_timer(times: dict):
    """Wrap the reader, the diagram stage and every metric's score."""
    import topofd.api as api
    import topofd.evaluator as evaluator

    def timed(name, fn):
        def run(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                times[name] = times.get(name, 0.0) + time.perf_counter() - t

        return run

    saved = [(api, "read_layouts", api.read_layouts), (evaluator, "diagrams_of", evaluator.diagrams_of)]
    api.read_layouts = timed("read", api.read_layouts)
    evaluator.diagrams_of = timed("diagrams", evaluator.diagrams_of)
    for name in registry.names():
        m = registry.get(name)
        saved.append((m, "score", m.score))
        m.score = timed(name, m.score)
    try:
        yield
    finally:
        for obj, attr, fn in reversed(saved):
            if obj.__class__.__name__ != "module" and attr == "score":
                del obj.score  # back to the class's method
            else:
                setattr(obj, attr, fn)


def write_sets(n: int, root: Path) -> tuple[Path, Path]:
    real, synth = demo_sets(n, seed=0)
    for sub, lays in (("real", real), ("synth", synth)):
        (root / sub).mkdir(parents=True, exist_ok=True)
        for k, l in enumerate(lays):
            np.save(root / sub / f"w{k:05d}.npy", l.to_array())
    return root / "real", root / "synth"


def run_compare(real: Path, synth: Path, jobs: int) -> tuple[dict, float, object]:
    times: dict = {}
    with stage_timer(times):
        t = time.perf_counter()
        rep = topofd.compare(str(real), str(synth), n_jobs=jobs, use_bundled=False, seed=0)
        total = time.perf_counter() - t
    times = {s: times.get(s, 0.0) for s in STAGES}
    times["other"] = total - sum(times.values())
    return times, total, rep


def keep_fastest(runs: dict, name: str, run) -> None:
    """Keep, per stage and in total, the fastest of the repeats (the report
    of every repeat must match: the first one is kept to compare)."""
    if name not in runs:
        runs[name] = run
        return
    times, total, rep = runs[name]
    for s, v in run[0].items():
        times[s] = min(times.get(s, v), v)
    runs[name] = (times, min(total, run[1]), rep)


def table_of(rep) -> dict:
    return {row: {col: repr(float(v)) for col, v in rep.table.loc[row].items()} for row in rep.table.index}


def floors(real: Path, synth: Path) -> dict:
    """np.load alone per file; ripser alone per layout; W1 pairs per second."""
    files = sorted(real.glob("*.npy")) + sorted(synth.glob("*.npy"))
    t = time.perf_counter()
    arrays = [np.load(f) for f in files]
    t_load = (time.perf_counter() - t) / len(files)
    nbytes = sum(f.stat().st_size for f in files) / len(files)
    from scipy.spatial.distance import pdist

    lays = [topofd.Layout.from_array(a) for a in arrays]
    clouds = [pdist(p).astype(np.float32) for l in lays for p in l.points if len(p) > 2]
    t = time.perf_counter()
    for d in clouds:
        persistence._ripser_dense(d, 1, np.inf, 11, 0)
    t_ripser = (time.perf_counter() - t) / len(lays)
    return {
        "file_bytes": nbytes,
        "np_load_ms_per_file": 1e3 * t_load,
        "ripser_only_ms_per_layout": 1e3 * t_ripser,
        "cells_per_layout": float(np.mean([l.counts.sum() for l in lays])),
    }


def w1_rates(real: Path, synth: Path, n_rows: int = 40) -> dict:
    """Pairs per second of the compiled all-pairs W1 and of the reference
    pair-by-pair solver, per class, on the pooled diagrams MMD sees."""
    from topofd.diagrams import compute_diagrams

    files = sorted(real.glob("*.npy")) + sorted(synth.glob("*.npy"))
    dg, _ = compute_diagrams([topofd.Layout.from_array(np.load(f)) for f in files])
    out = {}
    for k in range(len(dg[0])):
        D = [d[k] for d in dg]
        t = time.perf_counter()
        M = wasserstein.pairwise_wasserstein(D)
        fast = len(D) * (len(D) - 1) / 2 / (time.perf_counter() - t)
        t = time.perf_counter()
        R = wasserstein.pairwise_wasserstein(D[:n_rows], D, compiled=False)
        ref = n_rows * len(D) / (time.perf_counter() - t)
        same = bool(np.array_equal(np.triu(R, 1), np.triu(M[:n_rows], 1)))
        out[f"class{k + 1}"] = {
            "mean_points": float(np.mean([len(x) for x in D])),
            "compiled_pairs_per_s": fast,
            "reference_pairs_per_s": ref,
            "ratio": fast / ref,
            "identical_upper_rows": same,
        }
    return out


def bundled_run(out: str | None, dask: bool = False) -> int:
    """``topofd compare brca-m2c:test synth/`` on the 1,550 matched-count
    random windows (the bundled real statistics), after issue 19 only: the
    reference MMD alone would take ~10 min; stage times, jobs 1 and 2 (and,
    with ``--dask``, 2 jobs on a 2-worker ``distributed.LocalCluster``)."""
    res: dict = {"what": bundled_run.__doc__.split("\n\n")[0], "date": time.strftime("%Y-%m-%d")}
    runs = {"jobs1": (1, contextlib.nullcontext), "jobs2": (2, contextlib.nullcontext)}
    if dask:
        runs["dask2"] = (2, _dask_backend)
    tables = {}
    with tempfile.TemporaryDirectory() as tmp:
        _, synth = demo_sets(None, seed=0)
        for k, l in enumerate(synth):
            np.save(Path(tmp) / f"w{k:05d}.npy", l.to_array())
        topofd.compare("brca-m2c:test", tmp, n_jobs=1, seed=0, metrics=("topokd",))  # imports, first-call costs
        for name, (jobs, backend) in runs.items():
            times: dict = {}
            load0 = os.getloadavg()
            with backend(), stage_timer(times):
                t = time.perf_counter()
                rep = topofd.compare("brca-m2c:test", tmp, n_jobs=jobs, seed=0)
                total = time.perf_counter() - t
            tables[name] = table_of(rep)
            res[name] = {"total_s": total, "stages_s": times, "load": [load0, os.getloadavg()]}
    res["jobs2_over_jobs1"] = res["jobs1"]["total_s"] / res["jobs2"]["total_s"]
    res["tables_identical"] = all(t == tables["jobs1"] for t in tables.values())
    text = json.dumps(res, indent=1)
    print(text)
    if out:
        Path(out).write_text(text + "\n")
    return 0


@contextlib.contextmanager
def _dask_backend():
    """joblib's dask backend on a local 2-worker cluster (one thread each)."""
    import joblib
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, Client(cluster):
        with joblib.parallel_backend("dask"):
            yield


def run(a) -> int:
    """The benchmark, given the options of :func:`main`."""
    if a.bundled:
        return bundled_run(a.out, a.dask)
    with tempfile.TemporaryDirectory() as tmp:
        real, synth = write_sets(a.n, Path(tmp))
        # warm-up on 8 windows (imports, first-call costs), both code paths
        wr, ws = write_sets(8, Path(tmp) / "warm")
        with reference_paths():
            run_compare(wr, ws, 1)
        run_compare(wr, ws, 1)
        load0 = os.getloadavg()
        runs: dict = {}
        for _ in range(a.repeat):  # interleaved; the fastest of the repeats per stage and in total
            with reference_paths():
                keep_fastest(runs, "reference", run_compare(real, synth, 1))
            keep_fastest(runs, "fast_jobs1", run_compare(real, synth, 1))
            if not a.no_jobs2:
                keep_fastest(runs, "fast_jobs2", run_compare(real, synth, 2))
        fl = floors(real, synth)
        rates = w1_rates(real, synth)
        load1 = os.getloadavg()
    ref_table = table_of(runs["reference"][2])
    result = {
        "n_windows_per_set": a.n,
        "repeats": a.repeat,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_before_after": [load0, load1],
        "date": time.strftime("%Y-%m-%d"),
        "topofd": topofd.__version__,
        "runs": {},
        "floors": fl,
        "w1": rates,
    }
    for name, (times, total, rep) in runs.items():
        stages = dict(times)
        bad = list(diff(ref_table, table_of(rep)))
        result["runs"][name] = {"total_s": total, "stages_s": stages, "report_matches_reference": not bad}
    ref = result["runs"]["reference"]
    for r in result["runs"].values():
        r["speedup_total"] = ref["total_s"] / r["total_s"]
        r["speedup_stages"] = {
            s: (ref["stages_s"][s] / r["stages_s"][s] if r["stages_s"][s] > 0 else None) for s in r["stages_s"]
        }
    if "fast_jobs2" in result["runs"]:
        result["jobs2_over_jobs1"] = result["runs"]["fast_jobs1"]["total_s"] / result["runs"]["fast_jobs2"]["total_s"]
    n_layouts = 2 * a.n
    result["per_layout_ms"] = {
        name: {s: 1e3 * v / n_layouts for s, v in r["stages_s"].items()} for name, r in result["runs"].items()
    }
    text = json.dumps(result, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0


@click.command(help=__doc__.split("\n\n")[0])
@click.option("--n", type=int, default=300, show_default=True, help="bundled windows per set")
@click.option("--out")
@click.option("--no-jobs2", is_flag=True)
@click.option("--bundled", is_flag=True, help="the 1,550 windows against the bundled real statistics")
@click.option("--repeat", type=int, default=1, show_default=True,
              help="interleaved repeats (fastest kept), for a loaded machine")
@click.option("--dask", is_flag=True, help="with --bundled: also 2 jobs on a 2-worker Dask LocalCluster")
def main(**options):
    sys.exit(run(SimpleNamespace(**options)))


if __name__ == "__main__":
    main()

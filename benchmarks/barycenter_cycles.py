"""How often the paper barycenter (Turner et al. 2014 Alg. 1, gudhi's
stopping rule) has no fixed point, on real data (issue 20, defect 1).

Random subsets of the BRCA-M2C train windows (256x256, stride 32, the test
protocol applied to the 80 train images, read back from their 3x3-square
rasters as a user's files are: :func:`topofd.layouts.brca_m2c.read_back`), per class, H1
diagrams under Rips and alpha; each subset in random order, so the starting
diagram (``init=0``) is random too.  Each run of
:func:`topofd.tda.barycenter.lagrangian_barycenter` is classified by how it
stopped (fixed point / cycle / iteration cap), with its iteration count and
cycle length; a cycle is also checked for being *order only*: every state of
the cycle holds the same multiset of points, only their order changes (the
estimate is then a fixed point as a diagram, and gudhi's rule, which compares
arrays, misses it).

Writes ``benchmarks/results/barycenter_cycles.json`` and prints a Markdown
table.  Usage::

    python -m benchmarks.barycenter_cycles [--shared ../shared/datasets/brca-m2c]
        [--sizes 10,30,100,300] [--reps 4] [--full-reps 0] [--seed 0]
"""
from __future__ import annotations

import json
import os
import platform
import time
from collections import defaultdict
from pathlib import Path

import click
import numpy as np

from benchmarks.common import RESULTS, ROOT
from topofd.layouts.brca_m2c import label_file, read_back
from topofd.layouts.patches import read_sizes, read_split, window_layouts
from topofd.layouts.readers import brca
from topofd.tda.barycenter import DEFAULT_MAX_ITER, lagrangian_barycenter
from topofd.tda.persistence import diagrams

FULL = 1550  # the size of the paper's test protocol


def train_windows(shared: Path):
    sizes = read_sizes(shared / "image_sizes.tsv")
    wins = []
    for stem in read_split(shared / "brca_ds_train.txt"):
        wins.extend(window_layouts(brca.read_image(label_file(shared / "labels", stem), sizes[stem]), brca.CLASSES))
    return wins


class Diagrams:
    """H1 diagrams of the train windows, computed on first use (a default
    run touches only part of the 4,625 windows)."""

    def __init__(self, wins):
        self.wins = wins
        self.points: dict[int, tuple] = {}
        self.dgms: dict[tuple, np.ndarray] = {}

    def get(self, i: int, k: int, complex: str) -> np.ndarray:
        key = (i, k, complex)
        if key not in self.dgms:
            if i not in self.points:
                self.points[i] = read_back([self.wins[i]])[0].points
            self.dgms[key] = diagrams(self.points[i][k], complex)[1]
        return self.dgms[key]


def same_points(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a[np.lexsort(a.T[::-1])], b[np.lexsort(b.T[::-1])])


def order_only(dgms, Y, period: int) -> bool:
    """Whether every state of the cycle through ``Y`` is ``Y``'s points reordered."""
    Z = Y
    for _ in range(period - 1):
        Z = lagrangian_barycenter(dgms, Z, max_iter=1)
        if not same_points(Z, Y):
            return False
    return True


def summarise(runs: list[dict]) -> list[dict]:
    groups = defaultdict(list)
    for r in runs:
        groups[(r["complex"], r["n"])].append(r)
    rows = []
    for (cx, n), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        fixed = [r for r in rs if r["stopped"] == "fixed point"]
        cyc = [r for r in rs if r["stopped"] == "cycle"]
        rows.append({
            "complex": cx, "n": n, "runs": len(rs),
            "fixed_point": len(fixed), "cycle": len(cyc),
            "max_iter": sum(r["stopped"] == "max_iter" for r in rs),
            "cycle_order_only": sum(bool(r["order_only"]) for r in cyc),
            "iters_fixed": sorted(r["nb_iter"] for r in fixed),
            "iters_cycle": sorted(r["nb_iter"] for r in cyc),
            "cycle_lengths": sorted(r["cycle_length"] for r in cyc),
            "median_seconds": float(np.median([r["seconds"] for r in rs])),
        })
    return rows


def _span(v: list[int]) -> str:
    if not v:
        return "–"
    return str(v[0]) if v[0] == v[-1] else f"{v[0]}–{v[-1]} (median {int(np.median(v))})"


def to_markdown(rows: list[dict]) -> str:
    out = ["| complex | diagrams | runs | fixed point | cycle (of which order only) | cap | iterations, fixed point "
           "| iterations, cycle | cycle lengths | median s |",
           "|---|---:|---:|---:|---:|---:|---|---|---|---:|"]
    for r in rows:
        lengths = ", ".join(f"{p}×{c}" for p, c in sorted(
            {p: r["cycle_lengths"].count(p) for p in r["cycle_lengths"]}.items())) or "–"
        out.append(f"| {r['complex']} | {r['n']} | {r['runs']} | {r['fixed_point']} | {r['cycle']} "
                   f"({r['cycle_order_only']}) | {r['max_iter']} | {_span(r['iters_fixed'])} "
                   f"| {_span(r['iters_cycle'])} | {lengths} | {r['median_seconds']:.2f} |")
    return "\n".join(out)


@click.command()
@click.option("--shared", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=Path(os.environ.get("TOPOFD_SHARED") or ROOT.parent / "shared") / "datasets" / "brca-m2c",
              show_default=True, help="the BRCA-M2C folder (default: under $TOPOFD_SHARED or ../shared)")
@click.option("--sizes", default="10,30,100,300", show_default=True, help="subset sizes, comma separated")
@click.option("--reps", default=4, show_default=True, help="random subsets per (complex, class, size)")
@click.option("--full-reps", default=0, show_default=True,
              help=f"subsets of {FULL} windows per (complex, class); 0 to skip")
@click.option("--complexes", default="rips,alpha", show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--max-iter", default=DEFAULT_MAX_ITER, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=RESULTS / "barycenter_cycles.json",
              show_default=True)
def main(shared, sizes, reps, full_reps, complexes, seed, max_iter, out):
    t0 = time.perf_counter()
    wins = train_windows(shared)
    D = Diagrams(wins)
    plan = [(n, reps) for n in (int(s) for s in sizes.split(",") if s)] + ([(FULL, full_reps)] if full_reps else [])
    rng = np.random.default_rng(seed)
    runs = []
    for cx in complexes.split(","):
        for k, cls in enumerate(brca.CLASSES):
            for n, r_n in plan:
                for rep in range(r_n):
                    pick = rng.choice(len(wins), size=min(n, len(wins)), replace=False)
                    dgms = [D.get(int(i), k, cx) for i in pick]
                    t = time.perf_counter()
                    Y, log = lagrangian_barycenter(dgms, 0, max_iter=max_iter, return_log=True)
                    sec = time.perf_counter() - t
                    cyc = log["stopped"] == "cycle"
                    run = {"complex": cx, "class": cls, "n": int(n), "rep": rep, "windows": [int(i) for i in pick],
                           "stopped": log["stopped"], "nb_iter": log["nb_iter"],
                           "cycle_length": log["cycle_length"], "cycle_start": log["cycle_start"],
                           "order_only": order_only(dgms, Y, log["cycle_length"])
                           if cyc and log["cycle_length"] > 1 else None,
                           "barycenter_points": len(Y), "seconds": round(sec, 4)}
                    runs.append(run)
                    print(f"{cx:5s} {cls:4s} n={n:5d} #{rep}: {log['stopped']:11s} nb_iter={log['nb_iter']:4d}"
                          f" period={log['cycle_length']} ({sec:.2f} s)", flush=True)
    rows = summarise(runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "what": "stopping of lagrangian_barycenter(init=0) on random subsets of BRCA-M2C train windows' H1 diagrams",
        "command": "python -m benchmarks.barycenter_cycles " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in (("sizes", sizes), ("reps", reps), ("full_reps", full_reps),
                                                      ("complexes", complexes), ("seed", seed),
                                                      ("max_iter", max_iter))),
        "n_windows": len(wins), "machine": platform.machine(), "seconds_total": round(time.perf_counter() - t0, 1),
        "summary": rows, "runs": runs}, indent=1) + "\n")
    print()
    print(to_markdown(rows))
    print(f"\n{len(runs)} runs, {time.perf_counter() - t0:.0f} s; {out}")


if __name__ == "__main__":
    main()

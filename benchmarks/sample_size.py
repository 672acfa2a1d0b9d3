"""Sample-size dependence of TopoFD, raw and extrapolated (TopoFD∞).

For N = 100, 200, 400, 800, 1550 windows (a seeded random subset of the
BRCA-M2C test windows, a new one per draw, and their paired synthetic
windows), the raw TopoFD and TopoFD∞ (:mod:`topofd.stats.extrapolate`: fit against
1/n on nested subsets, value at 1/n = 0) under both protocols, for
matched-count random placement and jitter σ = 4 (stored sets of
``draws.py``; ``grid`` over several draws, ``paper`` over
``--paper-draws``), and the candidate protocols of :mod:`candidates`.  The
mean over draws at each N estimates the expected score at that N: a score
free of sample-size bias keeps it flat.
Reported: the value at each N and how much each varies over N (range / value
at 1,550).

    python -m benchmarks.sample_size --draws /tmp/topofd_draws --jobs 2
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
import numpy as np

import topofd
from benchmarks.candidates import score as candidate
from benchmarks.common import CLASSES, RESULTS, tag_of
from benchmarks.families import GENERATORS, load_set, set_path

SIZES = (100, 200, 400, 800, 1550)
CANDIDATES = ("grid", "grid_inf", "gridq20", "gridq20_inf", "rbf_land", "kid_pi")
# per class, then the signed square root, then the mean over classes (as the
# validity study's derived scores)
SQRT = {"sqrt_gridq20": "gridq20", "sqrt_grid": "grid"}
COLUMNS = ("topofd", "topofd_inf", "topokd", *CANDIDATES, *SQRT)


def subset(s: dict, idx) -> dict:
    return {"names": [s["names"][i] for i in idx], "keys": [s["keys"][i] for i in idx],
            "counts": s["counts"][idx], "diagrams": [s["diagrams"][i] for i in idx]}


def scores(real, synth, protocol, metrics, jobs, extrapolate) -> dict:
    ev = topofd.Evaluator(metrics=metrics, protocol=protocol, n_jobs=jobs, uncertainty=False, extrapolate=extrapolate)
    for side, is_real in ((real, True), (synth, False)):
        ev.update_diagrams(side["diagrams"], side["counts"], names=side["names"], keys=side["keys"],
                           classes=CLASSES, real=is_real)
    t = ev.compute().table
    return {c: float(t.at["mean", c]) for c in t.columns if not c.endswith(("_se", "_lo", "_hi"))}


@click.command()
@click.option("--draws", "draws_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=RESULTS / "sample_size", show_default=True)
@click.option("--jobs", type=int, default=2, show_default=True)
@click.option("--grid-draws", type=int, default=5, show_default=True)
@click.option("--paper-draws", type=int, default=1, show_default=True)
@click.option("--generators", default="random,jitter", show_default=True)
def main(draws_dir, out, jobs, grid_draws, paper_draws, generators):
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / "rows.json"
    rows = json.loads(rows_path.read_text()) if rows_path.exists() else {}
    real = load_set(set_path(draws_dir, "real"))
    t0 = time.perf_counter()
    gens = [g.strip() for g in generators.split(",") if g.strip()]
    for protocol, n_draws in (("grid", grid_draws), ("paper", paper_draws)):
        for g in gens:
            fam, s = GENERATORS[g]
            for d in range(n_draws):
                synth = None
                for N in SIZES:
                    key = f"{protocol}|{g}|{d}|{N}"
                    want = COLUMNS if protocol == "grid" else ("topofd", "topofd_inf")
                    if key in rows and all(c in rows[key] for c in want):
                        continue
                    synth = synth or load_set(set_path(draws_dir, tag_of(fam, s, d)))
                    n_all = len(real["names"])
                    idx = np.arange(n_all) if N >= n_all else np.sort(
                        np.random.default_rng([N, d, 11]).choice(n_all, N, replace=False))
                    t = time.perf_counter()
                    r_sub, s_sub = subset(real, idx), subset(synth, idx)
                    row = rows.get(key, {})
                    if "topofd" not in row or (protocol == "grid" and "topokd" not in row):
                        ms = ("topofd", "topokd") if protocol == "grid" else ("topofd",)
                        row.update(scores(r_sub, s_sub, protocol, ms, jobs, True))
                    if protocol == "grid":
                        pairs = [(q, q) for q in range(len(idx))]
                        per = {}
                        for c in {*CANDIDATES, *SQRT.values()}:
                            per[c] = [candidate(c, [x[k] for x in r_sub["diagrams"]],
                                                [x[k] for x in s_sub["diagrams"]], pairs) for k in range(len(CLASSES))]
                            if c in CANDIDATES:
                                row[c] = float(np.mean(per[c]))
                        for name, base in SQRT.items():
                            row[name] = float(np.mean([np.sign(v) * np.sqrt(abs(v)) for v in per[base]]))
                    rows[key] = row
                    rows_path.write_text(json.dumps(rows, indent=0))
                    click.echo(f"{key}: {rows[key]}  ({time.perf_counter() - t:.0f} s, total "
                               f"{time.perf_counter() - t0:.0f} s)", err=True)
    md = markdown(rows, "python -m benchmarks.sample_size " + " ".join(sys.argv[1:]))
    (out / "summary.md").write_text(md)
    click.echo(md)


def markdown(rows: dict, cmd: str) -> str:
    lines = [f"Produced by `{cmd}`.", "",
             "Mean over classes; mean ± sd over draws where there are several. Variation = (max − min over N) / "
             "value at N = 1,550.", "",
             "| protocol | synthetic | score | " + " | ".join(f"N = {n}" for n in SIZES) + " | variation |",
             "|---|---|---|" + "---:|" * (len(SIZES) + 1)]
    combos = sorted({tuple(k.split("|")[:2]) for k in rows})
    for protocol, g in combos:
        cols = [("topofd", "raw"), ("topofd_inf", "∞")]
        if protocol == "grid":
            cols += [("topokd", "TopoKD")] + [(c, f"candidate {c}") for c in (*CANDIDATES, *SQRT)]
        for col, label in cols:
            vals = []
            for N in SIZES:
                v = [r[col] for k, r in rows.items() if k.startswith(f"{protocol}|{g}|") and k.endswith(f"|{N}")
                     and col in r]
                vals.append(v)
            means = [np.mean(v) if v else np.nan for v in vals]
            cells = [f"{m:.4g} ± {np.std(v, ddof=1):.2g}" if len(v) > 1 else (f"{m:.4g}" if v else "—")
                     for m, v in zip(means, vals)]
            ok = [m for m in means if np.isfinite(m)]
            var = (max(ok) - min(ok)) / abs(means[-1]) if len(ok) > 1 and np.isfinite(means[-1]) else np.nan
            lines.append(f"| {protocol} | {g} | {label} | " + " | ".join(cells) + f" | {100 * var:.0f} % |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

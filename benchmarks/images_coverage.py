"""Issue 27, item 3: how the number of images per set changes each score and
whether its 95 % interval covers.

For n = 3, 10, 30 images per set: one real set, all windows of n BRCA-M2C
images drawn at random (seeded) from the 110 of both splits; then ``--draws``
synthetic sets, each all windows of n *other* images drawn from the
remaining 110 − n (a new draw each time): real tissue, the best a generator
can do without copying.  Every set is scored against the same real set
with ``topofd.compare`` (``pairing="none"``, the default metrics plus the
fidelity group and the cross-L distance), twice: with the default
intervals (synthetic layouts resampled as independent windows) and with
``se_by_image=True`` (whole synthetic images resampled).

An interval of a score (real set fixed) claims the spread of the score over
other synthetic sets from the same source; here that source is "n other
images", so the target is the mean of the score over the draws, and an
interval covers when it holds that mean.  Reported per n, score and interval
kind: the mean over draws, the standard deviation over draws, the mean
standard error, and the coverage (the share of draws whose interval holds
the mean over draws; with D draws that mean is itself off by sd/√D, which
makes the coverage of a calibrated interval a little lower than 95 %).

Usage::

    python -m benchmarks.images_coverage [--sizes 3,10,30] [--draws 12]

Writes ``results/images_coverage.json`` and prints the markdown table of
``benchmarks/README.md``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np

import topofd
from benchmarks.common import RESULTS
from benchmarks.images import all_windows, renamed

SCORES = ("topofd", "topokd", "mmd", "precision", "recall", "density", "coverage", "spatial_l")
METRICS = ("topofd", "topokd", "mmd", "precision", "recall", "density", "coverage", "spatial_l")
KINDS = {"windows": False, "images": True}


def scored(real, synth, by_image: bool, cache: str, seed: int) -> dict:
    rep = topofd.compare(
        real, synth, metrics=list(METRICS), pairing="none", se_by_image=by_image, cache_dir=cache, seed=seed
    )
    row = rep.table.loc["mean"]
    return {s: [float(row.get(f"{s}{b}", np.nan)) for b in ("", "_se", "_lo", "_hi")] for s in SCORES}


def run(sizes, draws, cache) -> list[dict]:
    wins = all_windows()
    stems = sorted(wins)
    rows = []
    for n in sizes:
        g = np.random.default_rng([2027, n])
        order = g.permutation(len(stems))
        real_ims = [stems[i] for i in order[:n]]
        rest = [stems[i] for i in order[n:]]
        real = [l for s in real_ims for l in wins[s]]
        for d in range(draws):
            pick = np.random.default_rng([2027, n, d]).choice(len(rest), size=n, replace=False)
            synth = renamed([l for i in sorted(pick) for l in wins[rest[i]]], f"d{d}_")
            t0 = time.perf_counter()
            for kind, by_image in KINDS.items():
                rows.append(
                    {"images": n, "draw": d, "kind": kind, "n_real": len(real), "n_synth": len(synth),
                     "scores": scored(real, synth, by_image, cache, d)}
                )
            print(f"n={n} draw={d}: {len(real)} vs {len(synth)} windows, {time.perf_counter() - t0:.1f} s", flush=True)
    return rows


def summarise(rows) -> list[dict]:
    out = []
    for n in sorted({r["images"] for r in rows}):
        for kind in KINDS:
            rs = [r for r in rows if r["images"] == n and r["kind"] == kind]
            for s in SCORES:
                v = np.array([r["scores"][s] for r in rs], float)  # (draws, 4): value, se, lo, hi
                ok = np.isfinite(v).all(axis=1)
                if ok.sum() < 2:
                    continue
                v = v[ok]
                target = v[:, 0].mean()
                out.append({
                    "images": n, "kind": kind, "score": s, "draws": int(ok.sum()), "mean": float(target),
                    "sd_over_draws": float(v[:, 0].std(ddof=1)), "mean_se": float(v[:, 1].mean()),
                    "coverage": float(((v[:, 2] <= target) & (target <= v[:, 3])).mean()),
                })
    return out


def markdown(summary) -> str:
    lines = ["| images per set | score | mean over draws | sd over draws | se, windows resampled (coverage) | "
             "se, images resampled (coverage) |", "|---|---|---|---|---|---|"]
    key = {(r["images"], r["kind"], r["score"]): r for r in summary}
    for n in sorted({r["images"] for r in summary}):
        for s in SCORES:
            w, i = key.get((n, "windows", s)), key.get((n, "images", s))
            if w is None:
                continue
            im = f"{i['mean_se']:.3g} ({i['coverage']:.0%})" if i else "–"
            lines.append(f"| {n} | {s} | {w['mean']:.4g} | {w['sd_over_draws']:.3g} | {w['mean_se']:.3g} "
                         f"({w['coverage']:.0%}) | {im} |")
    return "\n".join(lines)


@click.command(help=__doc__.split("\n")[0])
@click.option("--sizes", default="3,10,30", show_default=True, help="images per set")
@click.option("--draws", type=int, default=12, show_default=True, help="synthetic sets (other images) per size")
@click.option("--out", default=str(RESULTS / "images_coverage.json"), show_default=True)
@click.option("--markdown-only", is_flag=True, help="print the table of an existing --out")
def main(sizes, draws, out, markdown_only):
    if markdown_only:
        print(markdown(json.loads(Path(out).read_text())["summary"]))
        return
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        rows = run([int(x) for x in sizes.split(",")], draws, cache)
    summary = summarise(rows)
    doc = {"command": "python -m benchmarks.images_coverage " + " ".join(sys.argv[1:]),
           "seconds": time.perf_counter() - t0, "summary": summary, "rows": rows}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(doc, indent=1))
    print(markdown(summary))


if __name__ == "__main__":
    main()

"""Utility (issue 29): train on synthetic, test on real, on BRCA-M2C windows.

Real set: an evenly spread subset of ``--n`` of the 1,550 bundled test
windows (all 30 images; read back from the published rasters).  Synthetic
sets, each window named ``<real window>_gen`` (so it goes with its real
partner's image half), cells kept as points (not rasterised):

* ``real (same windows)``: the real windows themselves — TSTR = TRTR up to
  the cells drawn;
* ``count-matched real (train split)``: for each real window, the window of
  the 80 train images (``../shared/datasets/brca-m2c``, ``--n-train``
  spread windows) with the nearest per-class counts (L1) — real tissue of
  other images;
* ``jitter σ``: every cell moved by rounded N(0, σ²) px
  (:func:`families.perturbed`), σ = 1, 2, 4, 8;
* ``lym swap`` / ``epi swap``: the class's cells of each window replaced by
  those of a window of another image (the other classes kept);
* ``random``: every cell re-placed uniformly (matched counts,
  :func:`topofd.layouts.baselines.perturb`);
* ``shuffled labels``: the cells kept, their classes permuted within each window.

Each set is scored by the ``utility`` plug-in itself (its ``score`` on
views of the cells: the other metrics' diagrams are not needed), seed 0,
``--utility-cells`` default, with its intervals.  ``--part cost``: the
plug-in on the full 1,550-window demo sets (real, matched-count random),
CPU and wall seconds.  Writes ``results/utility/utility.json`` (or
``cost.json``) and prints a Markdown table.

Usage::

    python -m benchmarks.utility [--n 480] [--n-train 3000] [--part sweep|cost]
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np

from benchmarks.common import CLASSES, ROOT, SHARED
from benchmarks.families import image_of, perturbed, test_windows, train_windows
from topofd.layouts.baselines import perturb
from topofd.layouts.layout import Layout
from topofd.metrics.base import Context, resampling_plan
from topofd.metrics.utility import METRIC
from topofd.options import Options
from topofd.state import SetView

COLUMNS = ("tstr", "trtr", "tstr_ratio", "trts", "aug_delta")


def spread(xs, n):
    xs = list(xs)
    if n is None or n >= len(xs):
        return xs
    return [xs[i] for i in np.unique(np.linspace(0, len(xs) - 1, n).round().astype(int))]


def gen(real, points):
    return [Layout(p, CLASSES, l.shape, f"{l.name}_gen") for l, p in zip(real, points, strict=True)]


def other_image_partner(real):
    """For each window (sorted by name, so grouped by image), the window as
    many places on as the largest image has windows: always another image."""
    img = [image_of(l.name) for l in real]
    shift = max(img.count(x) for x in set(img))
    partner = (np.arange(len(real)) + shift) % len(real)
    assert all(img[j] != img[i] for i, j in enumerate(partner)), "an image holds more than half the windows"
    return partner


def swapped(real, k):
    partner = other_image_partner(real)
    return gen(real, [tuple(real[partner[i]].points[k] if c == k else p for c, p in enumerate(l.points))
                      for i, l in enumerate(real)])


def shuffled(real, seed=0):
    g = np.random.default_rng(seed)
    out = []
    for l in real:
        pts = np.vstack(l.points)
        lab = g.permutation(np.concatenate([np.full(len(p), k) for k, p in enumerate(l.points)]))
        out.append(tuple(pts[lab == k] for k in range(len(CLASSES))))
    return gen(real, out)


def count_matched(real, train):
    T = np.array([t.counts for t in train])
    return gen(real, [train[int(np.abs(T - l.counts).sum(axis=1).argmin())].points for l in real])


def view(layouts):
    return SetView([l.name for l in layouts], [l.name for l in layouts], np.array([l.counts for l in layouts]),
                   [[np.zeros((0, 2))] * 3 for _ in layouts], [l.points for l in layouts], [l.shape for l in layouts])


def score(real, synth, seed=0) -> tuple[dict, float, float]:
    R, S = view(real), view(synth)
    pairs = [(i, i) for i in range(len(R))]
    o = Options.from_kwargs(None, metrics=["utility"], seed=seed)
    ctx = Context(o, CLASSES, [False] * 3, pairs, resampling_plan(R, pairs, len(S), seed), None)  # type: ignore[arg-type]
    t, c = time.perf_counter(), time.process_time()
    res = METRIC.score(R, S, ctx)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    row = {col: {r: [e.value, e.lo, e.hi] for r, e in res.cells[col].items()} for col in COLUMNS}
    row["sentences"] = res.sections[0].sentences
    row["uncertainty"] = res.uncertainty
    return row, wall, cpu


def table(rows: dict) -> str:
    head = "| synthetic set | TSTR macro F1 [95 %] | TSTR lym / epi / stro | TSTR/TRTR | TRTS | aug. ΔF1 [95 %] |"
    out = [head, "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        t, a = r["tstr"], r["aug_delta"]
        out.append(
            f"| {name} | {t['mean'][0]:.3f} [{t['mean'][1]:.3f}, {t['mean'][2]:.3f}] | "
            + " / ".join(f"{t[c][0]:.2f}" for c in CLASSES)
            + f" | {r['tstr_ratio']['mean'][0]:.3f} | {r['trts']['mean'][0]:.3f} | "
            f"{a['mean'][0]:+.3f} [{a['mean'][1]:+.3f}, {a['mean'][2]:+.3f}] |"
        )
    return "\n".join(out)


@click.command()
@click.option("--n", default=480, show_default=True, help="real test windows (evenly spread over the 1,550)")
@click.option("--n-train", default=3000, show_default=True, help="train-split windows to count-match from")
@click.option("--part", type=click.Choice(["sweep", "cost"]), default="sweep", show_default=True)
@click.option("--shared", type=click.Path(path_type=Path), default=SHARED, help="BRCA-M2C folder (train split)")
@click.option("--out", type=click.Path(path_type=Path), default=ROOT / "benchmarks" / "results" / "utility")
def main(n, n_train, part, shared, out):
    out.mkdir(parents=True, exist_ok=True)
    if part == "cost":
        from topofd.layouts.brca_m2c import demo_sets

        real, synth = demo_sets(n_jobs=2)
        row, wall, cpu = score(real, synth)
        res = {"n_windows": len(real), "wall_s": wall, "cpu_s": cpu, "tstr_macro": row["tstr"]["mean"][0],
               "trtr_macro": row["trtr"]["mean"][0]}
        (out / "cost.json").write_text(json.dumps(res, indent=1))
        print(res)
        return
    real = spread(test_windows(), n)
    sets = {
        "real (same windows)": gen(real, [l.points for l in real]),
        "count-matched real (train split)": count_matched(real, train_windows(n_train, shared)),
        **{f"jitter σ={s}": gen(real, [perturbed(l, "jitter", s).points for l in real]) for s in (1, 2, 4, 8)},
        "lym swap": swapped(real, 0),
        "epi swap": swapped(real, 1),
        "random": gen(real, [perturb(l, "random", seed=7).points for l in real]),
        "shuffled labels": shuffled(real),
    }
    rows, secs = {}, {}
    for name, synth in sets.items():
        rows[name], wall, cpu = score(real, synth)
        secs[name] = {"wall_s": wall, "cpu_s": cpu}
        print(f"{name}: TSTR {rows[name]['tstr']['mean'][0]:.3f} TRTR {rows[name]['trtr']['mean'][0]:.3f} "
              f"({cpu:.1f} s CPU)", flush=True)
    res = {"n_real": len(real), "n_train_pool": n_train, "seed": 0, "rows": rows, "seconds": secs}
    (out / "utility.json").write_text(json.dumps(res, indent=1))
    md = table(rows)
    (out / "utility.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()

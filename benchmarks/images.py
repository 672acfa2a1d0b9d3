"""Issue 27, items 2 and 4: are the fidelity scores valid at image level?

Sets of few images: a real set of ``n`` BRCA-M2C images (all their 256 px
windows at stride 32, the protocol) against (a) the windows of ``n`` *other*
real images and (b) those windows with every cell re-placed at random
(matched counts, :func:`topofd.layouts.baselines.perturb` ``random``,
separated as in ``topofd baseline``).  A valid fidelity score puts (a)
above (b).  Each draw picks ``2n`` distinct images at random from the 110
images of the train and test splits (``/work/shared/datasets/brca-m2c``).
Scored by ``topofd.compare(metrics=precision,recall,density,coverage,
topokd)`` with ``fidelity_radii="windows"`` (the default: every window its
own sample, the k-NN radius of a window is the distance to its shifted
neighbours of the same image) and ``fidelity_radii="images"`` (radii among
windows of other images, :mod:`topofd.metrics.by_image`).  With ``--se``
the runs also give ``se_by_image`` intervals.  ``--k 1,2,5,10``: the
fidelity scores alone (features and manifolds, no diagrams, no intervals)
at several k, cheap enough for 20 draws.

Usage::

    python -m benchmarks.images [--sizes 3,10,30] [--draws 8] [--out benchmarks/results/images.json]
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
from topofd.layouts.baselines import perturb
from topofd.layouts.brca_m2c import label_file
from topofd.layouts.patches import read_sizes, read_split, window_layouts
from topofd.layouts.readers import brca

DATA = Path("/work/shared/datasets/brca-m2c")
STATS = ("precision", "recall", "density", "coverage", "topokd")
RADII = ("windows", "images")
HIGHER = {"precision": True, "recall": True, "density": True, "coverage": True, "topokd": False}


def all_windows() -> dict[str, list]:
    sizes = read_sizes(DATA / "image_sizes.tsv")
    stems = read_split(DATA / "brca_ds_train.txt") + read_split(DATA / "brca_ds_test.txt")
    return {s: window_layouts(brca.read_image(label_file(DATA / "labels", s), sizes[s]), brca.CLASSES) for s in stems}


def renamed(layouts, prefix):
    """The same layouts under ``prefix`` names (no synthetic name is a real name's extension)."""
    from dataclasses import replace

    return [replace(l, name=prefix + l.name) for l in layouts]


def score(real, synth, radii, cache, se: bool) -> dict:
    rep = topofd.compare(
        real, synth, metrics=list(STATS), pairing="none", fidelity_radii=radii, cache_dir=cache, uncertainty=se,
        se_by_image=se, seed=0,
    )
    row = rep.table.loc["mean"]
    out = {s: float(row[s]) for s in STATS}
    if se:
        out.update({f"{s}_{b}": float(row.get(f"{s}_{b}", np.nan)) for s in STATS for b in ("se", "lo", "hi")})
    return out


def draw_sets(wins: dict, n: int, d: int) -> tuple[list, list, list]:
    """Draw ``d`` of ``n`` images per set: the real set, the windows of ``n``
    other images, and those windows with every cell re-placed at random."""
    stems = sorted(wins)
    pick = [stems[i] for i in np.random.default_rng([27, n, d]).permutation(len(stems))[: 2 * n]]
    real = [l for s in pick[:n] for l in wins[s]]
    other = [l for s in pick[n:] for l in wins[s]]
    rand = [perturb(l, "random", seed=100 * d + i, separate=3) for i, l in enumerate(other)]
    return real, other, rand


def run(sizes, draws, se, cache):
    wins = all_windows()
    rows = []
    for n in sizes:
        for d in range(draws):
            real, other, rand = draw_sets(wins, n, d)
            t0 = time.perf_counter()
            for radii in RADII:
                r_other = score(real, renamed(other, "o_"), radii, cache, se)
                r_rand = score(real, renamed(rand, "x_"), radii, cache, se)
                rows.append({"images": n, "draw": d, "radii": radii, "n_real": len(real), "n_synth": len(other),
                             "other_images": r_other, "random": r_rand})
            print(f"n={n} draw={d}: {len(real)} vs {len(other)} windows, {time.perf_counter() - t0:.1f} s", flush=True)
    return rows


def view(layouts):
    """A :class:`SetView` with cells and images, no diagrams (the fidelity features need only the cells)."""
    from topofd.state import SetView

    return SetView([l.name for l in layouts], [l.name for l in layouts], np.array([l.counts for l in layouts]),
                   [[np.zeros((0, 2))] * 3 for _ in layouts], [l.points for l in layouts],
                   [l.shape for l in layouts], [l.image for l in layouts])


def run_k(sizes, draws, ks):
    """The fidelity scores alone (features and k-NN manifolds, no diagrams) at several k, with and without
    image-level radii: cheap enough for more draws."""
    from topofd.metrics.embedding import fidelity_features
    from topofd.metrics.manifold import STATS as FID
    from topofd.metrics.manifold import manifold_scores

    wins = all_windows()
    rows = []
    for n in sizes:
        for d in range(draws):
            real, other, rand = draw_sets(wins, n, d)
            R, O, X = view(real), view(other), view(rand)
            (Fr, Fo, Fx), _, _ = fidelity_features(R, O, X)
            for k in ks:
                for radii in RADII:
                    ims = (R.image_labels(), O.image_labels()) if radii == "images" else (None, None)
                    o = manifold_scores(Fr, Fo, k, None, FID, ims)
                    x = manifold_scores(Fr, Fx, k, None, FID, ims)
                    rows.append({"images": n, "draw": d, "k": k, "radii": radii,
                                 "other_images": {s: o[s][0] for s in FID}, "random": {s: x[s][0] for s in FID}})
        print(f"n={n}: {draws} draws", flush=True)
    return rows


def summarise_k(rows) -> list[dict]:
    out = []
    keys = sorted({(r["images"], r["k"], r["radii"]) for r in rows}, key=lambda t: (t[0], t[1], t[2] != "windows"))
    for n, k, radii in keys:
        rs = [r for r in rows if (r["images"], r["k"], r["radii"]) == (n, k, radii)]
        row = {"images": n, "k": k, "radii": radii, "draws": len(rs)}
        for s in ("precision", "recall", "density", "coverage"):
            o = np.array([r["other_images"][s] for r in rs])
            x = np.array([r["random"][s] for r in rs])
            row[s] = {"other_images": float(o.mean()), "random": float(x.mean()), "ranked_right": int((o > x).sum())}
        out.append(row)
    return out


def markdown_k(summary) -> str:
    lines = ["| images per set | k | `--fidelity-radii` | precision: other / random (right) | density | coverage "
             "| recall |", "|---|---|---|---|---|---|---|"]
    for r in summary:
        cells = [f"{r[s]['other_images']:.3f} / {r[s]['random']:.3f} ({r[s]['ranked_right']}/{r['draws']})"
                 for s in ("precision", "density", "coverage", "recall")]
        lines.append(f"| {r['images']} | {r['k']} | {r['radii']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summarise(rows, sizes) -> list[dict]:
    out = []
    for n in sizes:
        for radii in RADII:
            rs = [r for r in rows if r["images"] == n and r["radii"] == radii]
            for s in STATS:
                o = np.array([r["other_images"][s] for r in rs])
                x = np.array([r["random"][s] for r in rs])
                right = (o > x) if HIGHER[s] else (o < x)
                out.append({"images": n, "radii": radii, "score": s, "other_images": float(o.mean()),
                            "other_sd": float(o.std(ddof=1)) if len(o) > 1 else None, "random": float(x.mean()),
                            "random_sd": float(x.std(ddof=1)) if len(x) > 1 else None,
                            "ranked_right": int(right.sum()), "draws": len(rs)})
    return out


def markdown(summary) -> str:
    lines = ["| images per set | `--fidelity-radii` | score | real, other images | matched random | "
             "draws ranked right |", "|---|---|---|---|---|---|"]
    for r in summary:
        lines.append(f"| {r['images']} | {r['radii']} | {r['score']} | {r['other_images']:.3f} ± "
                     f"{r['other_sd'] or 0:.3f} | {r['random']:.3f} ± {r['random_sd'] or 0:.3f} | "
                     f"{r['ranked_right']}/{r['draws']} |")
    return "\n".join(lines)


@click.command(help=__doc__.split("\n")[0])
@click.option("--sizes", default="3,10,30", show_default=True, help="images per set")
@click.option("--draws", type=int, default=8, show_default=True)
@click.option("--se", is_flag=True, help="also the image-level intervals")
@click.option("--out", default=str(RESULTS / "images.json"), show_default=True)
@click.option("--k", "ks", default="", help="fidelity scores alone at these k (e.g. 1,2,5,10), no compare runs")
def main(sizes, draws, se, out, ks):
    sizes = [int(x) for x in sizes.split(",")]
    t0 = time.perf_counter()
    command = "python -m benchmarks.images " + " ".join(sys.argv[1:])
    if ks:
        rows = run_k(sizes, draws, [int(x) for x in ks.split(",")])
        summary, text = summarise_k(rows), None
        text = markdown_k(summary)
    else:
        with tempfile.TemporaryDirectory() as cache:
            rows = run(sizes, draws, se, cache)
        summary = summarise(rows, sizes)
        text = markdown(summary)
    doc = {"command": command, "sizes": sizes, "draws": draws, "seconds": time.perf_counter() - t0,
           "summary": summary, "rows": rows}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(doc, indent=1))
    print(text)


if __name__ == "__main__":
    main()

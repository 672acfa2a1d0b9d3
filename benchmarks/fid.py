"""FID and KID of the shipped BRCA-M2C layout encoder (issue 17) on test windows.

Real set: at most ``--n`` test windows (256x256, stride 32, read back from
the published rasters) of half of the 30 test images (images sorted by name,
every other one: set A), evenly spread.  Synthetic sets (at most ``--n``
windows each, rasterised and read back like files):

* ``real vs real (other images)``: test windows of the other 15 images
  (set B) — the floor a generator that samples afresh would reach;
* ``real vs real (same images, other windows)``: windows of set A not in the
  real set (they overlap real windows: stride 32 < 256);
* ``jitter σ`` (σ = 1, 2, 4, 8): the set-B windows, every cell moved by
  rounded N(0, σ²) px (:func:`families.perturbed`);
* ``random``: the set-B windows with every cell re-placed uniformly
  (matched counts, :func:`topofd.layouts.baselines.perturb`);
* ``A jittered σ`` (σ = 1, 2, 4, 8): the real windows themselves jittered
  (the perturbation alone, without the image-to-image difference).

Scored by ``topofd.Evaluator(metrics="fid,topokd", pairing="none")``
(Layout FID, Layout KID, TopoKD for comparison) with delete-a-group
jackknife standard errors (20 groups).  The encoder never saw a test image
(trained on the train split, ``benchmarks/train_encoder.py``).  Writes
``results/fid/fid.json`` and ``fid.md``.

Usage::

    nice python -m benchmarks.fid [--n 400] [--out benchmarks/results/fid]
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import click

import topofd
from benchmarks.common import RESULTS, named, spread
from benchmarks.families import image_of, perturbed, test_windows
from topofd.encoders.extract import shipped_record
from topofd.layouts.baselines import perturb
from topofd.layouts.brca_m2c import read_back

COLUMNS = ("layout_fid", "layout_kid", "topokd")
SIGMAS = (1, 2, 4, 8)


def build_sets(n: int):
    wins = list(test_windows())
    images = sorted({image_of(l.name) for l in wins})
    A = set(images[0::2])
    inA = [l for l in wins if image_of(l.name) in A]
    real = spread(inA, n)
    taken = {l.name for l in real}
    fresh = spread([l for l in wins if image_of(l.name) not in A], n)
    synth = {
        "real vs real (other images)": named(fresh),
        "real vs real (same images, other windows)": named(spread([l for l in inA if l.name not in taken], n)),
        **{f"jitter σ={s}": named(read_back([perturbed(l, "jitter", s) for l in fresh])) for s in SIGMAS},
        "random (matched counts)": named(read_back([perturb(l, "random", seed=7) for l in fresh])),
        **{f"A jittered σ={s}": named(read_back([perturbed(l, "jitter", s) for l in real])) for s in SIGMAS},
    }
    return real, synth


def score(real, synth, cache: str) -> dict:
    t0 = time.perf_counter()
    ev = topofd.Evaluator(metrics="fid,topokd", pairing="none", cache_dir=cache)
    ev.update(real, real=True)
    ev.update(synth, real=False)
    r = ev.compute()
    row = {"n_synth": len(synth), "seconds": round(time.perf_counter() - t0, 1)}
    for c in COLUMNS:
        row[c] = float(r.table.at["mean", c])
        se = f"{c}_se"
        row[se] = float(r.table.at["mean", se]) if se in r.table.columns else None
    return row


def markdown(rows: dict, n_real: int) -> str:
    out = [
        f"Real: {n_real} test windows of 15 test images (set A). Layout FID / KID: shipped BRCA-M2C encoder "
        f"(sha256 {shipped_record()['sha256'][:12]}); ± jackknife se (20 groups).",
        "",
        "| synthetic set | n | Layout FID | Layout KID | TopoKD (mean) |",
        "|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        cells = [f"{r[c]:.4g} ± {r[c + '_se']:.2g}" if r[c + "_se"] is not None else f"{r[c]:.4g}" for c in COLUMNS]
        out.append(f"| {name} | {r['n_synth']} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


@click.command()
@click.option("--n", default=400, show_default=True)
@click.option("--out", default=str(RESULTS / "/fid"), show_default=True)
def main(n, out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    real, synth = build_sets(n)
    rows = {}
    with tempfile.TemporaryDirectory() as cache:
        for name, s in synth.items():
            rows[name] = score(real, s, cache)
            print(name, rows[name], flush=True)
    res = {"n_real": len(real), "encoder": shipped_record(), "rows": rows}
    (out / "fid.json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    (out / "fid.md").write_text(markdown(rows, len(real)))
    print(markdown(rows, len(real)))


if __name__ == "__main__":
    main()

"""Does the shipped ``mini`` generator copy its training data?  (issue 18,
the generator's learning-curve question.)

``mini`` (``generator/checkpoints/mini.pt``) was trained on random 128 x 128
crops of the 80 BRCA-M2C train images.  Held-out real set: the 250
non-overlapping 128 x 128 windows of the 30 test images (as in
``generator_learning.py``); synthetic set: one layout per ``--n`` of those
windows (evenly spread), conditioned on its counts, DDIM-20 (as the
learning curve), seed 0, one torch thread; training set: the 128 x 128
windows of the train images at stride ``--train-stride`` (a crop the model
saw lies at most stride/2 px from one of them in each direction).  All three
are read back as a reader gets them (3 x 3 squares).  Scored with
an :class:`topofd.Evaluator` with ``metrics="memorisation"`` and the
training set (what ``topofd compare real/ synth/ --metrics memorisation
--train train/`` runs): C_T (Meehan et al. 2020) and the near-copy share
(:mod:`topofd.metrics.near_copies`).

    python -m benchmarks.generator_memorisation --n 100 [--train-stride 64] [--out benchmarks/results/generator]
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import click
import numpy as np
import torch
from topofd.generator.evaluate import evenly, read_back, split_windows, synthesize
from topofd.generator.sample import file_digest, load_generator

import topofd
from benchmarks.common import RESULTS, ROOT, SHARED
from topofd.layouts.layout import Layout

CKPT = ROOT / "generator" / "checkpoints" / "mini.pt"


def run(a):
    """The benchmark, given the options of :func:`main`."""
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    test = split_windows(a.data, "brca_ds_test.txt", 128)
    real = read_back(test)
    train = read_back(split_windows(a.data, "brca_ds_train.txt", 128, a.train_stride), suffix="_train")
    model, diffusion, cfg = load_generator(CKPT, torch.device("cpu"))
    t1 = time.perf_counter()
    win = evenly(test, a.n)
    keep = Path(a.synth_dir) / f"mini_n{a.n}_ddim{a.steps}.json" if a.synth_dir else None
    reused = keep is not None and keep.is_file()
    if reused:
        # the cells as generated and read back, so a rerun scores the same layouts
        synth = [
            Layout(
                tuple(np.asarray(p, float).reshape(-1, 2) for p in d["points"]),
                tuple(d["classes"]),
                tuple(d["shape"]),
                d["name"],
            )
            for d in json.loads(keep.read_text())
        ]
    else:
        synth = synthesize(
            model, diffusion, cfg, win, steps=a.steps, sampler="ddim", batch_size=cfg["sample"]["batch_size"], seed=0
        )
        if keep is not None:
            keep.parent.mkdir(parents=True, exist_ok=True)
            keep.write_text(
                json.dumps(
                    [
                        {
                            "name": x.name,
                            "classes": list(x.classes),
                            "shape": list(x.shape),
                            "points": [np.asarray(p).tolist() for p in x.points],
                        }
                        for x in synth
                    ]
                )
            )
    t_sample = time.perf_counter() - t1
    t1 = time.perf_counter()
    # topofd.compare takes the training set as a path; in memory it is the Evaluator
    ev = topofd.Evaluator(metrics="memorisation", pairing="none", n_jobs=1)
    ev.update(real, real=True)
    ev.update_train(train)
    ev.update(synth, real=False)
    r = ev.compute()
    t_score = time.perf_counter() - t1
    nc, ct = r.meta["near_copies"], r.meta["ct"]
    doc = {
        "checkpoint": str(CKPT.relative_to(ROOT)),
        "checkpoint_sha256_16": file_digest(CKPT),
        "n_real": len(real),
        "n_synth": len(synth),
        "n_train": len(train),
        "train_stride": a.train_stride,
        "ddim_steps": a.steps,
        "ct": float(r.table.at["mean", "ct"]),
        "ct_se": float(r.table.at["mean", "ct_se"]),
        "near_copies": float(r.table.at["mean", "near_copies"]),
        "near_copies_se": float(r.table.at["mean", "near_copies_se"]),
        "near_copies_meta": nc,
        "ct_meta": ct,
        "notes": [n for n in r.meta["notes"] if n.startswith("memorisation")],
        "seconds": {"sample": t_sample, "score": t_score, "total": time.perf_counter() - t0},
        "samples_reused_from": str(keep) if reused else None,
    }
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "memorisation.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False, default=float))
    md = [
        f"Shipped `mini` ({doc['checkpoint_sha256_16']}): {len(synth)} generated layouts vs {len(real)} held-out "
        f"test windows, training set {len(train)} train-image windows (stride {a.train_stride}).",
        "",
        "| C_T | near-copy share | near-copy threshold τ (px) | median distance to train, real / synthetic (px) |",
        "|---|---|---|---|",
        f"| {doc['ct']:.2f} ± {doc['ct_se']:.2f} | {doc['near_copies']:.3f} ± {doc['near_copies_se']:.3f} "
        f"| {nc['threshold_px']:.2f} | {nc['median_distance_px']['real']:.2f} / "
        f"{nc['median_distance_px']['synthetic']:.2f} |",
        "",
        *[f"- {n}" for n in doc["notes"]],
        "",
        ("Samples reused from --synth-dir; " if reused else f"Sampling {t_sample:.0f} s, ")
        + f"scoring {t_score:.0f} s.",
    ]
    (out / "memorisation.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


@click.command(help=__doc__.splitlines()[0])
@click.option("--n", type=int, default=100, show_default=True,
              help="Synthetic layouts (one per evenly chosen test window).")
@click.option("--train-stride", type=int, default=64, show_default=True)
@click.option("--steps", type=int, default=20, show_default=True, help="DDIM steps (the learning curve's 20).")
@click.option("--data", default=os.environ.get("TOPOFD_SHARED_BRCA", str(SHARED)), show_default=True)
@click.option("--synth-dir", default=None, help="Keep the generated layouts here (JSON) and reuse them.")
@click.option("--out", default=str(RESULTS / "generator"), show_default=True)
def main(**options):
    run(SimpleNamespace(**options))


if __name__ == "__main__":
    main()

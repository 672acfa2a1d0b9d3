"""Train the shipped BRCA-M2C layout encoder (topofd/data/encoders/brca_m2c.pt + .json),
or the candidate of the other objective (``--objective contrastive``, compared in
benchmarks/README.md, not shipped).

Training data: every 256 x 256 window (stride 32) of the 80 BRCA-M2C *train*
images (../shared/datasets/brca-m2c), read back from the published 3 x 3
rasters (:func:`families.train_windows`); never a test image.

Usage::

    nice python -m benchmarks.train_encoder [--epochs 5] [--out topofd/data/encoders/brca_m2c.pt]
    nice python -m benchmarks.train_encoder --objective contrastive --epochs 3 --batch 128 --threads 1 \\
        --out /tmp/contrastive.pt
"""

from __future__ import annotations

from pathlib import Path

import click

from benchmarks.common import ROOT
from benchmarks.families import train_windows
from topofd.encoders.train import train_encoder

SHARED = Path("/work/shared/datasets/brca-m2c")


@click.command()
@click.option("--objective", type=click.Choice(["supervised", "contrastive"]), default="supervised", show_default=True)
@click.option("--epochs", default=5, show_default=True)
@click.option("--batch", default=64, show_default=True)
@click.option("--threads", default=2, show_default=True)
@click.option("--shared", default=str(SHARED), show_default=True)
@click.option("--out", default=str(ROOT / "topofd/data/encoders/brca_m2c.pt"), show_default=True)
def main(objective, epochs, batch, threads, shared, out):
    import torch

    torch.set_num_threads(threads)
    wins = train_windows(None, Path(shared))
    cmd = f"python -m benchmarks.train_encoder --epochs {epochs} --threads {threads}"
    if objective != "supervised" or batch != 64:
        cmd += f" --objective {objective} --batch {batch} --out {Path(out).name}"
    pts, cs = [w.points for w in wins], [w.shape for w in wins]
    rec = train_encoder(pts, cs, out, objective=objective, epochs=epochs, batch=batch, command=cmd)
    print({k: rec[k] for k in ("sha256", "train_layouts", "train_seconds", "final_loss")})


if __name__ == "__main__":
    main()

"""Score a generator inside its PyTorch sampling loop with the streaming
metric, and check the result against ``topofd compare`` on the saved files.

    python examples/sampling_loop.py [OUT_DIR]

The real windows are bundled BRCA-M2C test windows (256 x 256, lym / epi /
stro), batched by a DataLoader with their per-class cell counts.  The
"generator" is a stand-in for a count-conditioned model such as TopoCellGen
(``topocellgen sample``): for each window it draws the requested number of
3 x 3 cells per class at random and returns noisy maps in [-1, 1], the raw
output of a diffusion model.  ``topofd.Evaluator`` takes those tensors as
they are (foreground = value > 0, stated in the report) and computes the
persistence diagrams batch by batch, so ``compute()`` at the end only
summarises.

Every batch is also saved as ``.npy`` files (``real/0000000.npy``,
``synth/0000000_gen.npy``, …: the names the Evaluator gives unnamed
layouts, so the folders are read in the same order and pair the same way),
and the example asserts that ``topofd.compare(real/, synth/)`` — i.e.
``topofd compare real/ synth/`` — gives the same table, TopoFD included.

On several GPUs, use ``topofd.integrations.torchmetrics.TopoMetrics`` with the same
``update`` calls (``pip install 'topofd[torchmetrics]'``); its state is
gathered across DDP ranks.  ``TOPOFD_CI_SMALL=1``: 12 windows (seconds).
"""
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, TensorDataset

import topofd
from topofd.layouts.brca_m2c import bundled_root, real_patches

SMALL = os.environ.get("TOPOFD_CI_SMALL") == "1"
N_WINDOWS, BATCH = (12, 4) if SMALL else (160, 32)
CLASSES = ["lym", "epi", "stro"]
OPTIONS = dict(classes=CLASSES, seed=0, mmd_samples=None if SMALL else 100)


def real_loader(n: int, batch_size: int) -> DataLoader:
    """``n`` bundled test windows as binary ``(B, 3, 256, 256)`` maps and
    their ``(B, 3)`` cell counts."""
    with bundled_root() as root:
        windows = real_patches(root, n)
    maps = torch.from_numpy(np.stack([w.to_array(cell=3, channels="first") for w in windows])).float()
    counts = torch.from_numpy(np.stack([w.counts for w in windows]))
    return DataLoader(TensorDataset(maps, counts), batch_size=batch_size, shuffle=False)


class StandInGenerator(torch.nn.Module):
    """Count-conditioned stand-in: ``counts (B, C)`` -> maps ``(B, C, H, W)``
    in [-1, 1] with the requested number of cells per class (cells that
    land on each other merge, as a real model's may)."""

    def __init__(self, size: int = 256, cell: int = 3, seed: int = 0):
        super().__init__()
        self.size, self.cell = size, cell
        self.rng = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def forward(self, counts: torch.Tensor) -> torch.Tensor:
        B, C = counts.shape
        x = torch.full((B, C, self.size, self.size), -0.8)
        for b in range(B):
            for c in range(C):
                corners = torch.randint(0, self.size - self.cell + 1, (int(counts[b, c]), 2), generator=self.rng)
                for r, q in corners.tolist():
                    x[b, c, r:r + self.cell, q:q + self.cell] = 0.8
        # noise far below the 0.8 margin: thresholding at 0 gives the drawn cells back
        return (x + 0.05 * torch.randn(x.shape, generator=self.rng)).clamp(-1, 1)


def save_batch(maps: torch.Tensor, folder: Path, start: int, suffix: str = "") -> None:
    """Write a batch as the published ``(H, W, C)`` uint8 layout files."""
    folder.mkdir(parents=True, exist_ok=True)
    binary = (maps > 0).permute(0, 2, 3, 1).to(torch.uint8).numpy()
    for i, a in enumerate(binary):
        np.save(folder / f"{start + i:07d}{suffix}.npy", a)


def main(out: Path) -> None:
    loader = real_loader(N_WINDOWS, BATCH)
    generator = StandInGenerator(seed=0)

    # ---- the sampling loop, 10 lines; topofd is in 4 of them ----
    metric = topofd.Evaluator(**OPTIONS)
    seen = 0
    for real, counts in loader:
        metric.update(real, real=True)
        fake = generator(counts)
        metric.update(fake, real=False)
        save_batch(real, out / "real", seen)
        save_batch(fake, out / "synth", seen, suffix="_gen")
        seen += len(real)
    report = metric.compute()
    # ----------------------------------------------------------
    print(report)

    # the acceptance check: the saved files give the same numbers
    from_files = topofd.compare(out / "real", out / "synth", **OPTIONS)
    assert report.table.at["mean", "topofd"] == from_files.table.at["mean", "topofd"], \
        (report.table.at["mean", "topofd"], from_files.table.at["mean", "topofd"])
    pd.testing.assert_frame_equal(report.table, from_files.table, check_exact=True)
    print(f"\nstreaming metric == topofd compare {out / 'real'} {out / 'synth'}: "
          f"TopoFD {report.table.at['mean', 'topofd']:.6g} from both ({seen} windows per set)")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))

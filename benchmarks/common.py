"""Constants and small helpers every benchmark script shares."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]  # the repository
RESULTS = ROOT / "benchmarks" / "results"
SHARED = ROOT.parent / "shared" / "datasets" / "brca-m2c"  # the real BRCA-M2C dataset beside the checkout
CLASSES = ("lym", "epi", "stro")


def sync(device) -> None:
    """Wait for a CUDA device's queued work, so a timer reads the work done."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def tag_of(family: str, s: float, draw: int) -> str:
    """The file tag of one stored synthetic set (``benchmarks.draws``)."""
    return f"{family}_{s:g}_d{draw:02d}"


def spread(xs, n):
    """``n`` items of ``xs`` evenly spread over it (all of it when ``n`` is not smaller)."""
    xs = list(xs)
    if n >= len(xs):
        return xs
    return [xs[i] for i in np.unique(np.linspace(0, len(xs) - 1, n).round().astype(int))]


def named(layouts, prefix=""):
    """``layouts`` renamed ``<prefix><name>_gen`` (the synthetic side of a pairing)."""
    # imported here: the GPU run's calls import this module and must start fast
    from topofd.layouts.layout import Layout

    return [Layout(l.points, l.classes, l.shape, f"{prefix}{l.name}_gen") for l in layouts]

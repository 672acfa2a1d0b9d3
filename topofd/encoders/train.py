"""Training a layout encoder: ``topofd train-encoder`` and the shipped BRCA-M2C encoder.

Objective: supervised regression of multi-scale per-class statistics, the
cheaper of the two candidates of issue 17 (no second view, no negatives,
small batches work; SimCLR-style contrastive training needs large batches
and many epochs to converge, Chen et al. 2020, Fig. 9).  Targets, computed
from a layout's cells: per class, the cell counts in a 1 x 1, 2 x 2 and
4 x 4 grid of the canvas (density at three scales), and per ordered pair of
classes (a, b) the mean number of b cells within 10, 20 and 40 px of an a
cell (Ripley's K at three radii, the second-order statistic of spatial
point-pattern analysis, Baddeley et al. 2015 Ch. 7), each as log(1 + x),
standardised over the training set.  A network that predicts both must
encode where each class is and how its cells cluster and mix, which is what
a layout generator gets wrong; its penultimate layer is the feature space
(as FID uses Inception's pool layer, not its logits; Heusel et al. 2017).
Density and clustering targets are invariant to nothing a generator may
change, unlike contrastive views, which would teach invariance to the 1–2 px
jitter and cell dropout a metric should see.

Network (:func:`build`): five 3 x 3 convolutions (16, 32, 64, 128, 128
channels; the first four with stride 2: 128 → 8 px), each with group
normalisation and ReLU, then a global average: a 128-d feature; a two-layer
head maps it to the targets during training only.  Input: the
``(C, 128, 128)`` rasters of :mod:`topofd.encoders.raster`.  Augmentation:
the 8 flips and 90° rotations of the square (targets transformed alike).
The saved file is the TorchScript trunk (features only), loadable with
``torch.jit.load`` without topofd, and a JSON record next to it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from topofd.encoders.raster import SIZE, rasterise

__all__ = ["targets", "build", "train_encoder", "data_hash", "file_sha256", "RADII", "GRIDS", "FEATURES"]

RADII = (10.0, 20.0, 40.0)
GRIDS = (1, 2, 4)
FEATURES = 128
WIDTHS = (16, 32, 64, 128, 128)


def targets(points: Sequence[np.ndarray], canvas) -> tuple[np.ndarray, np.ndarray]:
    """``(grid, pairs)``: per-class cell counts on a 4 x 4 grid ``(C, 4, 4)``
    (coarser grids are its sums) and the mean number of class-b cells within
    each radius of a class-a cell ``(C, C, len(RADII))``, unscaled."""
    H, W = canvas
    C = len(points)
    grid = np.zeros((C, 4, 4))
    for k, p in enumerate(points):
        if len(p):
            r = np.clip((np.asarray(p)[:, 0] * 4 // H).astype(int), 0, 3)
            c = np.clip((np.asarray(p)[:, 1] * 4 // W).astype(int), 0, 3)
            np.add.at(grid[k], (r, c), 1)
    pairs = np.zeros((C, C, len(RADII)))
    trees = [cKDTree(p) if len(p) else None for p in points]
    for a, ta in enumerate(trees):
        for b, tb in enumerate(trees):
            if ta is None or tb is None:
                continue
            for j, rad in enumerate(RADII):
                n = ta.count_neighbors(tb, rad)
                pairs[a, b, j] = (n - (len(points[a]) if a == b else 0)) / len(points[a])
    return grid, pairs


def _multi_scale(grid):
    """``(B, C·21)`` torch tensor: the 1 x 1, 2 x 2 and 4 x 4 counts of ``(B, C, 4, 4)`` grids."""
    import torch

    B = grid.shape[0]
    g2 = grid.reshape(B, -1, 2, 2, 2, 2).sum((3, 5))
    return torch.cat([grid.sum((2, 3)), g2.reshape(B, -1), grid.reshape(B, -1)], 1)


def build(channels: int, n_targets: int):
    """``(trunk, head)``: the encoder (``(B, C, 128, 128)`` → ``(B, 128)``) and the training head."""
    from torch import nn

    layers: list = []
    cin = channels
    for i, w in enumerate(WIDTHS):
        layers += [nn.Conv2d(cin, w, 3, stride=2 if i < 4 else 1, padding=1), nn.GroupNorm(8, w), nn.ReLU()]
        cin = w
    trunk = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    head = nn.Sequential(nn.Linear(FEATURES, FEATURES), nn.ReLU(), nn.Linear(FEATURES, n_targets))
    return trunk, head


def data_hash(points: Sequence, canvases: Sequence) -> str:
    """sha256 of the training cells (rounded, in order) and canvases."""
    h = hashlib.sha256()
    for p, c in zip(points, canvases):
        h.update(np.asarray(c, np.int64).tobytes())
        for q in p:
            h.update(np.int64(len(q)).tobytes() + np.rint(np.asarray(q, float)).astype(np.int64).tobytes())
    return h.hexdigest()


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _dihedral(x, t: int):
    """One of the 8 symmetries of the square on the last two axes of ``x``."""
    import torch

    x = torch.rot90(x, t % 4, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if t >= 4 else x


def _prepare(points, canvases):
    """Rasters (uint8), log grids, log pair counts, and the mean and spread of the flat targets."""
    import torch

    X = torch.from_numpy(np.stack([rasterise(p, c) for p, c in zip(points, canvases)]).astype(np.uint8))
    tg = [targets(p, c) for p, c in zip(points, canvases)]
    grid = torch.from_numpy(np.log1p(np.stack([g for g, _ in tg]))).float()
    pairs = torch.from_numpy(np.log1p(np.stack([q.reshape(-1) for _, q in tg]))).float()
    # standardise the log targets
    flat = torch.cat([_multi_scale(torch.expm1(grid)).log1p(), pairs], 1)
    return X, grid, pairs, flat.mean(0), flat.std(0).clamp_min(1e-3)


def _record(out: Path, points, canvases, *, epochs, batch, lr, seed, command) -> dict:
    """The JSON record of a trained encoder file ``out``."""
    import torch

    record = {
        "file": out.name,
        "sha256": file_sha256(out),
        "input": {"channels": len(points[0]), "size": SIZE, "dtype": "float32", "raster": "topofd.encoders.raster"},
        "features": FEATURES,
        "objective": "supervised: log(1+x) standardised per-class counts on 1x1/2x2/4x4 grids and "
        f"class-pair neighbour counts within {list(RADII)} px (smooth L1)",
        "config": {
            "epochs": epochs,
            "batch": batch,
            "lr": lr,
            "seed": seed,
            "widths": list(WIDTHS),
            "augment": "8 dihedral symmetries",
            "optimizer": "AdamW wd 1e-4, one-cycle",
        },
        "train_layouts": len(points),
        "train_data_sha256": data_hash(points, canvases),
        "torch": torch.__version__,
        "command": command,
    }
    return record


def _resume(ckpt: Path, parts: dict, dhash: str, epochs: int, log) -> int:
    """Load the checkpoint ``ckpt`` into ``parts`` when it exists; the epochs already done."""
    import torch

    if not ckpt.exists():
        return 0
    st = torch.load(ckpt, weights_only=False)
    if st.get("data") != dhash or st.get("epochs") != epochs:
        raise ValueError(f"{ckpt}: a checkpoint of other layouts or epochs; remove it to start afresh")
    for k, v in parts.items():
        v.load_state_dict(st[k])
    log(f"resumed from {ckpt} after epoch {st['epoch']}")
    return int(st["epoch"])


def train_encoder(
    points: Sequence,
    canvases: Sequence,
    out,
    *,
    epochs: int = 6,
    batch: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    command: str = "",
    log=print,
) -> dict:
    """Train an encoder on layouts (``points[i]``: per-class ``(n, 2)`` cells,
    ``canvases[i]``: ``(H, W)``), save the TorchScript trunk to ``out`` and its
    record to ``out`` with suffix ``.json``; returns the record.  A checkpoint
    ``out.ckpt`` is written after each epoch and resumed from when present
    (removed at the end)."""
    import torch

    torch.manual_seed(seed)
    out = Path(out)
    n, C = len(points), len(points[0])
    t0 = time.time()
    X, grid, pairs, mu, sd = _prepare(points, canvases)
    log(f"{n} layouts, {C} classes, {len(mu)} targets; rasterised in {time.time() - t0:.0f} s")
    trunk, head = build(C, len(mu))
    params = list(trunk.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    steps = epochs * ((n + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    ckpt, dhash = out.with_suffix(out.suffix + ".ckpt"), data_hash(points, canvases)
    parts = {"trunk": trunk, "head": head, "opt": opt, "sched": sched}
    start = _resume(ckpt, parts, dhash, epochs, log)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for ep in range(start, epochs):
        g.manual_seed(seed * 1000 + ep)
        perm = torch.randperm(n, generator=g)
        tot, te = 0.0, time.time()
        for a in range(0, n, batch):
            idx = perm[a : a + batch]
            t = int(torch.randint(8, (1,), generator=g))
            x = _dihedral(X[idx].float(), t)
            y = torch.cat([_multi_scale(torch.expm1(_dihedral(grid[idx], t))).log1p(), pairs[idx]], 1)
            loss = torch.nn.functional.smooth_l1_loss(head(trunk(x)), (y - mu) / sd)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.detach()) * len(idx)
        losses.append(tot / n)
        torch.save(
            {**{k: v.state_dict() for k, v in parts.items()}, "epoch": ep + 1, "epochs": epochs, "data": dhash}, ckpt
        )
        log(f"epoch {ep + 1}/{epochs}: loss {losses[-1]:.4f} ({time.time() - te:.0f} s)")
    trunk.eval()
    scripted = torch.jit.script(trunk)
    tmp = out.with_suffix(out.suffix + ".tmp")
    scripted.save(str(tmp))
    tmp.replace(out)
    ckpt.unlink(missing_ok=True)
    record = _record(out, points, canvases, epochs=epochs, batch=batch, lr=lr, seed=seed, command=command)
    record.update(train_seconds=round(time.time() - t0, 1), final_loss=losses[-1] if losses else None)
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return record

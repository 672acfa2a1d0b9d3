"""Training a layout encoder: ``topofd train-encoder`` and the shipped BRCA-M2C encoder.

Two objectives (issue 17 asks for at least two, chosen by the validity
criteria of ``benchmarks/fid.py``; the comparison is in ``benchmarks/README.md``):

``supervised`` (the shipped encoder): regression of multi-scale per-class
statistics.  Targets, computed from a layout's cells: per class, the cell
counts in a 1 x 1, 2 x 2 and 4 x 4 grid of the canvas (density at three
scales), and per ordered pair of classes (a, b) the mean number of b cells
within 10, 20 and 40 px of an a cell (Ripley's K at three radii, the
second-order statistic of spatial point-pattern analysis, Baddeley et al.
2015 Ch. 7), each as log(1 + x), standardised over the training set.  A
network that predicts both must encode where each class is and how its
cells cluster and mix, which is what a layout generator gets wrong.  No
second view, no negatives: small batches work.

``contrastive``: SimCLR (Chen et al. 2020, NT-Xent loss, Eq. 1, temperature
0.5 as their CIFAR-10 setting, a two-layer projection head whose input is
the feature, Sec. 4.2).  The views are what a layout distance should *not*
see: one of the 8 flips and 90° rotations (a tissue section has no
orientation; the rotation-equivariant pathology models of Veeling et al.
2018 use the same group), a shift of the whole layout by up to ``SHIFT`` px
with the cells pushed out dropped (the windows are arbitrary crops of a
larger image, stride 32; SimCLR's crop, its most important augmentation,
Fig. 5), and every cell moved by rint(N(0, ``JITTER``²)) px (the 1–2 px
uncertainty of a manually dotted cell centre).  The price, measured: the
encoder is taught invariance to small jitter, which a metric should see
(hence σ = 1 px only); and SimCLR wants large batches and long training
(Fig. 9), which a CPU budget does not give.

Both read the ``(C, 128, 128)`` rasters of :mod:`topofd.encoders.raster`
and share the network (:func:`build`): five 3 x 3 convolutions (16, 32, 64,
128, 128 channels; the first four with stride 2: 128 → 8 px), each with
group normalisation and ReLU, then a global average: a 128-d feature; a
two-layer head maps it to the targets (or the projection) during training
only.  The feature is the trunk's output, as FID uses Inception's pool layer,
not its logits (Heusel et al. 2017).  The supervised objective is augmented
by the 8 symmetries of the square (targets transformed alike).  The saved
file is the TorchScript trunk (features only), loadable with
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
from topofd.storage.atomic import atomic_write

__all__ = [
    "targets",
    "build",
    "train_encoder",
    "data_hash",
    "file_sha256",
    "view",
    "RADII",
    "GRIDS",
    "FEATURES",
    "OBJECTIVES",
]

RADII = (10.0, 20.0, 40.0)
GRIDS = (1, 2, 4)
FEATURES = 128
WIDTHS = (16, 32, 64, 128, 128)
OBJECTIVES = ("supervised", "contrastive")
PROJECTION = 64  # contrastive: width of the projection the loss sees
TAU = 0.5
SHIFT = 8
JITTER = 1.0


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


def view(points: Sequence[np.ndarray], canvas, rng: np.random.Generator) -> np.ndarray:
    """One contrastive view ``(C, 128, 128)`` of a layout (module docstring):
    cells jittered by rint(N(0, JITTER²)) px, the layout shifted by up to
    SHIFT px (cells pushed out are not drawn), then one of the 8 symmetries."""
    d = rng.integers(-SHIFT, SHIFT + 1, 2)
    img = rasterise([np.rint(p) + np.rint(rng.normal(0, JITTER, np.shape(p))) + d for p in points], canvas)
    t = int(rng.integers(8))
    img = np.rot90(img, t % 4, axes=(1, 2))
    return np.ascontiguousarray(img[:, :, ::-1] if t >= 4 else img)


def nt_xent(z1, z2, tau: float = TAU):
    """SimCLR's NT-Xent loss (Chen et al. 2020, Eq. 1) of two batches of projections, averaged over all 2B anchors."""
    import torch

    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / tau
    sim.fill_diagonal_(float("-inf"))  # a view is not its own negative
    B = len(z1)
    positive = torch.cat([torch.arange(B, 2 * B), torch.arange(B)])
    return torch.nn.functional.cross_entropy(sim, positive)


class _Supervised:
    """The supervised step: standardised multi-scale targets of one symmetry of the batch."""

    def __init__(self, points, canvases):
        import torch

        self.X = torch.from_numpy(np.stack([rasterise(p, c) for p, c in zip(points, canvases)]).astype(np.uint8))
        tg = [targets(p, c) for p, c in zip(points, canvases)]
        self.grid = torch.from_numpy(np.log1p(np.stack([g for g, _ in tg]))).float()
        self.pairs = torch.from_numpy(np.log1p(np.stack([q.reshape(-1) for _, q in tg]))).float()
        flat = torch.cat([_multi_scale(torch.expm1(self.grid)).log1p(), self.pairs], 1)
        self.mu, self.sd = flat.mean(0), flat.std(0).clamp_min(1e-3)
        self.n_out = len(self.mu)

    def loss(self, trunk, head, idx, g, rng):
        import torch

        t = int(torch.randint(8, (1,), generator=g))
        x = _dihedral(self.X[idx].float(), t)
        y = torch.cat([_multi_scale(torch.expm1(_dihedral(self.grid[idx], t))).log1p(), self.pairs[idx]], 1)
        return torch.nn.functional.smooth_l1_loss(head(trunk(x)), (y - self.mu) / self.sd)


class _Contrastive:
    """The SimCLR step: two views of each layout of the batch, the others its negatives."""

    def __init__(self, points, canvases):
        self.points, self.canvases, self.n_out = points, canvases, PROJECTION

    def loss(self, trunk, head, idx, g, rng):
        import torch

        v = [np.stack([view(self.points[i], self.canvases[i], rng) for i in idx.tolist()]) for _ in range(2)]
        return nt_xent(*(head(trunk(torch.from_numpy(x))) for x in v))


def _record(out: Path, points, canvases, *, objective, epochs, batch, lr, seed, command) -> dict:
    """The JSON record of a trained encoder file ``out``."""
    import torch

    what = {
        "supervised": "supervised: log(1+x) standardised per-class counts on 1x1/2x2/4x4 grids and "
        f"class-pair neighbour counts within {list(RADII)} px (smooth L1)",
        "contrastive": f"contrastive: SimCLR NT-Xent, temperature {TAU}, {PROJECTION}-d projection",
    }[objective]
    augment = {
        "supervised": "8 dihedral symmetries",
        "contrastive": f"views: per-cell jitter rint(N(0, {JITTER}^2)) px, shift <= {SHIFT} px, 8 dihedral symmetries",
    }[objective]
    return {
        "file": out.name,
        "sha256": file_sha256(out),
        "input": {"channels": len(points[0]), "size": SIZE, "dtype": "float32", "raster": "topofd.encoders.raster"},
        "features": FEATURES,
        "objective": what,
        "objective_name": objective,
        "config": {
            "epochs": epochs,
            "batch": batch,
            "lr": lr,
            "seed": seed,
            "widths": list(WIDTHS),
            "augment": augment,
            "optimizer": "AdamW wd 1e-4, one-cycle",
        },
        "train_layouts": len(points),
        "train_data_sha256": data_hash(points, canvases),
        "torch": torch.__version__,
        "command": command,
    }


def _resume(ckpt: Path, parts: dict, tag: dict, log) -> int:
    """Load the checkpoint ``ckpt`` into ``parts`` when it exists; the epochs
    already done.  Tensors and plain values only (``weights_only``): a
    checkpoint someone hands over cannot run code."""
    import torch

    if not ckpt.exists():
        return 0
    try:
        st = torch.load(ckpt, weights_only=True)
        if not isinstance(st, dict) or not all(k in st for k in (*parts, "epoch")):
            raise ValueError("entries missing")
    except Exception:  # torch raises many kinds, with long messages, on a truncated or foreign file
        raise ValueError(
            f"{ckpt}: not a readable train-encoder checkpoint (truncated, damaged or another kind of file); "
            "remove it to start afresh"
        ) from None
    if any(st.get(k, "supervised" if k == "objective" else None) != v for k, v in tag.items()):
        raise ValueError(
            f"{ckpt}: a checkpoint of other layouts, epochs, batch size or objective; remove it to start afresh"
        )
    try:
        for k, v in parts.items():
            v.load_state_dict(st[k])
    except Exception as e:
        raise ValueError(f"{ckpt}: does not fit this encoder ({type(e).__name__}); remove it to start afresh") from None
    log(f"resumed from {ckpt} after epoch {st['epoch']}")
    return int(st["epoch"])


def _checkpoint(parts: dict, extra: dict, ckpt: Path) -> None:
    """The checkpoint, written aside and renamed: an interrupted write never leaves half a file."""
    import torch

    atomic_write(ckpt, lambda f: torch.save({**{k: v.state_dict() for k, v in parts.items()}, **extra}, f))


def _save(trunk, out: Path) -> None:
    """The TorchScript trunk to ``out`` (written aside, then renamed)."""
    import torch

    trunk.eval()
    tmp = out.with_suffix(out.suffix + ".tmp")
    torch.jit.script(trunk).save(str(tmp))
    tmp.replace(out)


def train_encoder(
    points: Sequence,
    canvases: Sequence,
    out,
    *,
    objective: str = "supervised",
    epochs: int = 6,
    batch: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    command: str = "",
    log=print,
) -> dict:
    """Train an encoder with ``objective`` (:data:`OBJECTIVES`) on layouts
    (``points[i]``: per-class ``(n, 2)`` cells, ``canvases[i]``: ``(H, W)``),
    save the TorchScript trunk to ``out`` and its record to ``out`` with
    suffix ``.json``; returns the record.  A checkpoint ``out.ckpt`` is
    written after each epoch and resumed from when present (removed at the end)."""
    import torch

    if objective not in OBJECTIVES:
        raise ValueError(f"objective {objective!r}: one of {', '.join(OBJECTIVES)}")
    torch.manual_seed(seed)
    out = Path(out)
    n, C = len(points), len(points[0])
    t0 = time.time()
    task = (_Supervised if objective == "supervised" else _Contrastive)(points, canvases)
    log(f"{n} layouts, {C} classes, objective {objective} ({task.n_out} outputs); prepared in {time.time() - t0:.0f} s")
    trunk, head = build(C, task.n_out)
    opt = torch.optim.AdamW(list(trunk.parameters()) + list(head.parameters()), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * ((n + batch - 1) // batch))
    ckpt = out.with_suffix(out.suffix + ".ckpt")
    tag = {"data": data_hash(points, canvases), "epochs": epochs, "objective": objective, "batch": batch}
    parts = {"trunk": trunk, "head": head, "opt": opt, "sched": sched}
    start = _resume(ckpt, parts, tag, log)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for ep in range(start, epochs):
        g.manual_seed(seed * 1000 + ep)
        rng = np.random.default_rng([seed, ep])
        perm = torch.randperm(n, generator=g)
        tot, te = 0.0, time.time()
        for a in range(0, n, batch):
            idx = perm[a : a + batch]
            loss = task.loss(trunk, head, idx, g, rng)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.detach()) * len(idx)
        losses.append(tot / n)
        _checkpoint(parts, {"epoch": ep + 1, **tag}, ckpt)
        log(f"epoch {ep + 1}/{epochs}: loss {losses[-1]:.4f} ({time.time() - te:.0f} s)")
    _save(trunk, out)
    ckpt.unlink(missing_ok=True)
    kw = {"objective": objective, "epochs": epochs, "batch": batch, "lr": lr, "seed": seed, "command": command}
    record = _record(out, points, canvases, **kw)
    record.update(train_seconds=round(time.time() - t0, 1), final_loss=losses[-1] if losses else None)
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return record

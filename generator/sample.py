"""Sampling into layouts (TopoCellGen Sec. 5 protocol): one synthetic layout per
real layout, conditioned on its per-class counts, post-processed into a
binary ``(H, W, C)`` array that ``topofd`` scores directly.

Output folder: ``<real-stem>_gen.npy`` only at the top level (what
``topofd compare`` reads); ``meta/`` holds ``<real-stem>_gen.png`` previews and
``counts.json`` (conditioning vs generated counts).
"""
from __future__ import annotations

import csv
import heapq
import json
import os
from pathlib import Path

import numpy as np
from scipy import ndimage

from topofd import Layout
from topofd.io import read_layouts
from topofd.readers.png import PALETTE

__all__ = ["postprocess", "read_conditions", "load_generator", "sample_folder"]

_FOUR = ndimage.generate_binary_structure(2, 1)


def _flood(cost: np.ndarray, seeds: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Priority-flood watershed (Meyer): grow the labelled ``seeds`` over
    ``mask`` in increasing ``cost``, 4-connected.  (``ndimage.watershed_ift``
    mislabels pixels away from the seeds on small inputs, so it is not used.)"""
    lab = seeds.copy()
    heap = [(cost[r, c], i, r, c) for i, (r, c) in enumerate(zip(*np.nonzero(seeds)))]
    heapq.heapify(heap)
    n, (H, W) = len(heap), cost.shape
    while heap:
        _, _, r, c = heapq.heappop(heap)
        for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= rr < H and 0 <= cc < W and mask[rr, cc] and not lab[rr, cc]:
                lab[rr, cc] = lab[r, c]
                n += 1
                heapq.heappush(heap, (cost[rr, cc], n, rr, cc))
    return lab


def _split_touching(p: np.ndarray, fg: np.ndarray, cell: int) -> np.ndarray:
    """Instance labels of one thresholded channel: a 4-connected component
    holding several maxima of the cell-sized box filter of ``p`` (at least
    ``cell`` + 1 pixels apart) is split among them by watershed."""
    comp, n = ndimage.label(fg, structure=_FOUR)
    score = ndimage.uniform_filter(np.where(fg, p, 0.0), size=cell)
    peaks = fg & (score == ndimage.maximum_filter(score, size=cell + 2))
    markers, _ = ndimage.label(peaks, structure=np.ones((3, 3)))
    pairs = np.unique(np.stack([comp[peaks], markers[peaks]]), axis=1)
    multi = np.flatnonzero(np.bincount(pairs[0], minlength=n + 1) > 1)
    if len(multi) == 0:
        return comp
    inside = np.isin(comp, multi)
    seeds = np.where(inside & peaks, markers + n, 0)
    return np.where(inside, _flood(-score, seeds, inside), comp)


def postprocess(x: np.ndarray, threshold: float = 0.0, min_area: int = 3, cell: int = 3) -> np.ndarray:
    """Model output ``(C, H, W)`` in [-1, 1] → binary ``(H, W, C)`` uint8 layout.

    Per channel: map to [0, 1] and threshold at ``(threshold + 1) / 2``; split
    touching cells by watershed and cut a one-pixel gap between them (cells
    are 4-connected components downstream); drop cells under ``min_area`` pixels.
    """
    p = (np.clip(x, -1, 1) + 1) / 2
    out = np.zeros(x.shape[1:] + (x.shape[0],), dtype=np.uint8)
    for k, pk in enumerate(p):
        fg = pk > (threshold + 1) / 2
        if not fg.any():
            continue
        lab = _split_touching(pk, fg, cell)
        # remove a pixel wherever its right or lower neighbour is another cell
        cut = np.zeros_like(fg)
        cut[:, :-1] |= (lab[:, :-1] != lab[:, 1:]) & (lab[:, 1:] > 0)
        cut[:-1] |= (lab[:-1] != lab[1:]) & (lab[1:] > 0)
        keep = (lab > 0) & ~cut
        comp, n = ndimage.label(keep, structure=_FOUR)
        area = np.bincount(comp.ravel(), minlength=n + 1)
        out[..., k] = (area >= min_area)[comp] & keep
    return out


def read_conditions(classes, counts_from=None, counts_csv=None) -> list[tuple[str, np.ndarray]]:
    """``(name, per-class counts)`` from a folder of real layouts (any format
    :func:`topofd.io.read_layouts` reads) or a CSV ``name,<class 1>,...,<class C>``."""
    C = len(classes)
    if (counts_from is None) == (counts_csv is None):
        raise ValueError("give exactly one of --counts-from and --counts")
    if counts_from is not None:
        layouts, _ = read_layouts(counts_from, classes=classes)
        for l in layouts:
            if l.n_classes != C:
                raise ValueError(f"{l.source or l.name}: {l.n_classes} classes, the model has {C}")
        return [(l.name, l.counts) for l in layouts]
    with open(counts_csv, newline="") as fh:
        rows = [r for r in csv.reader(fh) if r]
    out = []
    for i, r in enumerate(rows[1:], start=2):
        try:
            if len(r) != C + 1:
                raise ValueError
            out.append((r[0].strip(), np.array([int(v) for v in r[1:]], dtype=np.int64)))
        except ValueError:
            raise ValueError(f"{counts_csv}:{i}: expected 'name' and {C} integer counts") from None
    if not out:
        raise ValueError(f"{counts_csv}: no rows after the header")
    return out


def load_generator(ckpt, device):
    """``(model with EMA weights, diffusion, config)`` from ``last.pt`` or ``ema_*.pt``."""
    import torch

    from . import build

    try:
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        cfg, weights = state["config"], state["ema"]
    except (OSError, RuntimeError, KeyError, TypeError) as e:
        raise ValueError(f"{ckpt}: not a generator checkpoint ({e.__class__.__name__})") from None
    model, diffusion = build(cfg)
    model.load_state_dict(weights)
    return model.to(device).eval(), diffusion, cfg


def _save_npy(path: Path, arr: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, arr)
    os.replace(tmp, path)


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def _preview(arr: np.ndarray) -> np.ndarray:
    # the colours of topofd's PNG reader, so a preview is itself a readable layout
    from matplotlib.colors import to_rgb

    img = np.zeros(arr.shape[:2] + (3,))
    for k in range(arr.shape[2]):
        img[arr[..., k] > 0] = to_rgb(PALETTE[k % len(PALETTE)])
    return img


def _seed(*keys: int) -> int:
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


def sample_folder(ckpt, out, *, counts_from=None, counts_csv=None, steps=None, batch_size=None, seed=0,
                  device="auto", sampler=None, progress=True) -> dict:
    """Generate ``<name>_gen.npy`` for every condition whose file is missing
    (resumable); returns the ``counts.json`` content."""
    import torch
    from matplotlib.image import imsave

    from .train import resolve_device

    dev = resolve_device(device)
    model, diffusion, cfg = load_generator(ckpt, dev)
    sc, classes = cfg["sample"], list(cfg["data"]["classes"])
    steps, batch_size, sampler = steps or sc["steps"], batch_size or sc["batch_size"], sampler or sc["sampler"]
    conds = read_conditions(classes, counts_from, counts_csv)
    out = Path(out)
    meta = out / "meta"
    meta.mkdir(parents=True, exist_ok=True)
    record_path = meta / "counts.json"
    record = json.loads(record_path.read_text()) if record_path.is_file() else {"classes": classes, "layouts": {}}
    todo = []
    for i, (name, c) in enumerate(conds):
        f = out / f"{name}_gen.npy"
        if not f.is_file():
            todo.append((i, name, c))
        elif name not in record["layouts"]:
            record["layouts"][name] = {"condition": c.tolist(),
                                       "generated": Layout.from_array(np.load(f), channels="last").counts.tolist()}
    spec = f"ddim{steps}" if sampler == "ddim" else str(steps)
    process = diffusion.respaced(spec)
    S, C = cfg["model"]["image_size"], cfg["model"]["num_classes"]
    bf16 = bool(cfg["train"]["bf16"]) and dev.type == "cuda"
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc="sample", disable=not progress)
    for b0 in range(0, len(todo), batch_size):
        chunk = todo[b0:b0 + batch_size]
        # a layout's starting noise depends only on (seed, its index): batching and resuming keep it
        noise = torch.stack([torch.randn(C, S, S, generator=torch.Generator().manual_seed(_seed(seed, i)))
                             for i, _, _ in chunk]).to(dev)
        gen = torch.Generator(device=dev).manual_seed(_seed(seed, chunk[0][0], 1))
        counts = torch.tensor(np.stack([c for _, _, c in chunk]), dtype=torch.float32, device=dev)
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=bf16):
            x = process.sample(model, noise, counts, sampler=sampler, generator=gen)
        for (i, name, c), xi in zip(chunk, x.float().cpu().numpy()):
            arr = postprocess(xi, sc["threshold"], sc["min_area"], cfg["data"]["cell"])
            imsave(meta / f"{name}_gen.png", _preview(arr))
            _save_npy(out / f"{name}_gen.npy", arr)
            record["layouts"][name] = {"condition": c.tolist(),
                                       "generated": Layout.from_array(arr, channels="last").counts.tolist()}
        _write_json(record_path, record)
        bar.update(len(chunk))
    bar.close()
    _write_json(record_path, record)
    return record

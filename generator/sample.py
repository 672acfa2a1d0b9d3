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
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from scipy import ndimage

from topofd import Layout
from topofd.layouts.readers.png import PALETTE
from topofd.layouts.sets import read_layouts

__all__ = ["postprocess", "read_conditions", "load_generator", "sample_folder", "generate", "layout_mean", "PRIORS"]

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
    :func:`topofd.layouts.sets.read_layouts` reads) or a CSV ``name,<class 1>,...,<class C>``
    (header line first); counts must be non-negative integers."""
    C = len(classes)
    if (counts_from is None) == (counts_csv is None):
        raise ValueError("give exactly one of --counts-from and --counts")
    if counts_from is not None:
        layouts, _ = read_layouts(counts_from, classes=classes)
        for l in layouts:
            if l.n_classes != C:
                raise ValueError(f"{l.source or l.name}: {l.n_classes} classes, the model has {C}")
        return [(l.name, l.counts) for l in layouts]
    try:
        with open(counts_csv, newline="") as fh:
            rows = [r for r in csv.reader(fh) if r]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{counts_csv}: cannot read ({e.__class__.__name__})") from None
    if rows and len(rows[0]) != C + 1:
        raise ValueError(
            f"{counts_csv}: header has {len(rows[0]) - 1} class columns, the model has {C} ({', '.join(classes)})"
        )
    out, seen = [], set()
    for i, r in enumerate(rows[1:], start=2):
        try:
            if len(r) != C + 1:
                raise ValueError
            v = np.array([int(x) for x in r[1:]], dtype=np.int64)
            if (v < 0).any() or not r[0].strip():
                raise ValueError
        except ValueError:
            raise ValueError(f"{counts_csv}:{i}: expected a name and {C} non-negative integer counts") from None
        name = r[0].strip()
        if name in seen:
            raise ValueError(f"{counts_csv}:{i}: name {name!r} appears twice")
        seen.add(name)
        out.append((name, v))
    if not out:
        raise ValueError(f"{counts_csv}: no rows after the header")
    return out


def load_generator(ckpt, device):
    """``(model with EMA weights, diffusion, config)`` from ``last.pt``, ``ema_*.pt``
    or a shipped checkpoint; ``ValueError`` naming the file when it is not one
    or its weights do not fit its config."""
    from . import build
    from .train import load_checkpoint

    state = load_checkpoint(ckpt, ("ema", "config"))
    cfg = state["config"]
    try:
        model, diffusion = build(cfg)
        model.load_state_dict(state["ema"])
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{ckpt}: its weights do not fit the model of its config ({e.__class__.__name__})") from None
    return model.to(device).eval(), diffusion, cfg


def file_digest(path) -> str:
    """Short SHA-256 of a file's bytes."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


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


def sample_folder(
    ckpt,
    out,
    *,
    counts_from=None,
    counts_csv=None,
    steps=None,
    batch_size=None,
    seed=0,
    device="auto",
    sampler=None,
    progress=True,
) -> dict:
    """Generate ``<name>_gen.npy`` for every condition; returns the
    ``counts.json`` content.

    Resumable: a folder that already holds layouts of the same run (same
    checkpoint file, seed, steps and sampler, recorded in ``meta/counts.json``)
    is completed, only missing files being generated (with DDIM a layout
    depends only on the run and its index, not on batching; ancestral
    sampling's per-step noise also depends on the batch it falls in).  A folder holding layouts of any
    other run, or layouts without that record, is refused.  Everything is
    checked before the first file is written, and every file is written
    atomically.
    """
    from matplotlib.image import imsave

    from .train import resolve_device

    dev = resolve_device(device)
    model, diffusion, cfg = load_generator(ckpt, dev)
    sc, classes = cfg["sample"], list(cfg["data"]["classes"])
    steps, batch_size, sampler = steps or sc["steps"], batch_size or sc["batch_size"], sampler or sc["sampler"]
    conds = read_conditions(classes, counts_from, counts_csv)
    run = {"checkpoint": file_digest(ckpt), "seed": int(seed), "steps": int(steps), "sampler": sampler}
    out = Path(out)
    meta = out / "meta"
    record_path = meta / "counts.json"
    existing = sorted(out.glob("*_gen.npy")) if out.is_dir() else []
    record = {"classes": classes, "run": run, "layouts": {}}
    if existing:
        try:
            old = json.loads(record_path.read_text())
        except (OSError, ValueError):
            old = None
        if not isinstance(old, dict) or old.get("run") != run:
            raise ValueError(
                f"{out}: already holds {len(existing)} layouts of another sampling run (or without its "
                f"record {record_path}); choose another --out or empty it"
            )
        record = old
    names = {name for name, _ in conds}
    todo = []
    for i, (name, c) in enumerate(conds):
        f = out / f"{name}_gen.npy"
        if not f.is_file():
            todo.append((i, name, c))
        elif name in record["layouts"] and record["layouts"][name]["condition"] != c.tolist():
            raise ValueError(
                f"{f}: generated for the counts {record['layouts'][name]['condition']}, this run asks "
                f"for {c.tolist()}; choose another --out"
            )
        elif name not in record["layouts"]:
            record["layouts"][name] = {
                "condition": c.tolist(),
                "generated": Layout.from_array(np.load(f), channels="last").counts.tolist(),
            }
    stray = [f.name for f in existing if f.name[: -len("_gen.npy")] not in names]
    if stray:
        raise ValueError(f"{out}: holds {stray[0]}, which is not one of this run's conditions; choose another --out")
    meta.mkdir(parents=True, exist_ok=True)
    # the run's record comes first, so an interrupted run is always recognised as resumable
    _write_json(record_path, record)
    by_index = {i: (name, c) for i, name, c in todo}
    done_in_batch = 0
    for i, arr in generate(
        model,
        diffusion,
        cfg,
        np.stack([c for _, c in conds]),
        steps=steps,
        sampler=sampler,
        batch_size=batch_size,
        seed=seed,
        indices=[i for i, _, _ in todo],
        device=dev,
        progress=progress,
    ):
        name, c = by_index[i]
        imsave(meta / f"{name}_gen.png", _preview(arr))
        _save_npy(out / f"{name}_gen.npy", arr)
        record["layouts"][name] = {
            "condition": c.tolist(),
            "generated": Layout.from_array(arr, channels="last").counts.tolist(),
        }
        done_in_batch += 1
        if done_in_batch == batch_size:
            _write_json(record_path, record)
            done_in_batch = 0
    _write_json(record_path, record)
    return record


PRIORS = ("standard", "mean")


def layout_mean(counts, size: int, cell: int):
    """E[x0] per channel of a ``size`` x ``size`` layout with these counts on the
    model's [-1, 1] scale: each cell covers ``cell``^2 pixels (borders and
    overlaps ignored), ``(B, C) -> (B, C, 1, 1)``."""
    frac = (counts.float() * cell**2 / size**2).clamp(0, 1)
    return (2 * frac - 1)[..., None, None]


def generate(
    model,
    diffusion,
    cfg: dict,
    counts: np.ndarray,
    *,
    steps: int,
    sampler: str = "ddim",
    batch_size: int = 16,
    seed: int = 0,
    indices: Sequence[int] | None = None,
    device=None,
    prior: str | None = None,
    progress: bool = False,
) -> Iterator[tuple[int, np.ndarray]]:
    """Sample one layout per count vector; yields ``(index, (H, W, C) uint8)``.

    ``prior`` (default ``sample.prior``, else ``standard``): x_T ~ N(0, I), or
    ``mean``, the moment-matched N(sqrt(alpha_bar_T) E[x0 | counts], (1 -
    alpha_bar_T) I) of :meth:`.diffusion.GaussianDiffusion.start` with E[x0]
    from the counts (:func:`layout_mean`).  The starting noise of a layout
    depends only on ``(seed, index)``, so any batching or resumed subset
    (``indices``) gives the same layouts (DDIM).
    """
    import torch

    prior = prior or cfg["sample"].get("prior", "standard")
    if prior not in PRIORS:
        raise ValueError(f"sample.prior must be one of {', '.join(PRIORS)}, got {prior!r}")

    dev = device or next(model.parameters()).device
    counts = np.asarray(counts)
    idx = list(range(len(counts))) if indices is None else list(indices)
    process = diffusion.respaced(f"ddim{steps}" if sampler == "ddim" else str(steps))
    S, C = cfg["model"]["image_size"], cfg["model"]["num_classes"]
    bf16 = bool(cfg["train"]["bf16"]) and dev.type == "cuda"
    sc = cfg["sample"]
    from tqdm.auto import tqdm

    bar = tqdm(total=len(idx), desc="sample", disable=not progress, leave=False)
    for b0 in range(0, len(idx), batch_size):
        chunk = idx[b0 : b0 + batch_size]
        noise = torch.stack(
            [torch.randn(C, S, S, generator=torch.Generator().manual_seed(_seed(seed, i))) for i in chunk]
        ).to(dev)
        gen = torch.Generator(device=dev).manual_seed(_seed(seed, chunk[0], 1))
        c = torch.tensor(counts[chunk], dtype=torch.float32, device=dev)
        noise = process.start(noise, layout_mean(c, S, cfg["data"]["cell"]) if prior == "mean" else None)
        with torch.no_grad(), torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=bf16):
            x = process.sample(model, noise, c, sampler=sampler, generator=gen)
        for i, xi in zip(chunk, x.float().cpu().numpy()):
            yield i, postprocess(xi, sc["threshold"], sc["min_area"], cfg["data"]["cell"])
        bar.update(len(chunk))
    bar.close()

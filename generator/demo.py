"""``topocellgen demo``: the shipped ``mini`` checkpoint, sampled on the counts
of bundled BRCA-M2C test windows and scored by ``topofd`` (offline).

The checkpoint (``checkpoints/mini.pt``, EMA weights of the ``mini`` config,
package data) has its training command, config hash and SHA-256 recorded in
``checkpoints/mini.json``; a file that does not match its record is refused.
The scores use N windows, a demonstration of the pipeline; the learning curve
and the reference rows on every test window are in
``benchmarks/results/generator/``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["SHIPPED", "shipped_record", "run_demo", "format_demo", "write_sets"]

SHIPPED = Path(__file__).resolve().parent / "checkpoints" / "mini.pt"


def shipped_record(ckpt: Path = SHIPPED) -> dict:
    """The record beside a shipped checkpoint (``<name>.json``), after checking
    that the file is the one it describes."""
    from .sample import file_digest

    meta = ckpt.with_suffix(".json")
    if not ckpt.is_file() or not meta.is_file():
        raise ValueError(f"{ckpt}: the shipped checkpoint or its record {meta.name} is missing from this install")
    try:
        rec = json.loads(meta.read_text())
    except ValueError:
        raise ValueError(f"{meta}: not valid JSON") from None
    sha = rec.get("sha256")
    if sha is None or file_digest(ckpt) != sha:
        raise ValueError(f"{ckpt}: corrupted (SHA-256 {file_digest(ckpt)}, its record {meta.name} says {sha})")
    return rec


def write_sets(out, real, synth) -> None:
    """``OUT/real/<window>.npy`` and ``OUT/synth/<window>_gen.npy``, all or
    nothing: written into a temporary folder beside OUT and moved into place."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out}: already holds files; choose another --out or empty it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for sub, layouts in (("real", real), ("synth", synth)):
            (tmp / sub).mkdir()
            for l in layouts:
                np.save(tmp / sub / f"{l.name}.npy", l.to_array())
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def run_demo(
    *,
    ckpt=None,
    n: int = 24,
    steps: int | None = None,
    seed: int = 0,
    protocols=("grid", "paper"),
    out=None,
    json_path=None,
    threads: int | None = None,
    device: str = "cpu",
    n_jobs: int = 1,
) -> dict:
    """Sample, score and return the demo's rows (see module docstring)."""
    import torch

    from .evaluate import average_count_row, bundled_windows, evenly, random_set, read_back, score, synthesize
    from .sample import file_digest, load_generator
    from .train import config_hash, resolve_device

    t0 = time.perf_counter()
    if out is not None and Path(out).exists() and any(Path(out).iterdir()):
        raise ValueError(f"{out}: already holds files; choose another --out or empty it")
    if threads:
        torch.set_num_threads(threads)
    if ckpt is None:
        ckpt, rec = SHIPPED, shipped_record(SHIPPED)
    else:
        ckpt, rec = Path(ckpt), {}
    dev = resolve_device(device)
    model, diffusion, cfg = load_generator(ckpt, dev)
    if n < 2:
        raise ValueError("--n must be at least 2 (TopoFD needs a covariance)")
    size = cfg["model"]["image_size"]
    windows = evenly(bundled_windows(size), n)
    steps = steps or cfg["sample"]["steps"]
    real = read_back(windows, cfg["data"]["cell"])
    t1 = time.perf_counter()
    synth = synthesize(
        model,
        diffusion,
        cfg,
        windows,
        steps=steps,
        sampler="ddim",
        batch_size=cfg["sample"]["batch_size"],
        seed=seed,
        device=dev,
    )
    t_sample = time.perf_counter() - t1
    t1 = time.perf_counter()
    rows = {
        "generator": score(real, synth, protocols=protocols, n_jobs=n_jobs, seed=seed),
        "random (matched counts)": score(
            real, random_set(windows, seed, cfg["data"]["cell"]), protocols=protocols, n_jobs=n_jobs, seed=seed
        ),
        "average counts": average_count_row(real),
    }
    t_score = time.perf_counter() - t1
    if out is not None:
        write_sets(out, real, synth)
    res = {
        "checkpoint": str(ckpt),
        "sha256": file_digest(ckpt),
        "config_hash": config_hash(cfg),
        "trained_steps": rec.get("step"),
        "window": size,
        "n_windows": len(windows),
        "ddim_steps": steps,
        "seed": seed,
        "protocols": list(protocols),
        "torch_threads": torch.get_num_threads(),
        "rows": rows,
        "seconds": {"sampling": t_sample, "scoring": t_score, "total": time.perf_counter() - t0},
    }
    if json_path is not None:
        tmp = Path(str(json_path) + ".tmp")
        tmp.write_text(json.dumps(res, indent=1))
        os.replace(tmp, json_path)
    return res


def _f(v, fmt="{:.3f}") -> str:
    return "" if v is None else fmt.format(v)


def format_demo(res: dict) -> str:
    """The demo's rows as a text table."""
    protos = res["protocols"]
    head = ["", "TCE", "CCE lym/epi/stro", "TopoKD"] + [f"TopoFD {p}" for p in protos] + ["MMD"]
    lines = []
    for name, r in res["rows"].items():
        cce = "/".join(_f(v, "{:.2f}") for v in r["cce"].values())
        lines.append(
            [name, _f(r["tce"], "{:.2f}"), cce, _f(r.get("topokd"), "{:.4f}")]
            + [_f(r.get(f"topofd_{p}"), "{:.2f}") for p in protos]
            + [_f(r.get("mmd"), "{:.4f}")]
        )
    widths = [max(len(str(row[i])) for row in [head] + lines) for i in range(len(head))]

    def fmt_row(row):
        return "  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(row, widths)))

    sec = res["seconds"]
    steps = f", trained {res['trained_steps']} steps" if res.get("trained_steps") is not None else ""
    return "\n".join(
        [
            f"topocellgen demo: {Path(res['checkpoint']).name} (config {res['config_hash']}{steps}), "
            f"{res['n_windows']} bundled BRCA-M2C test windows of {res['window']} x {res['window']}, "
            f"DDIM-{res['ddim_steps']}, seed {res['seed']}",
            fmt_row(head),
            *map(fmt_row, lines),
            f"({res['n_windows']} windows: a demonstration; the learning curve and reference rows on every test "
            "window are in benchmarks/results/generator/)",
            f"sampling {sec['sampling']:.1f} s, scoring {sec['scoring']:.1f} s, total {sec['total']:.1f} s "
            f"({res['torch_threads']} torch threads)",
        ]
    )

"""Time TopoCellGen's topological losses (issue 5) per training batch.

Forward + backward of each loss on a batch of ``(B, C, S, S)`` layouts and of
all three together, as in a stage-2 step (batch 5, 3 x 256 x 256 by default,
the aggregate layout included in L_inter).  Layouts are real BRCA-M2C crops
when ``--data`` points at the dataset (default: the config's data root),
otherwise random 3x3-cell layouts; the "prediction" is a different crop with
noise, so its diagrams are as large as a model's early in stage 2.

``--device cuda`` also measures the step-time overhead of the losses over
L_simple alone at the paper configuration (``brca_m2c``: the full ADM U-Net,
bf16 autocast, AdamW): mean wall time of ``compute_losses`` + backward +
optimiser step with every lambda at 0 and at the config's values, in stage 2.

    python -m benchmarks.losses_speed                    # CPU loss timings
    python -m benchmarks.losses_speed --device cuda      # + step overhead on a GPU
"""
from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import click
import numpy as np
import torch
from topofd.generator import losses as L

from benchmarks.common import sync


def _random_layouts(rng, n, C, S, cells):
    x = np.full((n, C, S, S), -1.0, dtype=np.float32)
    for b in range(n):
        for c in range(C):
            for r, cc in rng.integers(1, S - 2, (cells, 2)):
                x[b, c, r - 1:r + 2, cc - 1:cc + 2] = 1.0
    return x


def make_batch(args, rng):
    """``(x0_pred, x0_target)`` numpy arrays and a note on where they came from."""
    n = 2 * args.batch
    x = None
    if args.data != "none":
        try:
            from topofd.generator.config import load_config
            from topofd.generator.data import LayoutCrops

            cfg = load_config("brca_m2c")["data"]
            if args.data:
                cfg["root"] = args.data
            cfg["crop"] = args.size
            if Path(cfg["root"]).is_dir():
                x, _ = LayoutCrops.from_config(cfg, seed=args.seed).batch(n)
                source = f"BRCA-M2C crops from {cfg['root']}"
        except (ImportError, ValueError, OSError) as e:
            print(f"(real crops unavailable: {e}; using random layouts)")
    if x is None:
        x = _random_layouts(rng, n, args.channels, args.size, args.cells)
        source = f"random layouts, {args.cells} cells per channel"
    target, other = x[:args.batch], x[args.batch:]
    pred = np.clip(0.8 * other + 0.3 * rng.standard_normal(other.shape), -1, 1).astype(np.float32)
    return pred, target, source


def time_losses(pred, target, args, device):
    cfg = {"lambda_count": 5e-4, "lambda_intra": 5e-4, "lambda_inter": 5e-4, "threshold": args.threshold,
           "tau": 0.7, "window": args.window, "workers": args.workers}
    runs = {
        "count": lambda x, t: L.count_loss(x, t, threshold=args.threshold),
        "intra": lambda x, t: L.intra_loss(x, t, threshold=args.threshold, window=args.window,
                                           workers=args.workers),
        "inter": lambda x, t: L.inter_loss(x, t, threshold=args.threshold, window=args.window,
                                           workers=args.workers),
        "all": lambda x, t: sum(L.topo_losses(x, t, cfg).values()),
    }
    t = torch.from_numpy(target).to(device)
    out = {}
    for name, fn in runs.items():
        times = []
        for rep in range(args.repeats + 1):
            x = torch.from_numpy(pred).to(device).requires_grad_()
            sync(device)
            t0 = time.perf_counter()
            fn(x, t).backward()
            sync(device)
            if rep:  # the first run warms up the thread pool and allocator
                times.append(time.perf_counter() - t0)
        out[name] = {"mean_s": float(np.mean(times)), "min_s": float(np.min(times))}
        print(f"{name:>6}: {out[name]['mean_s'] * 1e3:8.1f} ms per batch (min {out[name]['min_s'] * 1e3:.1f})")
    return out


def step_overhead(target, args, device):
    """Stage-2 training-step time with and without the topological losses."""
    from topofd.generator import build
    from topofd.generator.config import load_config
    from topofd.generator.train import compute_losses

    cfg = load_config(args.config)
    if args.window is not None:
        cfg["losses"]["window"] = args.window
    torch.manual_seed(args.seed)
    model, diffusion = build(cfg)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["train"]["lr"])
    x0 = torch.from_numpy(target).to(device)
    counts = ((x0 > 0).float().sum(dim=(-2, -1)) / 9.0)
    bf16 = bool(cfg["train"]["bf16"]) and device.type == "cuda"
    step = int(cfg["train"]["stage1_steps"])
    variants = {}
    for label, lam in (("L_simple", 0.0), ("L_simple+topo", None)):
        c = copy.deepcopy(cfg)
        if lam is not None:
            c["losses"].update(lambda_count=lam, lambda_intra=lam, lambda_inter=lam)
        variants[label] = c

    def one(c):
        sync(device)
        t0 = time.perf_counter()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            terms = compute_losses(model, diffusion, x0, counts, c, step)
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        sync(device)
        return time.perf_counter() - t0

    for c in variants.values():  # warm-up: kernels, allocator, thread pool
        one(c), one(c)
    times = {k: [] for k in variants}
    for _ in range(args.steps):  # interleaved, so drifts in clock or load hit both alike
        for k, c in variants.items():
            times[k].append(one(c))
    res = {}
    for k, ts in times.items():
        res[k] = float(np.mean(ts))
        print(f"step {k:>14}: {res[k] * 1e3:8.1f} ms")
    res["overhead"] = res["L_simple+topo"] / res["L_simple"] - 1.0
    print(f"overhead of the topological losses: {100 * res['overhead']:.1f} % (target <= 25 %)")
    return res


def run(args):
    """The benchmark, given the options of :func:`main`."""
    device = torch.device(args.device)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    rng = np.random.default_rng(args.seed)
    pred, target, source = make_batch(args, rng)
    workers = args.workers or int(os.environ.get("TOPOFD_LOSS_WORKERS", min(16, os.cpu_count() or 1)))
    print(f"batch {pred.shape} on {device}, {source}, window={args.window}, "
          f"persistence threads={workers}, torch threads={torch.get_num_threads()}")
    report = {"shape": list(pred.shape), "device": str(device), "source": source, "window": args.window,
              "workers": workers, "losses": time_losses(pred, target, args, device)}
    if device.type == "cuda":
        report["step"] = step_overhead(target, args, device)
    else:
        print("step-time overhead over L_simple: run with --device cuda on a GPU machine")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


@click.command(help=__doc__, context_settings={"max_content_width": 100})
@click.option("--device", default="cpu", show_default=True, help="cpu | cuda | cuda:N")
@click.option("--batch", type=int, default=5, show_default=True)
@click.option("--channels", type=int, default=3, show_default=True)
@click.option("--size", type=int, default=256, show_default=True)
@click.option("--cells", type=int, default=120, show_default=True, help="cells per channel of random layouts")
@click.option("--data", default=None, help="BRCA-M2C root (default: the config's); 'none' for random layouts")
@click.option("--threshold", type=click.Choice(["fixed", "median"]), default="fixed", show_default=True)
@click.option("--window", type=int, default=None)
@click.option("--workers", type=int, default=None, help="persistence threads (default: CPU count, <= 16)")
@click.option("--torch-threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
@click.option("--repeats", type=int, default=3, show_default=True)
@click.option("--steps", type=int, default=5, show_default=True, help="timed training steps per variant (cuda)")
@click.option("--config", default="brca_m2c", show_default=True, help="config for the step-overhead measurement")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", type=click.Path(path_type=Path), default=None, help="also write the numbers here")
def main(**options):
    run(SimpleNamespace(**options))


if __name__ == "__main__":
    main()

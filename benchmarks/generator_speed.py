"""Speed of the TopoCellGen generator: one training step (batch, bf16 autocast
on CUDA) and DDIM sampling time per layout at batch 1 and at the largest batch
that fits in GPU memory (found with single denoising steps, capped by --max-batch).

    python -m benchmarks.generator_speed                      # paper config, GPU
    python -m benchmarks.generator_speed --config tiny --ddim-steps 10   # CPU smoke run
"""
from __future__ import annotations

import json
import statistics
import time
from types import SimpleNamespace

import click
import torch
from topofd.generator import build
from topofd.generator.config import load_config
from topofd.generator.train import compute_losses, resolve_device

from benchmarks.common import sync


def _timed(fn, device, repeats):
    times = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _inputs(cfg, batch, device, gen):
    C, S = cfg["model"]["num_classes"], cfg["model"]["image_size"]
    x0 = (torch.rand(batch, C, S, S, generator=gen) < 0.05).float().mul(2).sub(1).to(device)
    counts = torch.randint(0, 100, (batch, C), generator=gen).float().to(device)
    return x0, counts


def run(args):
    """The benchmark, given the options of :func:`main`."""

    cfg = load_config(args.config)
    device = resolve_device(args.device)
    bf16 = bool(cfg["train"]["bf16"]) and device.type == "cuda"
    batch = args.batch or cfg["train"]["batch_size"]
    gen = torch.Generator().manual_seed(0)
    model, diffusion = build(cfg)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["train"]["lr"])
    x0, counts = _inputs(cfg, batch, device, gen)
    step = cfg["train"]["stage1_steps"] if args.stage2 else 0
    res = {"config": args.config, "device": str(torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"),
           "params_M": sum(p.numel() for p in model.parameters()) / 1e6, "bf16": bf16, "train_batch": batch,
           "image_size": cfg["model"]["image_size"], "stage2": args.stage2}

    def train_step():
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = compute_losses(model, diffusion, x0, counts, cfg, step)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    _timed(train_step, device, 2)
    res["train_step_s"] = _timed(train_step, device, args.iters)
    if device.type == "cuda":
        res["train_peak_mem_GiB"] = torch.cuda.max_memory_allocated(device) / 2**30
    opt = None  # the optimiser state freed before sampling (the closure keeps the name)
    model.eval()
    process = diffusion.respaced(f"ddim{args.ddim_steps}")

    def sampler(b, full=True):
        x, c = _inputs(cfg, b, device, gen)
        noise = torch.randn(x.shape, generator=gen).to(device)
        # the memory probe runs a 2-step process: same peak memory, little time
        proc = process if full else diffusion.respaced("2")

        def run():
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
                proc.sample(model, noise, c)

        return run

    res["ddim_steps"] = args.ddim_steps
    res["ddim_s_per_layout_batch1"] = _timed(sampler(1), device, 1)
    largest, b = 1, 2
    cap = args.max_batch or (256 if device.type == "cuda" else 4)
    while b <= cap:
        try:
            _timed(sampler(b, full=False), device, 1)
            largest, b = b, b * 2
        except torch.cuda.OutOfMemoryError:
            break
        finally:
            if device.type == "cuda":
                torch.cuda.empty_cache()
    res["largest_batch"] = largest
    res["ddim_s_per_layout_largest"] = _timed(sampler(largest), device, 1) / largest
    for k, v in res.items():
        print(f"{k:28s} {v:.4g}" if isinstance(v, float) else f"{k:28s} {v}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)


@click.command(help=__doc__.splitlines()[0])
@click.option("--config", default="brca_m2c", show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--batch", type=int, help="training batch (default: train.batch_size)")
@click.option("--iters", type=int, default=5, show_default=True, help="timed training steps (after 2 warm-up steps)")
@click.option("--stage2", is_flag=True, help="time stage-2 steps (topological losses on)")
@click.option("--ddim-steps", type=int, default=100, show_default=True)
@click.option("--max-batch", type=int, help="largest sampling batch tried (default: 256 on CUDA, 4 on CPU)")
@click.option("--json", help="also write the results to this file")
def main(**options):
    run(SimpleNamespace(**options))


if __name__ == "__main__":
    main()

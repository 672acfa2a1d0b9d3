"""The generator on one CUDA GPU, in stages that resume (issue 11).

1. ``paper_step``: the paper configuration (``brca_m2c``, 554 M parameters,
   bf16 autocast, AdamW, batch ``train.batch_size`` of real BRCA-M2C crops):
   training-step time and peak GPU memory with L_hybrid only (stage 1) and
   with the topological losses of Eqs. 3-9 (stage 2);
2. ``paper_sample``: DDIM-100 sampling throughput of the paper network at
   batch 16, and the post-processing time per layout on the CPU;
3. ``small_plan``: step times of the ``small`` config (256 x 256, 35 M
   parameters) in both stages, and the number of steps that fits the training
   wall time (stage 2 on the last 40 %, as in the config);
4. ``small_train``: ``small`` trained on the BRCA-M2C train split, resumed
   across calls, stopped at the planned step (or, should the plan be off, at
   1.15 x the wall time);
5. ``small_sample``: one layout per patch of the 1,550-patch test protocol
   (256 x 256 windows, stride 32, of the 30 bundled test images), conditioned
   on its counts, DDIM-100;
6. ``small_score``: ``topofd.compare`` against those patches, both
   protocols (the paper protocol's real-side statistics are bundled), MMD on
   300 patches per set as in ``benchmarks/brca_m2c.py``.

Everything goes into one JSON (``--json``, default ``WORK/gpu_run.json``),
rewritten after every stage.  Each call runs stages until ``--max-seconds``
would be exceeded (default 540 s: under a 10-minute command limit), then
exits with status 75 ("call again"); the same command continues from the
state in ``WORK``, which must survive between calls.  Exit status 0 when every
stage is done.  Budget on one H200 with the defaults: about 5 min of
measurements, 25 min of training, 5 min of sampling and scoring.

    python -m benchmarks.gpu_run --data ../shared/datasets/brca-m2c      # repeat while it exits 75
    python -m benchmarks.gpu_run --smoke --work /tmp/gpu_smoke           # CPU, tiny sizes, < 1 minute
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import click
import numpy as np

from benchmarks.common import SHARED, sync

STAGES = ("paper_step", "paper_sample", "small_plan", "small_train", "small_sample", "small_score")
# seconds a stage needs before it is started in a call (training and sampling are cut to fit instead)
NEEDS = {"paper_step": 240, "paper_sample": 120, "small_plan": 90, "small_train": 60, "small_sample": 60,
         "small_score": 240}
INCOMPLETE = 75


class Settings:
    """What the full run and the ``--smoke`` run differ in."""

    def __init__(self, args):
        smoke = args.smoke
        self.smoke = smoke
        self.paper_config = "tiny" if smoke else "brca_m2c"
        self.small_config = "tiny" if smoke else "small"
        self.warmup, self.timed = (1, 2) if smoke else (3, 10)
        self.sample_batch = 2 if smoke else 16
        self.ddim = 3 if smoke else 100
        self.train_seconds = 5.0 if smoke else args.train_minutes * 60
        self.window, self.stride = (32, 32) if smoke else (256, 32)
        self.n_patches = 6 if smoke else None
        self.mmd_samples = None if smoke else 300
        self.device = "cpu" if smoke else "cuda"
        if smoke:
            for k in NEEDS:
                NEEDS[k] = 1


def _cfg(name, settings, data):
    from topofd.generator.config import load_config

    cfg = load_config(name)
    cfg["data"]["root"] = str(data)
    cfg["train"]["device"] = settings.device
    if settings.smoke:
        # the tests' 32 x 32 variant of tiny: seconds on one CPU thread
        cfg["model"].update(image_size=32, channel_mult=[1, 2], attention_resolutions=[16])
        cfg["data"]["crop"] = 32
        cfg["train"].update(batch_size=2, save_every=5, log_every=1, threads=1)
        cfg["sample"]["batch_size"] = 4
        cfg["losses"]["workers"] = 1
    return cfg


def _step_times(cfg, settings, steps_at) -> dict:
    """Median training-step time and peak memory of ``cfg`` at each named
    training step (``{"stage1": 0, "stage2": stage1_steps}``), on real crops."""
    import torch
    from topofd.generator import build
    from topofd.generator.data import LayoutCrops
    from topofd.generator.train import compute_losses, resolve_device

    dev = resolve_device(cfg["train"]["device"])
    torch.manual_seed(0)
    model, diffusion = build(cfg)
    model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["train"]["lr"])
    crops = LayoutCrops.from_config(cfg["data"], seed=0)
    bf16 = bool(cfg["train"]["bf16"]) and dev.type == "cuda"
    batch = cfg["train"]["batch_size"]
    out = {"params_M": sum(p.numel() for p in model.parameters()) / 1e6, "batch": batch, "bf16": bf16}

    def one(step):
        x0, counts = (torch.from_numpy(a).to(dev) for a in crops.batch(batch))
        sync(dev)
        t0 = time.perf_counter()
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=bf16):
            terms = compute_losses(model, diffusion, x0, counts, cfg, step)
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        sync(dev)
        return time.perf_counter() - t0

    for name, step in steps_at.items():
        if dev.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(dev)
        for _ in range(settings.warmup):
            one(step)
        times = [one(step) for _ in range(settings.timed)]
        out[name] = {"step_s_median": statistics.median(times), "step_s_mean": statistics.fmean(times),
                     "timed_steps": len(times)}
        if dev.type == "cuda":
            out[name]["peak_allocated_GiB"] = torch.cuda.max_memory_allocated(dev) / 2**30
            out[name]["peak_reserved_GiB"] = torch.cuda.max_memory_reserved(dev) / 2**30
    if "stage1" in out and "stage2" in out:
        out["topo_overhead"] = out["stage2"]["step_s_median"] / out["stage1"]["step_s_median"] - 1
    model = opt = None  # freed before empty_cache (the closure keeps the names)
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return out


def stage_paper_step(args, st, S):
    cfg = _cfg(S.paper_config, S, args.data)
    return _step_times(cfg, S, {"stage1": 0, "stage2": cfg["train"]["stage1_steps"]})


def stage_paper_sample(args, st, S):
    import torch
    from topofd.generator import build
    from topofd.generator.data import LayoutCrops
    from topofd.generator.sample import postprocess
    from topofd.generator.train import resolve_device

    cfg = _cfg(S.paper_config, S, args.data)
    dev = resolve_device(cfg["train"]["device"])
    torch.manual_seed(0)
    model, diffusion = build(cfg)
    model.to(dev).eval()
    bf16 = bool(cfg["train"]["bf16"]) and dev.type == "cuda"
    process = diffusion.respaced(f"ddim{S.ddim}")
    C, size, b = cfg["model"]["num_classes"], cfg["model"]["image_size"], S.sample_batch
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(b, C, size, size, generator=g).to(dev)
    counts = torch.randint(0, 100, (b, C), generator=g).float().to(dev)

    def run():
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=bf16):
            return process.sample(model, noise, counts)

    run()  # warm-up: kernels, allocator
    sync(dev)
    t0 = time.perf_counter()
    run()
    sync(dev)
    dt = time.perf_counter() - t0
    # post-processing (CPU) on real layouts, which have the cells a trained model draws
    x, _ = LayoutCrops.from_config(cfg["data"], seed=1).batch(b)
    t1 = time.perf_counter()
    for xi in x:
        postprocess(xi, cfg["sample"]["threshold"], cfg["sample"]["min_area"], cfg["data"]["cell"])
    pp = (time.perf_counter() - t1) / b
    res = {"ddim_steps": S.ddim, "batch": b, "bf16": bf16, "seconds_per_batch": dt, "layouts_per_s": b / dt,
           "postprocess_s_per_layout": pp}
    if dev.type == "cuda":
        res["peak_allocated_GiB"] = torch.cuda.max_memory_allocated(dev) / 2**30
    return res


def stage_small_plan(args, st, S):
    cfg = _cfg(S.small_config, S, args.data)
    t = _step_times(cfg, S, {"stage1": 0, "stage2": cfg["train"]["stage1_steps"]})
    frac = cfg["train"]["stage1_steps"] / cfg["train"]["steps"]
    per_step = frac * t["stage1"]["step_s_median"] + (1 - frac) * t["stage2"]["step_s_median"]
    # 5 % for checkpoints and logging
    steps = max(2, int(S.train_seconds / per_step * 0.95))
    return {**t, "train_seconds": S.train_seconds, "steps": steps, "stage1_steps": max(1, round(frac * steps)),
            "planned_s_per_step": per_step}


def _small_cfg(args, st, S):
    cfg = _cfg(S.small_config, S, args.data)
    plan = st["small_plan"]
    cfg["train"].update(steps=plan["steps"], stage1_steps=plan["stage1_steps"],
                        save_every=max(1, plan["steps"] // 10))
    return cfg


def stage_small_train(args, st, S, left):
    from topofd.generator.train import load_checkpoint, train

    cfg = _small_cfg(args, st, S)
    run = args.work / "small"
    prog = st.setdefault("_small_train", {"seconds": 0.0, "calls": 0})
    cap = 1.15 * S.train_seconds - prog["seconds"]
    t0 = time.perf_counter()
    last = train(cfg, run, resume=(run / "last.pt").is_file(), max_seconds=max(1.0, min(left - 30, cap)))
    prog["seconds"] += time.perf_counter() - t0
    prog["calls"] += 1
    step = load_checkpoint(last, ("step",))["step"]
    if step < cfg["train"]["steps"] and prog["seconds"] < 1.15 * S.train_seconds:
        return None  # not done: the next call continues
    return {"steps_done": step, "steps_planned": cfg["train"]["steps"], "stage1_steps": cfg["train"]["stage1_steps"],
            "wall_seconds": prog["seconds"], "calls": prog["calls"], "checkpoint": str(run / f"ema_{step:07d}.pt"),
            "stopped_by": "plan" if step >= cfg["train"]["steps"] else "wall-time cap (1.15 x)",
            "config": cfg}


def _test_windows(S):
    from topofd.generator.evaluate import bundled_windows, evenly

    return evenly(bundled_windows(S.window, S.stride), S.n_patches)


def stage_small_sample(args, st, S, left):
    import torch
    from topofd.generator.sample import generate, load_generator
    from topofd.generator.train import resolve_device

    t_start = time.perf_counter()
    windows = _test_windows(S)
    out = args.work / "samples"
    out.mkdir(exist_ok=True)
    todo = [i for i, w in enumerate(windows) if not (out / f"{w.name}_gen.npy").is_file()]
    dev = resolve_device(S.device)
    model, diffusion, cfg = load_generator(st["small_train"]["checkpoint"], dev)
    counts = np.array([w.counts for w in windows])
    prog = st.setdefault("_small_sample", {"seconds": 0.0})
    t0 = time.perf_counter()
    bs = cfg["sample"]["batch_size"]
    per_batch = None
    for k, (i, arr) in enumerate(generate(model, diffusion, cfg, counts, steps=S.ddim, batch_size=bs, seed=0,
                                          indices=todo, device=dev)):
        tmp = out / f"{windows[i].name}_gen.npy.tmp"
        with open(tmp, "wb") as fh:
            np.save(fh, arr)
        os.replace(tmp, out / f"{windows[i].name}_gen.npy")
        if (k + 1) % bs == 0:
            per_batch = (time.perf_counter() - t0) / ((k + 1) // bs)
            if time.perf_counter() - t_start + 1.5 * per_batch > left:
                prog["seconds"] += time.perf_counter() - t0
                return None
    prog["seconds"] += time.perf_counter() - t0
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return {"n": len(windows), "ddim_steps": S.ddim, "batch": bs, "seconds": prog["seconds"],
            "layouts_per_s": len(todo) / max(1e-9, time.perf_counter() - t0) if todo else None}


def stage_small_score(args, st, S):
    from topofd.generator.evaluate import read_back, score

    from topofd import Layout

    windows = _test_windows(S)
    real = read_back(windows)
    out = args.work / "samples"
    synth = [Layout.from_array(np.load(out / f"{w.name}_gen.npy"), w.classes, channels="last", name=f"{w.name}_gen")
             for w in windows]
    t0 = time.perf_counter()
    res = score(real, synth, protocols=("paper", "grid"), n_jobs=args.jobs, seed=0, mmd_samples=S.mmd_samples)
    return {**res, "n_patches": len(windows), "window": S.window, "stride": S.stride,
            "mmd_samples": S.mmd_samples, "seconds": time.perf_counter() - t0,
            "reference_rows": "benchmarks/results/brca_m2c/ (random, jitter, train split on the same protocol)"}


def _env(S):
    import torch

    env = {"python": platform.python_version(), "torch": torch.__version__, "host_cpus": os.cpu_count(),
           "smoke": S.smoke}
    if torch.cuda.is_available():
        env.update(gpu=torch.cuda.get_device_name(0), cuda=torch.version.cuda,
                   bf16_supported=torch.cuda.is_bf16_supported())
    return env


def run(args) -> int:
    """The benchmark, given the options of :func:`main`."""
    S = Settings(args)
    t_call = time.perf_counter()
    limit = args.max_seconds if args.max_seconds > 0 else float("inf")

    def fail(msg):
        print(f"gpu_run: error: {msg}", file=sys.stderr)
        return 2

    if args.train_minutes <= 0:
        return fail(f"--train-minutes must be positive, got {args.train_minutes}")
    if not (args.data / "brca_ds_train.txt").is_file():
        return fail(f"{args.data}: not a BRCA-M2C folder (brca_ds_train.txt missing); pass --data")
    try:
        import torch
    except ImportError:
        return fail("needs torch (pip install 'topofd[generator]')")
    if not S.smoke and not torch.cuda.is_available():
        return fail("no CUDA device; use --smoke for the CPU check")
    if S.smoke:
        torch.set_num_threads(1)  # a shared CPU: one thread is the fastest there (as the tests)
    args.work.mkdir(parents=True, exist_ok=True)
    json_path = args.json or args.work / "gpu_run.json"
    state_path = args.work / "state.json"
    st = json.loads(state_path.read_text()) if state_path.is_file() else {}
    if st and st.get("_smoke") != S.smoke:
        return fail(f"{args.work}: holds a {'smoke' if st.get('_smoke') else 'full'} run; use another --work")
    st["_smoke"] = S.smoke
    st.setdefault("env", _env(S))

    def save():
        tmp = state_path.with_name("state.json.tmp")
        tmp.write_text(json.dumps(st, indent=1, default=str))
        os.replace(tmp, state_path)
        report = {"complete": all(s in st for s in STAGES), "stages_done": [s for s in STAGES if s in st],
                  **{k: v for k, v in st.items() if not k.startswith("_")}}
        json_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = json_path.with_name(json_path.name + ".tmp")
        tmp.write_text(json.dumps(report, indent=1, default=str))
        os.replace(tmp, json_path)

    for stage in STAGES:
        if stage in st:
            continue
        left = limit - (time.perf_counter() - t_call)
        if left < NEEDS[stage]:
            save()
            print(f"gpu_run: {stage} needs ~{NEEDS[stage]} s, {left:.0f} s left in this call: run the same command "
                  f"again (state in {args.work})")
            return INCOMPLETE
        print(f"gpu_run: {stage} ...", flush=True)
        t0 = time.perf_counter()
        fn = globals()[f"stage_{stage}"]
        res = fn(args, st, S, left) if stage in ("small_train", "small_sample") else fn(args, st, S)
        if res is None:  # cut to fit this call
            save()
            print(f"gpu_run: {stage} continues in the next call (state in {args.work})")
            return INCOMPLETE
        res["stage_seconds"] = time.perf_counter() - t0
        st[stage] = res
        save()
    print(f"gpu_run: complete: {json_path}")
    return 0


@click.command(help=__doc__, context_settings={"max_content_width": 100})
@click.option("--work", type=click.Path(path_type=Path), default=Path("runs/gpu_run"), show_default=True,
              help="state, run and samples (kept between calls)")
@click.option("--json", type=click.Path(path_type=Path), default=None,
              help="the results file (default WORK/gpu_run.json)")
@click.option("--data", type=click.Path(path_type=Path), default=SHARED, show_default=True,
              help="BRCA-M2C folder with the train split")
@click.option("--train-minutes", type=float, default=25.0, show_default=True)
@click.option("--max-seconds", type=float, default=540.0, show_default=True, help="wall time of one call (0: no limit)")
@click.option("--jobs", type=int, default=os.cpu_count() or 1, show_default=True,
              help="topofd worker processes for scoring")
@click.option("--smoke", is_flag=True, help="CPU, tiny configs and sizes: checks the whole path")
def main(**options):
    sys.exit(run(SimpleNamespace(**options)))


if __name__ == "__main__":
    main()

"""Does the TopoCellGen generator learn?  The ``mini`` config trained on the
BRCA-M2C train split, scored by topofd at several checkpoints (issue 11).

Phases (each resumable; ``all`` runs them in order):

* ``train``: ``mini`` as configured (stage 1, then stage 2 with the
  topological losses of Eqs. 3-9) into ``OUT/mini``;
* ``ablation``: the same run with the topological losses off, two ways:
  ``OUT/stage1_only`` (stage 2 never starts: L_hybrid at the stage-1
  learning rate to the end) and ``OUT/no_topo`` (stage 2 as configured,
  learning rate included, with the topological losses' lambdas at 0: the
  losses are the only difference from ``mini``).  All runs are identical up
  to the end of stage 1 (same seed, same config; training is bit-for-bit
  resumable), so each ablation branches from the main run's full state at
  that step (``OUT/mini/stage1.pt``) and trains only the remaining steps;
* ``score``: for every checkpoint in ``--eval-steps`` of both runs, one
  layout per held-out test window (every non-overlapping window of the
  mini's size in the 30 test images), conditioned on that window's counts,
  DDIM sampling, scored with ``topofd.compare`` against the windows: TCE,
  per-class CCE, TopoFD (``grid`` and ``paper``), MMD; plus the reference
  rows (matched-count random, average counts, real vs real: windows of the
  training images);
* ``report``: table, JSON and plot into ``--results``;
* ``ship`` (not part of ``all``): the main run's final EMA weights into
  ``generator/checkpoints/mini.pt`` with their record ``mini.json``.

Wall time, torch threads and the machine's load average are recorded for
every training segment and every scored row.

    python -m benchmarks.generator_learning --out runs/learning --jobs 1
    python -m benchmarks.generator_learning --out runs/learning --phase ship
"""
from __future__ import annotations

import copy
import json
import os
import shlex
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import click
import numpy as np
import torch
import yaml
from topofd.generator.config import load_config
from topofd.generator.evaluate import (
    average_count_row,
    evenly,
    random_set,
    read_back,
    real_vs_real_set,
    score,
    split_windows,
    synthesize,
)
from topofd.generator.sample import file_digest, load_generator
from topofd.generator.train import config_hash, load_checkpoint, save_atomic, train

from benchmarks.common import RESULTS, ROOT, SHARED
from topofd.layouts.baselines import perturb

RUNS = ("mini", "stage1_only", "no_topo")
ABLATIONS = RUNS[1:]
LABELS = {"mini": "mini (topological losses in stage 2)", "stage1_only": "stage 1 only (lr 5e-4 to the end)",
          "no_topo": "stage 2 without topological losses (lr 2e-5)"}


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def _read_json(path: Path, default):
    return json.loads(path.read_text()) if path.is_file() else default


class LoadMonitor:
    """Samples the 1-minute load average every ``every`` seconds in a thread
    (and calls ``on_sample`` after each, e.g. to save progress)."""

    def __init__(self, every: float = 30.0, on_sample=None):
        self.samples, self.every, self._stop = [os.getloadavg()[0]], every, threading.Event()
        self.on_sample = on_sample
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])
            if self.on_sample is not None:
                self.on_sample(self)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()

    def summary(self) -> dict:
        s = np.array(self.samples)
        return {"mean": float(s.mean()), "max": float(s.max()), "samples": len(s)}


def configs(args) -> dict[str, dict]:
    cfg = load_config(args.config)
    cfg["data"]["root"] = str(args.data)
    if args.threads:
        cfg["train"]["threads"] = args.threads
    abl = copy.deepcopy(cfg)
    abl["train"]["stage1_steps"] = abl["train"]["steps"]  # stage 2 never starts: L_hybrid only
    # stage 2's learning rate without its losses: stage1_only alone would confound the two
    off = copy.deepcopy(cfg)
    for k in ("count", "intra", "inter"):
        off["losses"][f"lambda_{k}"] = 0.0
    return {"mini": cfg, "stage1_only": abl, "no_topo": off}


def _timed_train(cfg, run_dir: Path, resume: bool) -> None:
    """``train`` with its wall time, thread count and the machine's load
    recorded in ``run_dir/timing.json``, rewritten every 30 s so that a killed
    run keeps what it measured."""
    timing_path = run_dir / "timing.json"
    timing = _read_json(timing_path, {"segments": []})
    seg = {"seconds": 0.0, "torch_threads": None, "resumed": resume, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
           "finished": False}
    timing["segments"].append(seg)
    t0 = time.perf_counter()

    def record(mon):
        seg.update(seconds=time.perf_counter() - t0, torch_threads=torch.get_num_threads(),
                   load_avg_1min=mon.summary(), last_update=time.strftime("%Y-%m-%d %H:%M:%S"))
        timing["wall_seconds"] = sum(s["seconds"] for s in timing["segments"])
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_json(timing_path, timing)

    with LoadMonitor(on_sample=record) as mon:
        train(cfg, run_dir, resume=resume)
    seg["finished"] = True
    record(mon)


def _done(run_dir: Path, cfg) -> bool:
    last = run_dir / "last.pt"
    return last.is_file() and load_checkpoint(last, ("step",))["step"] >= cfg["train"]["steps"]


def phase_train(args, cfgs):
    run_dir = args.out / "mini"
    if _done(run_dir, cfgs["mini"]):
        print(f"train: {run_dir} complete")
        return
    _timed_train(cfgs["mini"], run_dir, resume=(run_dir / "last.pt").is_file())


def phase_ablation(args, cfgs):
    for name in ABLATIONS:
        if name in args.runs:
            _ablation(args, cfgs, name)


def _ablation(args, cfgs, name):
    cfg, src = cfgs[name], args.out / "mini"
    run_dir = args.out / name
    if _done(run_dir, cfg):
        print(f"ablation: {run_dir} complete")
        return
    if not (run_dir / "last.pt").is_file():
        branch = src / "stage1.pt"
        s1 = cfgs["mini"]["train"]["stage1_steps"]
        while not branch.is_file():
            if args.wait <= 0:
                raise SystemExit(f"ablation: {branch} not written yet (the main run reaches step {s1} first)")
            print(f"ablation: waiting for {branch} (step {s1} of the main run)")
            time.sleep(args.wait)
        state = load_checkpoint(branch, ("model", "ema", "opt", "step", "config"))
        if config_hash(state["config"]) != config_hash(cfgs["mini"]):
            raise SystemExit(f"ablation: {branch} is from another config than {args.config}")
        run_dir.mkdir(parents=True, exist_ok=True)
        state["config"], state["config_hash"] = cfg, config_hash(cfg)
        for f in sorted(src.glob("ema_*.pt")):  # the shared stage-1 snapshots
            if int(f.stem[4:]) <= state["step"]:
                snap = load_checkpoint(f, ("ema", "step"))
                snap["config"], snap["config_hash"] = cfg, config_hash(cfg)
                save_atomic(snap, run_dir / f.name)
        if (src / "log.csv").is_file():
            rows = (src / "log.csv").read_text().splitlines()
            keep = [rows[0]] + [r for r in rows[1:] if int(r.split(",")[0]) <= state["step"]]
            (run_dir / "log.csv").write_text("\n".join(keep) + "\n")
        (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        save_atomic(state, run_dir / "last.pt")
        print(f"ablation: branched from {branch} at step {state['step']}")
    _timed_train(cfg, run_dir, resume=True)


# ----------------------------------------------------------------- scoring
def eval_sets(args, size: int) -> dict:
    test = split_windows(args.data, "brca_ds_test.txt", size)
    train_w = split_windows(args.data, "brca_ds_train.txt", size)
    return {"windows": test, "real": read_back(test), "train_windows": train_w}


def _row(scores: dict, **extra) -> dict:
    return {**extra, **scores}


def phase_score(args, cfgs):
    scores_path = args.out / "scores.json"
    rows = _read_json(scores_path, {})
    size = cfgs["mini"]["model"]["image_size"]
    sets = eval_sets(args, size)
    real, windows = sets["real"], sets["windows"]
    kw = dict(protocols=("grid", "paper"), n_jobs=args.jobs, seed=0)
    refs = {
        "random (matched counts)": lambda: random_set(windows, seed=0),
        "real vs real (train windows)": lambda: real_vs_real_set(windows, sets["train_windows"], seed=0),
        # not asked for, but it says how small "close to real" is at this size
        "jitter 4 px (matched counts)": lambda: read_back([perturb(w, "jitter", sigma=4.0, seed=0) for w in windows],
                                                           3, "_gen"),
    }
    for name, make in refs.items():
        if name not in rows:
            t0 = time.perf_counter()
            rows[name] = _row(score(real, make(), **kw), kind="reference", score_seconds=time.perf_counter() - t0)
            _write_json(scores_path, rows)
    rows["average counts"] = _row(average_count_row(real), kind="reference")
    _write_json(scores_path, rows)
    steps = args.eval_steps
    s1 = cfgs["mini"]["train"]["stage1_steps"]
    for run in args.runs:
        for step in steps:
            key = f"{run}@{step}"
            # stage-1 checkpoints are shared by both runs: score them once
            if run != "mini" and step <= s1:
                continue
            if key in rows:
                continue
            ckpt = args.out / run / f"ema_{step:07d}.pt"
            while not ckpt.is_file() and args.wait > 0:
                print(f"score: waiting for {ckpt}", flush=True)
                time.sleep(args.wait)
            if not ckpt.is_file():
                print(f"score: {ckpt} not there yet; skipped")
                continue
            torch.set_num_threads(args.threads or torch.get_num_threads())
            model, diffusion, cfg = load_generator(ckpt, torch.device("cpu"))
            # the untrained network draws ~700 "cells" per class and window, whose Rips
            # diagrams take ~9 s per layout: step 0 is scored on an evenly spread subset
            win, rl = windows, real
            if step == 0 and args.step0_windows < len(windows):
                win, rl = evenly(windows, args.step0_windows), evenly(real, args.step0_windows)
            t0 = time.perf_counter()
            with LoadMonitor() as mon:
                synth = synthesize(model, diffusion, cfg, win, steps=args.ddim or cfg["sample"]["steps"],
                                   sampler="ddim", batch_size=cfg["sample"]["batch_size"], seed=0, progress=True)
            t_sample = time.perf_counter() - t0
            t0 = time.perf_counter()
            # Rips diagrams of clouds far larger than real ones cost minutes per layout (mini@0,
            # ~680 cells per class: 2,099 s on 50 windows): such a checkpoint is scored on an evenly
            # spread subset and without the paper protocol, and the table says so
            ratio = (np.array([l.counts for l in synth]).sum(1).mean()
                     / max(np.array([l.counts for l in rl]).sum(1).mean(), 1.0))
            skipped = []
            if ratio > args.cells_cap and step != 0:
                skipped.append("paper")
                if ratio > 3 * args.cells_cap and args.step0_windows < len(synth):
                    win, rl, synth = (evenly(x, args.step0_windows) for x in (win, rl, synth))
            sc = score(rl, synth, **(dict(kw, protocols=("grid",)) if skipped else kw))
            gen_counts = np.array([l.counts for l in synth])
            rows[key] = _row(sc, kind="checkpoint", run=run, step=step, checkpoint=str(ckpt), n_windows=len(win),
                             cells_vs_real=float(ratio), skipped_protocols=skipped,
                             sample_seconds=t_sample, score_seconds=time.perf_counter() - t0,
                             torch_threads=torch.get_num_threads(), load_avg_1min=mon.summary(),
                             generated_cells_mean=gen_counts.mean(0).tolist(),
                             condition_total_corr=float(np.corrcoef(np.array([w.counts for w in win]).sum(1),
                                                                    gen_counts.sum(1))[0, 1])
                             if gen_counts.sum(1).std() > 0 else None)
            _write_json(scores_path, rows)
            print(f"score: {key}: TCE {sc['tce']:.2f}  TopoFD grid {sc['topofd_grid']:.2f}  "
                  f"paper {sc['topofd_paper']:.2f}  MMD {sc['mmd']:.4f}")
    meta = {"n_windows": len(windows), "window": size, "n_train_windows": len(sets["train_windows"]),
            "real_cells_mean": np.array([l.counts for l in real]).mean(0).tolist()}
    _write_json(args.out / "eval_meta.json", meta)


# ------------------------------------------------------------------ report
def _fmt(v, f="{:.2f}"):
    return "" if v is None else f.format(v)


def _se(r, k):
    se = r.get(f"{k}_se")
    return f" ± {se:.2f}" if se is not None else ""


def phase_report(args, cfgs):
    rows = _read_json(args.out / "scores.json", {})
    meta = _read_json(args.out / "eval_meta.json", {})
    if not rows:
        raise SystemExit(f"report: no scores in {args.out}; run --phase score first")
    res = Path(args.results)
    res.mkdir(parents=True, exist_ok=True)
    classes = cfgs["mini"]["data"]["classes"]
    s1 = cfgs["mini"]["train"]["stage1_steps"]

    def curve(run):
        pts = [r for r in rows.values() if r.get("kind") == "checkpoint"
               and (r["run"] == run or (r["run"] == "mini" and r["step"] <= s1))]
        return sorted(pts, key=lambda r: r["step"])

    timing = {run: _read_json(args.out / run / "timing.json", {}) for run in RUNS}
    head = ("| row | step | TCE | CCE " + "/".join(classes) + " | TopoFD grid | TopoFD paper | MMD |\n"
            "|---|---:|---:|---:|---:|---:|---:|")
    lines = []

    def line(name, step, r):
        cce = "/".join(_fmt(r["cce"].get(c)) for c in classes)
        if r.get("n_windows") and r["n_windows"] != meta.get("n_windows"):
            name += f" ({r['n_windows']} windows)"
        paper = (f"not scored ({r['cells_vs_real']:.0f} x the real cells)" if "paper" in r.get("skipped_protocols", [])
                 else f"{_fmt(r.get('topofd_paper'))}{_se(r, 'topofd_paper')}")
        lines.append(f"| {name} | {step} | {_fmt(r.get('tce'))}{_se(r, 'tce')} | {cce} | "
                     f"{_fmt(r.get('topofd_grid'))}{_se(r, 'topofd_grid')} | {paper} | "
                     f"{_fmt(r.get('mmd'), '{:.4f}')} |")

    for run in RUNS:
        for r in curve(run):
            if run != "mini" and r["step"] <= s1:
                continue
            line(f"{run}" + (" (shared stage 1)" if r["step"] <= s1 else ""), r["step"], r)
    for name in ("random (matched counts)", "average counts", "real vs real (train windows)",
                 "jitter 4 px (matched counts)"):
        if name in rows:
            line(name, "", rows[name])
    cfg = cfgs["mini"]
    tc = cfg["train"]
    final = {run: (curve(run) or [None])[-1] for run in RUNS}
    verdict = []
    fin = final["mini"]
    rnd, avg = rows.get("random (matched counts)"), rows.get("average counts")
    if fin and rnd and avg and fin["step"] == tc["steps"]:
        verdict.append(f"final mini checkpoint (step {fin['step']}): TopoFD-grid {fin['topofd_grid']:.2f} vs "
                       f"matched-count random {rnd['topofd_grid']:.2f} -> "
                       f"{'beats' if fin['topofd_grid'] < rnd['topofd_grid'] else 'does not beat'} random; "
                       f"TCE {fin['tce']:.2f} vs average counts {avg['tce']:.2f} -> "
                       f"{'beats' if fin['tce'] < avg['tce'] else 'does not beat'} the average-count baseline")
    cmd_lines = _read_json(args.out / "commands.json", [])
    md = [
        "# Learning curve of the `mini` generator (issue 11)",
        "",
        f"`mini` config (hash `{config_hash(cfg)}`): {cfg['model']['image_size']} x {cfg['model']['image_size']} "
        f"windows, {tc['steps']} steps (stage 2 with the topological losses from step {tc['stage1_steps']}), "
        f"batch {tc['batch_size']}, lr {tc['lr']}, EMA {tc['ema_rate']}.  Scored on all {meta.get('n_windows')} "
        f"non-overlapping {meta.get('window')} x {meta.get('window')} windows of the 30 BRCA-M2C test images, one "
        f"layout per window conditioned on its counts, DDIM-{args.ddim or cfg['sample']['steps']}, seed 0; "
        "`topofd.compare` (uncertainties: topofd's standard errors).",
        "",
        head, *lines, "",
        *(f"**{v}**" for v in verdict), "",
        "Training wall time (this shared 2-core CPU; load average = the machine's 1-minute load, sampled every 30 s):",
        "",
    ]
    for run in RUNS:
        t = timing.get(run) or {}
        segs = t.get("segments", [])
        if segs:
            loads = [s["load_avg_1min"]["mean"] for s in segs]
            secs = [s["seconds"] for s in segs]
            md.append(f"* `{run}`: {t['wall_seconds'] / 60:.1f} min in {len(segs)} segment(s) ("
                      + ", ".join(f"{x / 60:.1f} min at load {l:.1f}" for x, l in zip(secs, loads))
                      + f"), torch threads {sorted({s['torch_threads'] for s in segs})}, time-weighted mean load "
                      f"average {np.average(loads, weights=secs):.1f}"
                      + (" (branched from the main run at the end of stage 1: only stage 2 trained here)"
                         if run != "mini" else ""))
    md += ["", "Commands that produced these results:", "", "```bash", *cmd_lines, "```", ""]
    (res / "learning_curve.md").write_text("\n".join(md))
    _write_json(res / "learning_curve.json", {"config": cfg, "config_hash": config_hash(cfg), "rows": rows,
                                               "eval": meta, "timing": timing, "commands": cmd_lines,
                                               "verdict": verdict})
    _plot(res / "learning_curve.png", {run: curve(run) for run in RUNS}, rows, s1)
    print("\n".join(md))


def _plot(path, curves, rows, s1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("tce", "TCE"), ("topofd_grid", "TopoFD (grid)"), ("topofd_paper", "TopoFD (paper)"), ("mmd", "MMD")]
    refs = [("random (matched counts)", "tab:red", "--"), ("average counts", "tab:orange", ":"),
            ("real vs real (train windows)", "tab:green", "-."), ("jitter 4 px (matched counts)", "tab:grey", ":")]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for ax, (k, title) in zip(axes, panels):
        for run, style in (("mini", "o-"), ("stage1_only", "s--"), ("no_topo", "^:")):
            pts = [r for r in curves[run] if r.get(k) is not None]
            if pts:
                ax.errorbar([r["step"] for r in pts], [r[k] for r in pts],
                            yerr=[r.get(f"{k}_se") or 0 for r in pts], fmt=style, capsize=2, ms=4,
                            label=LABELS[run])
        for name, color, ls in refs:
            if name in rows and rows[name].get(k) is not None:
                ax.axhline(rows[name][k], color=color, ls=ls, lw=1, label=name)
        ax.axvline(s1, color="grey", lw=0.6)
        ax.set_title(title)
        ax.set_xlabel("training step")
        ax.set_yscale("log")  # step 0 is 2-3 orders of magnitude above the rest on every metric
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# -------------------------------------------------------------------- ship
def phase_ship(args, cfgs):
    cfg = cfgs["mini"]
    steps = cfg["train"]["steps"]
    src = args.out / "mini" / f"ema_{steps:07d}.pt"
    state = load_checkpoint(src, ("ema", "config", "step"))
    dest = ROOT / "generator" / "checkpoints" / "mini.pt"
    dest.parent.mkdir(exist_ok=True)
    shipped_cfg = copy.deepcopy(state["config"])
    shipped_cfg["data"]["root"] = "../shared/datasets/brca-m2c"  # as in the bundled config, not this machine's path
    shipped_cfg["train"].pop("threads", None)
    state = {"ema": {k: v.contiguous() for k, v in state["ema"].items()}, "config": shipped_cfg,
             "config_hash": config_hash(shipped_cfg), "step": state["step"]}
    save_atomic(state, dest)
    rows = _read_json(args.out / "scores.json", {})
    timing = _read_json(args.out / "mini" / "timing.json", {})
    cmds = _read_json(args.out / "commands.json", [])
    rec = {
        "config": "mini", "config_hash": config_hash(shipped_cfg), "step": state["step"],
        "sha256": file_digest(dest), "bytes": dest.stat().st_size,
        "parameters": int(sum(v.numel() for v in state["ema"].values())),
        "weights": "EMA, float32",
        # the commands that trained these weights; the scoring and ablation ones are in all_commands
        "training_commands": [c for c in cmds if "--phase train" in c or "--phase all" in c or "--phase" not in c],
        "all_commands": cmds,
        "training_wall_seconds": timing.get("wall_seconds"),
        "torch_threads": sorted({s["torch_threads"] for s in timing.get("segments", [])}),
        "torch": torch.__version__,
        "scores": {k: rows.get(k) for k in (f"mini@{steps}", "random (matched counts)", "average counts",
                                            "real vs real (train windows)")},
        "data": "BRCA-M2C train split (80 images)",
    }
    _write_json(dest.with_suffix(".json"), rec)
    print(f"ship: {dest} ({rec['bytes'] / 2**20:.2f} MiB, sha256 {rec['sha256']}, config {rec['config_hash']})")


def run(args):
    """The benchmark, given the options of :func:`main`."""
    if not (args.data / "brca_ds_train.txt").is_file():
        raise SystemExit(f"{args.data}: not a BRCA-M2C folder (brca_ds_train.txt missing); pass --data")
    cfgs = configs(args)
    if args.threads is None and cfgs["mini"]["train"].get("threads"):
        args.threads = cfgs["mini"]["train"]["threads"]
    if args.eval_steps is None:
        # thirds of stage 1, its end, the middle and the end of stage 2
        s1, n = cfgs["mini"]["train"]["stage1_steps"], cfgs["mini"]["train"]["steps"]
        args.eval_steps = sorted({0, s1 // 3, 2 * s1 // 3, s1, s1 + (n - s1) // 2, n})
    args.out.mkdir(parents=True, exist_ok=True)
    cmds = _read_json(args.out / "commands.json", [])
    cmd = "python -m benchmarks.generator_learning " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if cmd not in cmds:
        _write_json(args.out / "commands.json", cmds + [cmd])
    phases = ["train", "ablation", "score", "report"] if args.phase == "all" else [args.phase]
    for ph in phases:
        globals()[f"phase_{ph}"](args, cfgs)


def _runs(ctx, param, value):
    runs = [r.strip() for r in value.split(",") if r.strip()]
    bad = [r for r in runs if r not in RUNS]
    if bad:
        raise click.BadParameter(f"unknown run(s) {', '.join(bad)}; choose from {', '.join(RUNS)}")
    return runs


def _steps(ctx, param, value):
    if value is None:
        return None
    try:
        return [int(x) for x in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of steps") from None


@click.command(help=__doc__, context_settings={"max_content_width": 100})
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/learning"), show_default=True,
              help="work folder (runs, samples, scores)")
@click.option("--config", default="mini", show_default=True)
@click.option("--data", type=click.Path(path_type=Path), default=SHARED, show_default=True)
@click.option("--phase", type=click.Choice(["all", "train", "ablation", "score", "report", "ship"]), default="all",
              show_default=True)
@click.option("--runs", default=",".join(RUNS), show_default=True, callback=_runs,
              help="comma-separated runs the score phase covers")
@click.option("--eval-steps", default=None, callback=_steps,
              help="comma-separated checkpoint steps to score (default: 0, thirds of stage 1, "
                   "middle and end of stage 2)")
@click.option("--ddim", type=int, default=None, help="DDIM steps (default: sample.steps)")
@click.option("--jobs", type=int, default=1, show_default=True, help="topofd worker processes")
@click.option("--step0-windows", type=int, default=50, show_default=True,
              help="windows the untrained step-0 checkpoint is scored on")
@click.option("--cells-cap", type=float, default=3.0, show_default=True,
              help="score without the paper protocol a checkpoint whose layouts have more than CAP x the real "
                   "cells (and on --step0-windows windows above 3 x CAP)")
@click.option("--threads", type=int, default=None, help="torch threads (default: train.threads, else torch's)")
@click.option("--wait", type=float, default=0, show_default=True,
              help="ablation / score: poll every WAIT s for the branch point / checkpoints not written yet")
@click.option("--results", default=str(RESULTS / "generator"), show_default=True)
def main(**options):
    run(SimpleNamespace(**options))


if __name__ == "__main__":
    main()

"""Training of the count-conditioned diffusion model (TopoCellGen Sec. 3-4).

Stage 1 (``step < train.stage1_steps``): the improved-DDPM hybrid loss
L_simple + lambda L_vlb.  Stage 2 adds the topological losses of Eq. 7,
``lambda_count L_count + lambda_intra L_intra + lambda_inter L_inter``,
computed on the clipped Eq. 2 estimate of x0 (``.losses.topo_losses``).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import signal
import time
from pathlib import Path

import torch
import torch.distributed as dist
import yaml

from topofd.storage.atomic import atomic_write

from . import build
from .data import LayoutCrops

__all__ = ["compute_losses", "train", "resolve_device", "save_atomic", "config_hash", "load_checkpoint", "TOPO_TERMS"]

TOPO_TERMS = ("count", "intra", "inter")
LOG_COLUMNS = ("step", "loss", "mse", "vb") + TOPO_TERMS + ("sec_per_step",)


def resolve_device(spec: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU; asking for CUDA without one is an error."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"train.device is {spec!r} but no CUDA device is available (set device: cpu or auto)")
    return torch.device(spec)


# what only sets how long a run goes on, where it runs or how often it writes:
# changing it never makes a checkpoint belong to another model
_RUN_KEYS = ("steps", "save_every", "log_every", "device", "threads")


def config_hash(cfg: dict) -> str:
    """Short SHA-256 of what determines a run's weights: the config without
    its ``sample`` section, the data's location (``data.root``) and the
    run-length and bookkeeping keys (``train.steps``, ``save_every``,
    ``log_every``, ``device``, ``threads``): two configs with the same hash
    train the same model the same way on the same split."""
    c = copy.deepcopy(cfg)
    c.pop("sample", None)
    c.get("data", {}).pop("root", None)
    for k in _RUN_KEYS:
        c.get("train", {}).pop(k, None)
    return hashlib.sha256(json.dumps(c, sort_keys=True).encode()).hexdigest()[:16]


def load_checkpoint(path, keys=("config",)) -> dict:
    """A checkpoint written by :func:`train` (tensors and plain data only, no
    code is unpickled); ``ValueError`` naming the file when it is unreadable,
    truncated or lacks ``keys``, or when its config does not match its hash."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a torn or foreign file
        raise ValueError(f"{path}: not a readable generator checkpoint ({e.__class__.__name__})") from None
    if not isinstance(state, dict) or any(k not in state for k in keys) or not isinstance(state.get("config"), dict):
        raise ValueError(f"{path}: not a generator checkpoint (expected keys {', '.join(keys)})")
    stored = state.get("config_hash")
    if stored is not None and stored != config_hash(state["config"]):
        raise ValueError(f"{path}: corrupted (its config does not match its recorded config hash {stored})")
    return state


def compute_losses(model, diffusion, x0, counts, cfg: dict, step: int, noise=None, t=None) -> dict:
    """Loss terms of one batch: ``loss`` (what is backpropagated), ``mse``, ``vb``
    and, in stage 2, each topological term whose lambda is > 0 (unweighted)."""
    if t is None:
        t = torch.randint(0, diffusion.num_timesteps, (x0.shape[0],), device=x0.device)
    terms = diffusion.training_losses(model, x0, t, counts, noise)
    out = {"loss": terms["loss"], "mse": terms["mse"], "vb": terms["vb"]}
    lam = cfg["losses"]
    if step >= cfg["train"]["stage1_steps"] and any(lam.get(f"lambda_{k}", 0) > 0 for k in TOPO_TERMS):
        from .losses import topo_losses

        # persistent-homology losses in full precision even under bf16 autocast
        with torch.autocast(device_type=x0.device.type, enabled=False):
            xs = diffusion.pred_xstart_from_eps(terms["x_t"], t, terms["eps"])
            # clamp forward, identity backward: a plain clamp would zero the
            # gradient of every pixel predicted outside [-1, 1] (e.g. a confident
            # spurious cell), exactly the pixels the topological losses must move
            x0_pred = xs + (xs.clamp(-1, 1) - xs).detach()
            for k, v in topo_losses(x0_pred, x0, lam).items():
                out[k] = v
                out["loss"] = out["loss"] + lam[f"lambda_{k}"] * v
    return out


def save_atomic(obj, path: Path) -> None:
    """Write to a temporary file and rename, so a kill never leaves a torn checkpoint."""
    atomic_write(path, lambda fh: torch.save(obj, fh))


def _gather(obj, world: int) -> list:
    if world == 1:
        return [obj]
    out = [None] * world
    dist.all_gather_object(out, obj)
    return out


def _trim_log(path: Path, step: int) -> None:
    # rows written after the checkpoint we resume from are redone
    if path.is_file():
        with open(path, newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= step]
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, LOG_COLUMNS)
            w.writeheader()
            w.writerows(rows)


def train(cfg: dict, out_dir, *, resume: bool = False, max_seconds: float | None = None) -> Path:
    """Train per ``cfg`` into ``out_dir`` (``config.yaml``, ``last.pt`` with the
    full state, ``ema_<step>.pt`` snapshots from step 0 on, ``stage1.pt`` with
    the full state at the end of stage 1, ``log.csv``); returns ``last.pt``.

    ``max_seconds``: stop (and save) once this much wall time has passed in
    this call; ``--resume`` continues.  ``train.threads`` (optional): torch's
    intra-op thread count.  ``train.stage2_lr`` (optional): the learning rate
    from ``stage1_steps`` on (default ``train.lr`` throughout).  Under ``torchrun`` (``WORLD_SIZE`` > 1) each
    process trains with ``train.batch_size`` samples through
    DistributedDataParallel.
    """
    t_start = time.perf_counter()
    tc, out = cfg["train"], Path(out_dir)
    if not isinstance(tc.get("steps"), int) or isinstance(tc["steps"], bool) or tc["steps"] < 1:
        raise ValueError(f"train.steps must be a positive integer, got {tc.get('steps')!r}")
    if len(cfg["data"]["classes"]) != cfg["model"]["num_classes"]:
        raise ValueError(
            f"data.classes has {len(cfg['data']['classes'])} names but model.num_classes is "
            f"{cfg['model']['num_classes']}"
        )
    if cfg["data"]["crop"] != cfg["model"]["image_size"]:
        raise ValueError(
            f"data.crop ({cfg['data']['crop']}) must equal model.image_size ({cfg['model']['image_size']})"
        )
    last = out / "last.pt"
    if resume and not last.is_file():
        raise ValueError(f"{last}: no checkpoint to resume from")
    if not resume and last.is_file():
        raise ValueError(f"{out} already holds a run; pass --resume or choose another --out")
    state = load_checkpoint(last, ("model", "ema", "opt", "step", "config")) if resume else None
    if state is not None and config_hash(state["config"]) != config_hash(cfg):
        raise ValueError(
            f"{last}: trained with another config (hash {config_hash(state['config'])}, this one "
            f"{config_hash(cfg)}); resume with {out / 'config.yaml'} or choose another --out"
        )
    if tc.get("threads"):
        torch.set_num_threads(int(tc["threads"]))
    device = resolve_device(tc["device"])
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = 0
    if world > 1:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        rank = dist.get_rank()
    data = LayoutCrops.from_config(cfg["data"], seed=tc["seed"] + rank)
    torch.manual_seed(tc["seed"] + rank)
    model, diffusion = build(cfg)
    model.to(device)
    ema = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=tc["lr"], weight_decay=tc["weight_decay"])
    step = 0
    if resume:
        if len(state["data_rng"]) != world:
            raise ValueError(f"{last}: saved with {len(state['data_rng'])} processes, resumed with {world}")
        try:
            model.load_state_dict(state["model"])
            ema.load_state_dict(state["ema"])
            opt.load_state_dict(state["opt"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise ValueError(
                f"{last}: its weights do not fit the model of its config ({e.__class__.__name__})"
            ) from None
        step = state["step"]
        data.set_state(state["data_rng"][rank])
        torch.set_rng_state(state["torch_rng"][rank])
        if device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"][rank], device)
    net = (
        torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        if world > 1
        else model
    )
    bf16 = bool(tc["bf16"]) and device.type == "cuda"
    total = tc["steps"]

    writer = None
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        _trim_log(out / "log.csv", step)
        try:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(out / "tb"))
        except ImportError:  # TensorBoard is optional
            pass

    chash = config_hash(cfg)

    def save(full=True):
        snap = {
            "model": model.state_dict(),
            "ema": ema.state_dict(),
            "opt": opt.state_dict(),
            "step": step,
            "config": cfg,
            "config_hash": chash,
            "data_rng": _gather(data.state(), world),
            "torch_rng": _gather(torch.get_rng_state(), world),
            "cuda_rng": _gather(torch.cuda.get_rng_state(device).cpu() if device.type == "cuda" else None, world),
        }
        if rank == 0:
            if full:
                save_atomic(snap, last)
            if step == tc["stage1_steps"] and 0 < step < total:
                # a branch point: an ablation that changes only stage 2 resumes from here
                save_atomic(snap, out / "stage1.pt")
            save_atomic(
                {"ema": snap["ema"], "config": cfg, "config_hash": chash, "step": step}, out / f"ema_{step:07d}.pt"
            )

    stop = []
    handlers = {s: signal.signal(s, lambda *_: stop.append(1)) for s in (signal.SIGINT, signal.SIGTERM)}
    from tqdm.auto import tqdm

    if step == 0 and not resume:
        save(full=False)  # the untrained EMA weights: the step-0 point of a learning curve
    bar = tqdm(total=total, initial=step, disable=rank != 0, desc="train")
    sums, n_sum, t0 = {}, 0, time.perf_counter()
    try:
        while step < total:
            x0, counts = (torch.from_numpy(a).to(device, non_blocking=True) for a in data.batch(tc["batch_size"]))
            lr = tc["lr"] if step < tc["stage1_steps"] else tc.get("stage2_lr") or tc["lr"]
            for group in opt.param_groups:
                group["lr"] = lr
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
                terms = compute_losses(net, diffusion, x0, counts, cfg, step)
            opt.zero_grad(set_to_none=True)
            terms["loss"].backward()
            opt.step()
            with torch.no_grad():
                for pe, p in zip(ema.parameters(), model.parameters()):
                    pe.lerp_(p, 1 - tc["ema_rate"])
            step += 1
            bar.update()
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v.detach().float()
            n_sum += 1
            if rank == 0 and (step % tc["log_every"] == 0 or step == total):
                row = {k: f"{float(v) / n_sum:.6g}" for k, v in sums.items()}
                row.update(step=step, sec_per_step=f"{(time.perf_counter() - t0) / n_sum:.4g}")
                log = out / "log.csv"
                new = not log.is_file()
                with open(log, "a", newline="") as fh:
                    w = csv.DictWriter(fh, LOG_COLUMNS)
                    if new:
                        w.writeheader()
                    w.writerow(row)
                if writer is not None:
                    for k, v in sums.items():
                        writer.add_scalar(f"loss/{k}", float(v) / n_sum, step)
                bar.set_postfix(loss=row["loss"])
                sums, n_sum, t0 = {}, 0, time.perf_counter()
            stopping = bool(stop) or (max_seconds is not None and time.perf_counter() - t_start >= max_seconds)
            if world > 1:
                flag = torch.tensor(float(stopping), device=device)
                dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                stopping = bool(flag.item())
            if step % tc["save_every"] == 0 or step in (total, tc["stage1_steps"]) or stopping:
                save()
            if stopping:
                if rank == 0:
                    bar.write(f"{'interrupted' if stop else 'time limit'}: saved {last} at step {step}")
                break
    finally:
        bar.close()
        for s, h in handlers.items():
            signal.signal(s, h)
        if writer is not None:
            writer.close()
        if world > 1:
            dist.destroy_process_group()
    return last

"""``topocellgen``: train the TopoCellGen generator and sample layouts from it.

Errors are one line on stderr (``topocellgen: error: ...``), exit status 1
(set ``TOPOFD_DEBUG=1`` for a traceback).
"""
from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import click
import numpy as np

from .config import load_config


class GenError(click.ClickException):
    def show(self, file=None):
        click.echo(f"topocellgen: error: {self.format_message()}", err=True)


def _errors(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        if importlib.util.find_spec("torch") is None:
            raise GenError("the generator needs torch: pip install 'topofd[generator]'")
        try:
            return f(*args, **kwargs)
        except (ValueError, OSError) as e:
            if os.environ.get("TOPOFD_DEBUG"):
                raise
            raise GenError(" ".join(str(e).split()) or e.__class__.__name__) from None

    return wrapper


@click.group()
def main():
    """TopoCellGen: count-conditioned diffusion generator of multi-class cell layouts."""


@main.command()
@click.option("--config", "config", help="YAML file or bundled config name (brca_m2c, tiny); "
                                          "with --resume defaults to RUN_DIR/config.yaml.")
@click.option("--out", "out", type=click.Path(file_okay=False), help="Run folder (default: runs/<config name>).")
@click.option("--steps", type=click.IntRange(min=1), help="Total training steps (overrides train.steps).")
@click.option("--resume", is_flag=True, help="Continue from RUN_DIR/last.pt.")
@_errors
def train(config, out, steps, resume):
    """Train (stage 1, then stage 2 with the topological losses) into a run folder."""
    from .train import train as run

    if config is None:
        if not (resume and out):
            raise GenError("--config is required (or --resume with --out RUN_DIR)")
        config = str(Path(out) / "config.yaml")
    cfg = load_config(config)
    if steps:
        cfg["train"]["steps"] = steps
    out = out or str(Path("runs") / Path(config).stem)
    last = run(cfg, out, resume=resume)
    click.echo(f"checkpoint: {last}")


@main.command()
@click.option("--ckpt", required=True, type=click.Path(exists=True, dir_okay=False), help="last.pt or ema_*.pt.")
@click.option("--counts-from", type=click.Path(exists=True), help="Folder of real layouts to condition on.")
@click.option("--counts", "counts_csv", type=click.Path(exists=True, dir_okay=False),
              help="CSV 'name,<class 1>,...,<class C>' instead of --counts-from.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--steps", type=click.IntRange(min=1), help="Sampling steps (default: sample.steps).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Default: sample.batch_size.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--sampler", type=click.Choice(["ddim", "ancestral"]), help="Default: sample.sampler.")
@click.option("--device", default="auto", show_default=True)
@_errors
def sample(ckpt, counts_from, counts_csv, out, steps, batch_size, seed, sampler, device):
    """One layout per condition: OUT/<name>_gen.npy, OUT/meta/ (previews, counts.json)."""
    from .sample import sample_folder

    rec = sample_folder(ckpt, out, counts_from=counts_from, counts_csv=counts_csv, steps=steps,
                        batch_size=batch_size, seed=seed, device=device, sampler=sampler)
    rows = list(rec["layouts"].values())
    err = np.abs(np.array([r["generated"] for r in rows]) - np.array([r["condition"] for r in rows])).mean(0)
    click.echo(f"{len(rows)} layouts in {out}; mean |generated - condition| count per class: "
               + ", ".join(f"{c}={e:.2f}" for c, e in zip(rec["classes"], err)))


if __name__ == "__main__":
    main()

"""``topocellgen``: train the TopoCellGen generator and sample layouts from it.

Errors are one line on stderr (``topocellgen: error: ...``), exit status 1
(set ``TOPOFD_DEBUG=1`` for a traceback).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import click
import numpy as np

from topofd.cli.common import CliError, data_errors

from .config import load_config


def _errors(f):
    """topofd's error wrapper (:func:`topofd.cli.common.data_errors`), after
    checking that torch is installed."""

    @data_errors
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        if importlib.util.find_spec("torch") is None:
            raise CliError("the generator needs torch: pip install 'topofd[generator]'")
        return f(*args, **kwargs)

    return wrapper


def _positive(ctx, param, value):
    # a one-line error like every other, rather than click's usage block
    if value is not None and value < 1:
        raise CliError(f"--{param.name.replace('_', '-')} must be a positive integer, got {value}")
    return value


@click.group(name="topocellgen")
def main():
    """TopoCellGen: count-conditioned diffusion generator of multi-class cell layouts."""


@main.command()
@click.option(
    "--config",
    "config",
    help="YAML file or bundled config name (brca_m2c, small, mini, tiny); "
    "with --resume defaults to RUN_DIR/config.yaml.",
)
@click.option("--out", "out", type=click.Path(file_okay=False), help="Run folder (default: runs/<config name>).")
@click.option("--steps", type=int, callback=_positive, help="Total training steps (overrides train.steps).")
@click.option("--resume", is_flag=True, help="Continue from RUN_DIR/last.pt.")
@_errors
def train(config, out, steps, resume):
    """Train (stage 1, then stage 2 with the topological losses) into a run folder."""
    from .train import train as run

    if config is None:
        if not (resume and out):
            raise CliError("--config is required (or --resume with --out RUN_DIR)")
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
@click.option(
    "--counts",
    "counts_csv",
    type=click.Path(exists=True, dir_okay=False),
    help="CSV 'name,<class 1>,...,<class C>' instead of --counts-from.",
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--steps", type=int, callback=_positive, help="Sampling steps (default: sample.steps).")
@click.option("--batch-size", type=int, callback=_positive, help="Default: sample.batch_size.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--sampler", type=click.Choice(["ddim", "ancestral"]), help="Default: sample.sampler.")
@click.option("--device", default="auto", show_default=True)
@_errors
def sample(ckpt, counts_from, counts_csv, out, steps, batch_size, seed, sampler, device):
    """One layout per condition: OUT/<name>_gen.npy, OUT/meta/ (previews, counts.json).

    An OUT that already holds layouts of this same run (checkpoint, seed,
    steps, sampler) is completed; one holding any other layouts is refused.
    """
    from .sample import sample_folder

    rec = sample_folder(
        ckpt,
        out,
        counts_from=counts_from,
        counts_csv=counts_csv,
        steps=steps,
        batch_size=batch_size,
        seed=seed,
        device=device,
        sampler=sampler,
    )
    rows = list(rec["layouts"].values())
    err = np.abs(np.array([r["generated"] for r in rows]) - np.array([r["condition"] for r in rows])).mean(0)
    click.echo(
        f"{len(rows)} layouts in {out}; mean |generated - condition| count per class: "
        + ", ".join(f"{c}={e:.2f}" for c, e in zip(rec["classes"], err))
    )


@main.command()
@click.option(
    "--n",
    "n",
    type=int,
    default=24,
    show_default=True,
    callback=_positive,
    help="Test windows to condition on (spread evenly over the bundled test split).",
)
@click.option("--steps", type=int, callback=_positive, help="DDIM steps (default: the checkpoint's sample.steps).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--ckpt", type=click.Path(exists=True, dir_okay=False), help="Default: the shipped mini checkpoint.")
@click.option("--protocol", type=click.Choice(["grid", "paper", "both"]), default="both", show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Also write OUT/real/*.npy and OUT/synth/*_gen.npy (refused if OUT already holds layouts).",
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the scores as JSON.")
# one thread by default: on the shared 2-core CPU (load average 4-5) the demo
# sampled its 24 layouts in 262 s with torch's 2 threads and in 88 s with one
# (OpenMP workers waiting on each other); --threads 2 pays off on a free machine
@click.option("--threads", type=int, default=1, show_default=True, callback=_positive, help="torch threads.")
@click.option("--device", default="cpu", show_default=True)
@_errors
def demo(n, steps, seed, ckpt, protocol, out, json_path, threads, device):
    """Sample N layouts from the shipped checkpoint, conditioned on the counts of
    bundled BRCA-M2C test windows, and print their topofd scores beside the
    matched-count random and average-count baselines (offline)."""
    from .demo import format_demo, run_demo

    protocols = ("grid", "paper") if protocol == "both" else (protocol,)
    res = run_demo(
        ckpt=ckpt,
        n=n,
        steps=steps,
        seed=seed,
        protocols=protocols,
        out=out,
        json_path=json_path,
        threads=threads,
        device=device,
    )
    click.echo(format_demo(res))


if __name__ == "__main__":
    main()

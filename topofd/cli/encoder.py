"""``topofd train-encoder``: a layout encoder for FID and KID, trained on any dataset."""

from __future__ import annotations

from pathlib import Path

import click

from topofd.cli.common import CliError, data_errors, options_from, quiet_option, table_options, warn_skipped
from topofd.option_spec import SEED_MAX
from topofd.storage.atomic import check_writable_file

__all__ = ["train_encoder_command"]


@click.command("train-encoder")
@click.argument("train_dir", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Encoder file (.pt; record: .json)."
)
@click.option(
    "--objective",
    type=click.Choice(["supervised", "contrastive"]),
    default="supervised",
    show_default=True,
    help="supervised: regress multi-scale class counts and neighbour counts; contrastive: SimCLR over "
    "flips, rotations, shifts and 1 px jitter (topofd.encoders.train; compared in benchmarks/README.md).",
)
@click.option("--epochs", type=click.IntRange(min=1), default=5, show_default=True, help="Passes over the layouts.")
@click.option("--batch", type=click.IntRange(min=2), default=64, show_default=True, help="Layouts per step.")
@click.option(
    "--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True, help="Seed of the weights and batches."
)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads (default: torch's).")
@table_options("train-encoder")
@quiet_option
@data_errors
def train_encoder_command(train_dir, out, objective, epochs, batch, seed, threads, quiet, **kw):
    """Train a layout encoder on the layouts of TRAIN_DIR (the generator's
    training split, never the test set) and write it to OUT as TorchScript,
    with OUT.json (command, training-data hash, sha256, config); use it with
    `topofd compare --metrics fid --extractor OUT`.  Objective and network:
    topofd.encoders.train.  An interrupted run resumes from OUT.ckpt."""
    try:
        import torch
    except ImportError:
        raise CliError("train-encoder needs torch: pip install 'topofd[fid]'") from None
    from topofd.encoders.train import train_encoder
    from topofd.layouts.sets import read_layouts

    if threads:
        torch.set_num_threads(threads)
    from topofd.options import DEFAULTS

    given = {k: v for k, v in kw.items() if k in DEFAULTS and v not in (None, False, DEFAULTS[k])}
    command = (
        f"{click.get_current_context().command_path} {train_dir} --out {out} --objective {objective} "
        f"--epochs {epochs} --batch {batch} "
        f"--seed {seed}" + "".join(f" --{k.replace('_', '-')} {v}" for k, v in given.items())
    )
    layouts, skipped = read_layouts(train_dir, **options_from(kw).reader_kwargs())
    warn_skipped(skipped)
    if len(layouts) < batch:
        raise CliError(f"{train_dir}: {len(layouts)} layouts, fewer than one batch ({batch})")
    missing = [l.name for l in layouts if l.shape is None]
    if missing:
        raise CliError(f"{missing[0]}: no canvas size in this format; pass --canvas HxW")
    if len({l.n_classes for l in layouts}) > 1:
        raise CliError(f"{train_dir}: layouts with different numbers of classes")
    if not any(l.counts.sum() for l in layouts):
        raise CliError(f"{train_dir}: all {len(layouts)} layouts are empty (no cell): nothing to learn from")
    out.parent.mkdir(parents=True, exist_ok=True)
    for f in (out, out.with_suffix(".json"), out.with_suffix(out.suffix + ".ckpt")):
        check_writable_file(f, "the encoder")  # before training, not after the first epoch
    log = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    rec = train_encoder(
        [l.points for l in layouts],
        [l.shape for l in layouts],
        out,
        objective=objective,
        epochs=epochs,
        batch=batch,
        seed=seed,
        command=command,
        log=log,
    )
    click.echo(f"wrote {out} (sha256 {rec['sha256'][:12]}, {rec['train_layouts']} layouts, {rec['train_seconds']} s)")

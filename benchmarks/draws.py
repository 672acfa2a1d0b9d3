"""Build and store the synthetic sets the validity, calibration and
sample-size benchmarks score (phase 1: the expensive part).

Each set (:mod:`families`) is built, rasterised and read back, its H1
diagrams computed, and stored as ``<out>/<tag>.npz`` (names, counts, layout
keys, diagrams; see :func:`families.save_set`).  Existing files are kept, so
an interrupted run resumes where it stopped.

Usage::

    python -m benchmarks.draws --out /tmp/topofd_draws --jobs 2 \
        [--calibration-draws 30] [--family-draws 4] [--families jitter,replace,...]
"""
from __future__ import annotations

import time
from pathlib import Path

import click

from benchmarks.common import SHARED, tag_of
from benchmarks.families import FAMILIES, GENERATORS, save_set, set_path, synthetic_set, test_windows, train_windows
from topofd.diagrams import compute_diagrams


def ensure(out: Path, tag: str, build, jobs: int) -> bool:
    p = set_path(out, tag)
    if p.exists():
        return False
    t = time.perf_counter()
    layouts = build()
    dg, keys = compute_diagrams(layouts, n_jobs=jobs)
    save_set(p, layouts, dg, keys)
    click.echo(f"{tag}: {len(layouts)} layouts, {time.perf_counter() - t:.1f} s", err=True)
    return True


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--jobs", type=int, default=2, show_default=True)
@click.option("--calibration-draws", type=int, default=30, show_default=True)
@click.option("--family-draws", type=int, default=4, show_default=True)
@click.option("--families", default=",".join(FAMILIES), show_default=True)
@click.option("--train/--no-train", default=True, show_default=True,
              help="Also the train-split windows (memorisation).")
def main(out, jobs, calibration_draws, family_draws, families, train):
    out.mkdir(parents=True, exist_ok=True)
    real = test_windows()
    ensure(out, "real", lambda: list(real), jobs)
    if train and SHARED.is_dir():
        ensure(out, "train", lambda: train_windows(len(real)), jobs)
    for d in range(calibration_draws):
        for fam, s in GENERATORS.values():
            ensure(out, tag_of(fam, s, d), lambda fam=fam, s=s, d=d: synthetic_set(real, fam, s, d), jobs)
    for fam in [f.strip() for f in families.split(",") if f.strip()]:
        for d in range(family_draws):
            for s in FAMILIES[fam]:
                ensure(out, tag_of(fam, s, d), lambda fam=fam, s=s, d=d: synthetic_set(real, fam, s, d), jobs)


if __name__ == "__main__":
    main()

"""``topofd patches``, ``topofd baseline`` and ``topofd demo``: the
BRCA-M2C patch protocol and matched-count reference sets."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from topofd.cli.common import (
    CliError,
    check_outputs,
    data_errors,
    jobs_option,
    options_from,
    output_options,
    progress_wanted,
    quiet_option,
    table_options,
    warn,
    warn_skipped,
    write_outputs,
)
from topofd.option_spec import SEED_MAX
from topofd.options import parse_list
from topofd.output.report import format_report
from topofd.storage.atomic import atomic_save_npy, check_writable_dir

__all__ = ["patches", "baseline", "demo", "check_out_folder"]

DEMO_MMD_SAMPLES = 100

out_folder_option = click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder (created)."
)
cell_option = click.option(
    "--cell",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Side of the square drawn around each cell centre.",
)


def check_out_folder(out_dir: Path, *inputs: Path) -> None:
    """Refuse an output folder that is (or lies inside) an input folder, or
    that already holds layout files: a second run must not mix its files
    into a real set or into an earlier run's."""
    from topofd.layouts.sets import READERS

    out = Path(os.path.realpath(out_dir))
    for p in inputs:
        src = Path(os.path.realpath(p))
        if out == src or src in out.parents:
            raise CliError(f"{out_dir}: --out is the input folder {p} (or inside it); choose another folder")
    if out.is_dir():
        suffixes = {s for m in READERS.values() for s in m.SUFFIXES}
        held = [f for f in out.iterdir() if f.suffix.lower() in suffixes and not f.name.startswith(".")]
        if held:
            raise CliError(
                f"{out_dir}: already holds {len(held)} layout file(s) (e.g. {held[0].name}); choose an "
                "empty or new folder"
            )


# ---------------------------------------------------------------- patches
@click.command()
@click.argument("labels_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--sizes",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Table 'image height width [split]' (tab separated, header line) giving each image's size.",
)
@click.option(
    "--split",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Image file names, one per line (default: every label file in LABELS_DIR).",
)
@out_folder_option
@click.option("--size", type=click.IntRange(min=1), default=256, show_default=True, help="Window side, pixels.")
@click.option("--stride", type=click.IntRange(min=1), default=32, show_default=True, help="Window stride, pixels.")
@cell_option
@click.option(
    "--classes",
    default="lym,epi,stro",
    show_default=True,
    metavar="A,B,...",
    help="Class names; their number bounds the 1-based CLASS values.",
)
@jobs_option(1, "Worker threads (-1: one per core); the files do not depend on it.")
@quiet_option
@data_errors
def patches(labels_dir, sizes, split, out_dir, size, stride, cell, classes, jobs, quiet):
    """Cut BRCA-M2C label files into the paper's sliding-window patches.

    Each image (LABELS_DIR/<image>_gt_class_coords.txt, 'Y X CLASS' lines)
    is cut into SIZE x SIZE windows every STRIDE pixels from (0, 0), keeping
    windows that fit; each window is written as OUT/<image>_rNNNNN_cNNNNN.npy,
    a (SIZE, SIZE, C) uint8 array with 1 on a CELL x CELL square around each
    cell inside it. On the BRCA-M2C test split this gives 1,550 patches.

    \b
    Example (the bundled test split):
      topofd patches labels/ --sizes image_sizes.tsv --split brca_ds_test.txt --out real/
    """
    from topofd.layouts.brca_m2c import label_file
    from topofd.layouts.patches import read_sizes, read_split

    classes = parse_list(classes, "--classes")
    size_of = read_sizes(sizes)
    if split is not None:
        stems = read_split(split)
        if not stems:
            raise CliError(f"{split}: no image names")
    else:
        from topofd.layouts.readers.brca import image_stem

        stems = sorted(image_stem(p) for p in labels_dir.glob("*.txt"))
        if not stems:
            raise CliError(f"{labels_dir}: no .txt label files")
    jobs_list = []
    for s in stems:
        if s not in size_of:
            raise CliError(f"{sizes}: no size for image {s!r}")
        jobs_list.append((label_file(labels_dir, s), size_of[s]))
    check_writable_dir(out_dir, "--out")
    out_dir.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    bar = tqdm(total=len(jobs_list), desc="patches", unit="image", disable=not progress_wanted(quiet))
    n = 0
    for count in _map(
        _write_image_patches, [(lp, shp, out_dir, classes, size, stride, cell) for lp, shp in jobs_list], jobs
    ):
        n += count
        bar.update()
    bar.close()
    click.echo(f"wrote {n} patches from {len(jobs_list)} images to {out_dir}")


def _write_image_patches(label_path, shape, out_dir, classes, size, stride, cell) -> int:
    from topofd.layouts.brca_m2c import image_patches

    n = 0
    for name, arr in image_patches(label_path, shape, classes, size, stride, cell):
        atomic_save_npy(out_dir / f"{name}.npy", arr)
        n += 1
    return n


def _map(fn, arg_tuples, jobs):
    """``fn(*args)`` for each tuple, in order; ``jobs`` threads when ``jobs != 1``.

    Threads, not processes: the work is rasterising and writing arrays, where
    numpy and file I/O release the GIL, and a thread pool starts instantly.
    """
    if jobs == 1 or len(arg_tuples) <= 1:
        return (fn(*a) for a in arg_tuples)
    from joblib import Parallel, delayed

    return Parallel(n_jobs=jobs, prefer="threads", return_as="generator")(delayed(fn)(*a) for a in arg_tuples)


# --------------------------------------------------------------- baseline
@click.command()
@click.argument("kind", type=click.Choice(("random", "jitter", "shuffle")))
@click.argument("real_dir", type=click.Path(exists=True, path_type=Path))
@out_folder_option
@click.option(
    "--sigma",
    type=click.FloatRange(min=0),
    default=4.0,
    show_default=True,
    help="jitter: standard deviation of the displacement, pixels.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, SEED_MAX),
    default=0,
    show_default=True,
    help="Seed; each layout's generator is derived from (seed, its name).",
)
@cell_option
@table_options("baseline")
@jobs_option(1, "Worker threads (-1: one per core); the files do not depend on it.")
@quiet_option
@data_errors
def baseline(kind, real_dir, out_dir, sigma, seed, cell, jobs, quiet, **kw):
    """Write a synthetic reference set with the real set's cell counts.

    \b
    KIND:
      random   every cell re-placed at random pixels, the cells of a class
               at least CELL+1 px apart so that none merge when drawn
      jitter   every cell moved by rounded Gaussian noise (--sigma), kept on the canvas
      shuffle  class labels permuted among the cells of each layout

    Reads every layout of REAL_DIR and writes OUT/<name>_gen.npy, a (H, W, C)
    uint8 array, so `topofd compare REAL_DIR OUT` pairs them by prefix.
    Layouts need a canvas size (--canvas for point formats). random keeps
    every layout's per-class counts in the files; jitter and shuffle keep
    them on the points, and a warning says how many cells merged when drawn.
    """
    from topofd.layouts.sets import read_layouts

    reader = options_from(kw).reader_kwargs()
    check_out_folder(out_dir, real_dir)
    layouts, skipped = read_layouts(real_dir, **reader)
    warn_skipped(skipped)
    if not layouts:
        raise CliError(f"{real_dir}: no readable layouts")
    missing = [l.name for l in layouts if l.shape is None]
    if missing:
        raise CliError(f"{missing[0]}: no canvas size in this format; pass --canvas HxW")
    check_writable_dir(out_dir, "--out")
    out_dir.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    # a few large chunks per worker: per-layout tasks would cost more in pickling than in work
    workers = 1 if jobs == 1 else (jobs if jobs > 0 else os.cpu_count() or 1)
    n_chunks = 1 if workers == 1 else 4 * workers
    chunks = [layouts[i::n_chunks] for i in range(n_chunks)]
    bar = tqdm(total=len(layouts), desc=f"{kind} baseline", unit="layout", disable=not progress_wanted(quiet))
    lost_layouts = lost_cells = 0
    for n, nl, nc in _map(_write_baselines, [(c, kind, sigma, seed, cell, out_dir) for c in chunks if c], jobs):
        bar.update(n)
        lost_layouts += nl
        lost_cells += nc
    bar.close()
    if lost_cells:
        warn(
            f"{kind}: {lost_cells} cells of {lost_layouts} layouts touch another cell of their class when drawn as "
            f"{cell}x{cell} squares, so those files read back with fewer cells than the real layouts"
        )
    click.echo(f"wrote {len(layouts)} {kind} layouts to {out_dir}")


def _write_baselines(layouts, kind, sigma, seed, cell, out_dir) -> tuple[int, int, int]:
    """Write the baselines of ``layouts``; ``(written, layouts that lose
    cells when read back, cells lost)``."""
    from topofd.layouts.brca_m2c import baseline_array
    from topofd.layouts.layout import Layout

    lost_layouts = lost_cells = 0
    for lay in layouts:
        arr = baseline_array(lay, kind, sigma=sigma, seed=seed, cell=cell)
        lost = int(lay.counts.sum() - Layout.from_array(arr).counts.sum())
        lost_layouts += lost > 0
        lost_cells += lost
        atomic_save_npy(out_dir / f"{lay.name}_gen.npy", arr)
    return len(layouts), lost_layouts, lost_cells


# -------------------------------------------------------------------- demo
@click.command()
@click.option(
    "--n-patches",
    type=click.IntRange(min=2),
    metavar="N",
    help="Use an evenly spread subset of N patches (default: all 1,550).",
)
@click.option(
    "--mmd-samples",
    type=click.IntRange(min=2),
    default=DEMO_MMD_SAMPLES,
    show_default=True,
    help="Layouts per set drawn for the MMD estimate (keeps the demo under a minute).",
)
@click.option(
    "--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True, help="Seed of the baseline and sampling."
)
@jobs_option(-1, "Worker processes (-1: all cores); the numbers do not depend on it.")
@output_options("json", "plots", "html")
@quiet_option
@data_errors
def demo(n_patches, mmd_samples, seed, jobs, json_path, plots_dir, html_path, quiet):
    """Run the full comparison on the bundled BRCA-M2C test split.

    Cuts the 30 bundled test images (BRCA-M2C, BSD-3-Clause, Abousamra et al.
    2021) into the paper's 1,550 patches, builds the matched-count random
    baseline of each, and scores the baseline against the real patches with
    every metric. Equivalent to `topofd patches` + `topofd baseline random`
    + `topofd compare`, built in memory instead of on disk.
    """
    from topofd.api import compare as run_compare
    from topofd.layouts.brca_m2c import demo_sets

    check_outputs(json_path=json_path, html_path=html_path, plots_dir=plots_dir)
    t0 = time.perf_counter()
    progress = progress_wanted(quiet)
    real, synth = demo_sets(n_patches, seed=seed, progress=progress, n_jobs=jobs)
    t_data = time.perf_counter() - t0
    mmd_n = min(mmd_samples, len(real))
    report = run_compare(
        real, synth, protocol="paper", pairing="prefix", n_jobs=jobs, seed=seed, mmd_samples=mmd_n, progress=progress
    )
    elapsed = time.perf_counter() - t0
    click.echo(
        f"topofd demo: {len(real)} real BRCA-M2C test patches (256x256, stride 32) vs "
        f"{len(synth)} random-placement layouts with the same per-class counts"
    )
    click.echo(f"(MMD estimated on {mmd_n} layouts drawn per set; data built in {t_data:.1f} s)\n")
    click.echo(format_report(report, elapsed))
    click.echo(
        "\nThe random baseline keeps each patch's counts but not its spatial structure: a useful "
        "generator should score below it on TopoFD and MMD."
    )
    sys.stdout.flush()
    for p in write_outputs(report, json_path, None, plots_dir, html_path):
        click.echo(f"wrote {p}", err=True)

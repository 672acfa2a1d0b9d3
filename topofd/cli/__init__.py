"""``topofd``: the command line over :func:`topofd.compare`.

Exit status: 0 on success, 1 for a data error (unreadable or corrupt file,
empty folder, no pairs, class mismatch, unwritable output), 2 for a usage
error (unknown option or value, missing argument, nonexistent path).  Errors
are one line on stderr (``topofd: error: ...``), without a traceback (set
``TOPOFD_DEBUG=1`` to get one).  Output files are written under a temporary
name and renamed, so an interrupted or failed run leaves none half-written.
"""
from __future__ import annotations

import functools
import json
import math
import os
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from topofd.version import __version__
from topofd.errors import DataError, data_errors, one_line
from topofd.storage.atomic import _check_writable_dir, _check_writable_file, atomic_save_npy, atomic_write_bytes  # noqa: F401
from topofd.output.report import format_report, format_table  # noqa: F401  (re-exported: the CLI prints them)

from topofd.evaluator import METRICS  # noqa: E402  (one list of metric names)
PROTOCOLS = ("paper", "grid")
DEMO_MMD_SAMPLES = 100


# --------------------------------------------------------------- plumbing
def _one_line(e: BaseException) -> str:  # kept for callers of the old name
    return one_line(e)


def _warn(msg: str) -> None:
    click.echo(f"topofd: warning: {msg}", err=True)


def _progress(quiet: bool) -> bool:
    # bars only for a person watching: never in logs, pipes or CI
    return not quiet and sys.stderr.isatty()


def _jobs(ctx, param, value):
    if value == 0:
        raise click.BadParameter("0 workers; use 1 (serial), N, or -1 (all cores)")
    return value


def _csv_list(value, param_name, allowed=None) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = tuple(s.strip() for s in value.split(",") if s.strip())
    if not items:
        raise click.BadParameter("empty list", param_hint=param_name)
    if len(set(items)) != len(items):
        raise click.BadParameter(f"repeated entry in {value!r}", param_hint=param_name)
    if allowed is not None:
        bad = [s for s in items if s not in allowed]
        if bad:
            raise click.BadParameter(f"unknown {', '.join(bad)}; choose from {', '.join(allowed)}",
                                     param_hint=param_name)
    return items


def _canvas(value) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        h, w = (int(s) for s in value.lower().replace("×", "x").split("x"))
        if h <= 0 or w <= 0:
            raise ValueError
    except ValueError:
        raise click.BadParameter(f"{value!r} is not HEIGHTxWIDTH (e.g. 256x256)", param_hint="--canvas") from None
    return h, w


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (Path, tuple, set)):
        return str(o) if isinstance(o, Path) else list(o)
    return str(o)


def _nan_to_none(o):
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _nan_to_none(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_nan_to_none(v) for v in o]
    return o


# ------------------------------------------------------------- reporting
def _warn_skipped(items) -> None:
    """Unreadable files (--skip-bad) listed one by one; files that are not
    layouts (a README, a report) summed up in one line."""
    from topofd.layouts.sets import Skipped

    bad = [x for x in items if not isinstance(x, Skipped) or x.unreadable]
    other = [x for x in items if isinstance(x, Skipped) and not x.unreadable]
    if other:
        names = ", ".join(Path(x.path).name for x in other[:5]) + (", ..." if len(other) > 5 else "")
        _warn(f"skipped {len(other)} file(s) that are not layouts: {names}")
    if bad:
        _warn(f"skipped {len(bad)} unreadable file(s):")
        for x in bad:
            click.echo(f"  {x}", err=True)


def _report_skipped(report) -> None:
    skipped = (getattr(report, "meta", {}) or {}).get("skipped") or []
    _warn_skipped([x for v in skipped.values() for x in v] if isinstance(skipped, dict) else list(skipped))


def write_outputs(report, json_path=None, csv_path=None, plots_dir=None, html_path=None) -> list[Path]:
    written = []
    if json_path is not None:
        d = _nan_to_none(json.loads(json.dumps(report.to_dict(), default=_json_default)))
        atomic_write_bytes(json_path, (json.dumps(d, indent=2) + "\n").encode())
        written.append(json_path)
    if csv_path is not None:
        atomic_write_bytes(csv_path, report.table.to_csv(index_label="class").encode())
        written.append(csv_path)
    if plots_dir is not None:
        written.extend(_write_plots_atomically(report, Path(plots_dir)))
    if html_path is not None:
        from topofd.output.html import report_html

        atomic_write_bytes(html_path, report_html(report).encode("utf-8"))
        written.append(html_path)
    return written


def _write_plots_atomically(report, plots_dir: Path) -> list[Path]:
    """Figures drawn into a temporary folder beside ``plots_dir``, then moved
    in: an interrupted run leaves no partial set of figures."""
    import shutil

    from topofd.output.plots import write_plots

    parent = plots_dir.parent if str(plots_dir.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{plots_dir.name}.", dir=parent))
    try:
        drawn = write_plots(report, tmp)
        plots_dir.mkdir(parents=True, exist_ok=True)
        out = []
        for f in drawn:
            os.replace(f, plots_dir / f.name)
            out.append(plots_dir / f.name)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ group
@click.group(name="topofd", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="topofd")
def cli():
    """Topological evaluation of generated multi-class cell layouts.

    \b
    topofd compare REAL SYNTH     score a synthetic set against a real one (value ± se)
    topofd stats REAL --out F     precompute a real set once (a .topofd reference file)
    topofd refs                   named reference sets shipped with topofd
    topofd patches LABELS ...     the paper's 256x256 / stride-32 patch protocol
    topofd baseline KIND REAL     matched-count reference sets (random/jitter/shuffle)
    topofd demo                   the whole thing on the bundled BRCA-M2C test split
    topofd leaderboard R.json...  rank compare reports in the paper's Table 1 layout

    Run `topofd COMMAND --help` for a command's options.
    """


# ---------------------------------------------------------------- compare
def _reader_options(colors, x_col, y_col, class_col, canvas, channels, threshold, instances=None) -> dict:
    """The ``read_layouts`` options of the reader flags.  ``instances``: the
    ``--instances`` flag; ``None`` takes it from the command's context, where
    :func:`reader_options` keeps it (so commands need no parameter for it)."""
    opts = {}
    if colors is not None:
        from topofd.layouts.readers.png import parse_colors

        try:
            parse_colors(colors)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--colors") from None
        opts["colors"] = colors
    for k, v, d in (("x_col", x_col, "x"), ("y_col", y_col, "y"), ("class_col", class_col, "class")):
        if v != d:
            opts[k] = v
    if canvas is not None:
        opts["shape"] = canvas
    if channels != "auto":
        opts["channels"] = channels
    if instances is None:
        ctx = click.get_current_context(silent=True)
        instances = bool(ctx is not None and ctx.meta.get("topofd.instances"))
    if instances and threshold is not None:
        raise click.BadParameter("instance ids are not grey levels: use --instances or --threshold, not both",
                                 param_hint="--instances")
    if instances:
        opts["labels"] = "instance"
    if threshold is not None:
        opts["threshold"] = threshold
    return opts


def _keep_instances(ctx, param, value):
    ctx.meta["topofd.instances"] = value
    return value


def reader_options(f):
    """Options of the file readers, shared by the commands that read layouts."""
    opts = [
        click.option("--format", "fmt", type=click.Choice(("auto", "npy", "png", "csv", "txt", "geojson", "mat")),
                     default="auto", show_default=True,
                     help="Layout file format; auto picks by suffix: .npy/.npz arrays, .png colour-coded, "
                          ".csv/.tsv point tables, .txt BRCA-M2C labels, .geojson/.json QuPath, .mat Lizard/CoNSeP. "
                          "Files that are not layouts (README.txt, report.json, ...) are skipped and listed."),
        click.option("--classes", metavar="A,B,...",
                     help="Class names in channel / label order (default: the format's own, e.g. class1..classC "
                          "for arrays, lym,epi,stro for BRCA-M2C .txt). Needed when one set names its classes in "
                          "its files (.csv, .geojson) and the other only numbers them (.npy, .png)."),
        click.option("--colors", metavar="NAME=#RRGGBB,...",
                     help="PNG class colours, 'name=colour' pairs or bare colours in class order. "
                          "Default: red, green, blue (then yellow, magenta, cyan, orange, violet)."),
        click.option("--x-col", default="x", show_default=True, help="Point tables: column of x (horizontal)."),
        click.option("--y-col", default="y", show_default=True, help="Point tables: column of y (vertical)."),
        click.option("--class-col", default="class", show_default=True,
                     help="Point tables: column of the class (names, or integers 1..C)."),
        click.option("--canvas", metavar="HxW",
                     help="Canvas size for formats that do not store one (.csv, .txt, .geojson); cells outside "
                          "it are an error."),
        click.option("--channels", type=click.Choice(("auto", "last", "first")), default="auto", show_default=True,
                     help="Arrays: (H, W, C) 'last' or (C, H, W) 'first'; auto uses the smaller axis."),
        click.option("--threshold", type=float,
                     help="Arrays: foreground is value > THRESHOLD (grey-level or probability maps). Without it "
                          "every channel must be a mask: one non-zero value (0/1, 0/255, bool)."),
        click.option("--instances", is_flag=True, expose_value=False, callback=_keep_instances,
                     help="Arrays: integer channels are instance-label maps, each positive id one cell "
                          "(without it, a channel with several non-zero values is an error)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _real_source(value: str) -> str:
    """REAL of ``compare``: a folder or file, a ``.topofd`` reference file or
    a named reference set."""
    from topofd.storage.reference import NAMED

    if value in NAMED or Path(value).exists():
        return value
    hint = f"; named reference sets: {', '.join(NAMED)}" if ":" in value else ""
    raise click.BadParameter(f"{value!r}: no such file or folder{hint}", param_hint="REAL")


def uncertainty_options(f):
    """Options of the intervals, shared by compare and demo."""
    opts = [
        click.option("--no-se", "no_se", is_flag=True,
                     help="No standard errors or intervals (they are on by default: see --help of compare)."),
        click.option("--se-groups", type=click.IntRange(min=2), default=20, show_default=True, metavar="G",
                     help="Jackknife groups for the intervals of grid TopoFD and MMD."),
        click.option("--paper-se-splits", type=click.IntRange(min=0), default=3, show_default=True, metavar="B",
                     help="Split halves for the interval of paper TopoFD (each costs about one more synthetic "
                          "barycenter per class; 0: no interval)."),
        click.option("--extrapolate", is_flag=True,
                     help="Also report TopoFD∞, the value extrapolated to infinitely many layouts (fit against 1/n "
                          "on nested subsets; paper protocol: 16 more barycenters per class, no interval)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


@cli.command()
@click.argument("real", callback=lambda ctx, param, v: _real_source(v), metavar="REAL")
@click.argument("synth", type=click.Path(exists=True, path_type=Path))
@click.option("--metrics", default=None, metavar="LIST",
              help="Comma-separated metrics: topofd (Fréchet distance of persistence landscapes, under "
                   "--protocol), topokd (the recommended kernel distance of landscapes, protocol-free), "
                   "mmd (kernel MMD of persistence diagrams), counts (CCE per class, TCE).  [default: all; "
                   "counts are skipped with a note when no names pair]")
@click.option("--protocol", type=click.Choice(PROTOCOLS), default="paper", show_default=True,
              help="paper: the published evaluation; grid: one landscape sampling shared by every diagram.")
@click.option("--pairing", type=click.Choice(("prefix", "none")), default="prefix", show_default=True,
              help="prefix: a synthetic file pairs with the real file whose name is the longest prefix of its "
                   "own (X <-> X_gen), needed for counts; none: compare the sets as unpaired samples.")
@reader_options
@click.option("--jobs", "-j", type=click.IntRange(min=-1), default=1, show_default=True, callback=_jobs,
              help="Worker processes (-1: all cores).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the full report (table with se/lo/hi, metadata) as JSON.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the table (with se/lo/hi columns) as CSV.")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write PNG figures per class: barycenter diagrams, mean landscapes, count scatter (paired).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a one-file HTML report: table, figures and provenance, viewable offline.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Cache persistence diagrams here, keyed by file contents and protocol, so the real set is "
                   "computed once across runs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for every random choice.")
@uncertainty_options
@click.option("--mmd-sigma", type=click.FloatRange(min=0, min_open=True),
              help="MMD kernel bandwidth (default: the protocol's per-class choice, printed under the table).")
@click.option("--mmd-samples", type=click.IntRange(min=2), metavar="N",
              help="Estimate MMD on N randomly drawn layouts per set (faster on large sets).")
@click.option("--permutations", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="MMD permutation test with N permutations (p-values in the table).")
@click.option("--skip-bad", is_flag=True, help="Skip unreadable files with a warning instead of stopping.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run the per-patch work on a Dask distributed cluster at ADDRESS (needs topofd[dask]; every "
                   "worker needs topofd installed). Results are the same as on one machine.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@data_errors
def compare(real, synth, metrics, protocol, pairing, fmt, classes, colors, x_col, y_col, class_col, canvas,
            channels, threshold, jobs, json_path, csv_path, plots_dir, html_path, cache_dir, seed, no_se, se_groups,
            paper_se_splits, extrapolate, mmd_sigma, mmd_samples, permutations, skip_bad, scheduler, quiet):
    """Score the synthetic layouts in SYNTH against the real ones in REAL.

    REAL is a folder of layout files (or a single file), a reference file
    made by `topofd stats` (*.topofd), or a named reference set (`topofd
    refs` lists them, e.g. brca-m2c:test); SYNTH is a folder or file.
    Prints one table, a row per class and the mean: TopoFD, MMD, CCE per
    class and TCE, each as value ± standard error, with the protocol, how
    each interval was computed, file counts and elapsed time under it.

    The standard error describes another draw of the synthetic set from the
    same generator, real set fixed: delete-a-group jackknife (grid TopoFD,
    MMD), split halves (paper TopoFD), analytic (count errors); 95 %
    intervals (t) are in --json and --csv.  Each set is put in file-name
    order; the paper protocol's barycenter starts from the first file.

    \b
    Example:
      topofd compare real/ synth/ --json report.json --plots figs/
      topofd compare brca-m2c:test synth/
    """
    if metrics is not None:
        metrics = _csv_list(metrics, "--metrics", METRICS)
        if metrics == ("counts",) and pairing == "none":
            raise click.BadParameter("count errors compare paired layouts; use --pairing prefix",
                                     param_hint="--pairing")
    classes = _csv_list(classes, "--classes")
    opts = _reader_options(colors, x_col, y_col, class_col, _canvas(canvas), channels, threshold)
    _check_outputs(json_path=json_path, csv_path=csv_path, html_path=html_path, plots_dir=plots_dir)
    if plots_dir is not None and metrics is not None and "topofd" not in metrics:
        _warn("--plots draws the TopoFD barycenters and landscapes; add topofd to --metrics to get them")
    from topofd.api import compare as run_compare

    t0 = time.perf_counter()
    backend = contextlib.nullcontext()
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise click.UsageError("--scheduler needs the dask extra: pip install 'topofd[dask]'") from None
        import joblib

        try:
            client = Client(scheduler, timeout=30)
        except (OSError, TimeoutError) as e:
            raise DataError(f"{scheduler}: cannot reach the Dask scheduler ({e.__class__.__name__})") from None
        backend = joblib.parallel_backend("dask")
        # map_chunks only fans out when n_jobs > 1: one chunk set per worker thread
        jobs = max(jobs, sum(client.nthreads().values()), 2)
    with backend:
        report = run_compare(
            real, str(synth), metrics=metrics, protocol=protocol, classes=classes, pairing=pairing, format=fmt,
            n_jobs=jobs, seed=seed, cache_dir=None if cache_dir is None else str(cache_dir),
            uncertainty=not no_se, se_groups=se_groups, paper_se_splits=paper_se_splits, extrapolate=extrapolate,
            mmd_sigma=mmd_sigma, mmd_samples=mmd_samples, permutations=permutations, skip_bad=skip_bad,
            progress=_progress(quiet), reader_options=opts or None,
        )
    elapsed = time.perf_counter() - t0
    _report_skipped(report)
    click.echo(format_report(report, elapsed))
    sys.stdout.flush()  # the table before the 'wrote' lines when both streams share a terminal
    for p in write_outputs(report, json_path, csv_path, plots_dir, html_path):
        click.echo(f"wrote {p}", err=True)


def _check_outputs(**paths) -> None:
    """Every output path writable and no two the same, before any computation."""
    files = {k: v for k, v in paths.items() if k != "plots_dir" and v is not None}
    for k, p in files.items():
        _check_writable_file(p, "--" + k[:-5])
    seen = {}
    for k, p in files.items():
        r = Path(os.path.realpath(p))
        if r in seen:
            raise click.BadParameter(f"--{k[:-5]} and --{seen[r][:-5]} name the same file", param_hint=f"--{k[:-5]}")
        seen[r] = k
    _check_writable_dir(paths.get("plots_dir"), "--plots")


# ------------------------------------------------------------ references
@cli.command()
@click.argument("real", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Reference file to write (suffix .topofd).")
@reader_options
@click.option("--complex", "complex_", type=click.Choice(("rips", "alpha")), default="rips", show_default=True,
              help="Filtration of the diagrams (compare must use the same).")
@click.option("--no-paper-stats", is_flag=True,
              help="Store diagrams and counts only (paper barycenters are then computed at compare time).")
@click.option("--name", default="", help="A name recorded in the file.")
@click.option("--jobs", "-j", type=click.IntRange(min=-1), default=1, show_default=True, callback=_jobs,
              help="Worker processes (-1: all cores).")
@click.option("--skip-bad", is_flag=True, help="Skip unreadable files with a warning instead of stopping.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@data_errors
def stats(real, out_path, fmt, classes, colors, x_col, y_col, class_col, canvas, channels, threshold, complex_,
          no_paper_stats, name, jobs, skip_bad, quiet):
    """Precompute a real set once: diagrams, counts and paper statistics.

    Writes a reference file that `topofd compare REF.topofd SYNTH/` (and
    `Evaluator.load_reference`) uses instead of REAL, with the same numbers
    as recomputing. The file holds plain arrays and a content hash; loading
    it never runs code.

    \b
    Example:
      topofd stats real/ --out real.topofd && topofd compare real.topofd synth/
    """
    from topofd.evaluator import Evaluator
    from topofd.layouts.sets import read_layouts
    from topofd.storage.reference import SUFFIX, make_reference

    if out_path.suffix.lower() != SUFFIX:
        raise click.BadParameter(f"{out_path}: the reference file name must end in {SUFFIX}", param_hint="--out")
    _check_writable_file(out_path, "--out")
    opts = _reader_options(colors, x_col, y_col, class_col, _canvas(canvas), channels, threshold)
    layouts, skipped = read_layouts(real, format=fmt, classes=_csv_list(classes, "--classes"), skip_bad=skip_bad,
                                    **opts)
    _warn_skipped(skipped)
    if not layouts:
        raise DataError(f"{real}: no readable layouts")
    ev = Evaluator(("topofd",), complex=complex_, n_jobs=jobs, progress=_progress(quiet))
    ev.update(layouts, real=True)
    meta = make_reference(ev, out_path, name=name, source=str(real), paper_stats=not no_paper_stats)
    click.echo(f"wrote {out_path}: {meta['n']} layouts, classes {', '.join(meta['classes'])}, "
               f"complex {meta['complex']}" + (", paper statistics" if meta["paper_stats"] else ""))


@cli.command()
def refs():
    """List the named reference sets shipped with topofd (usable as REAL)."""
    from topofd.storage.reference import names

    for n, d in names().items():
        click.echo(f"{n}\t{d}")


# ---------------------------------------------------------------- patches
@cli.command()
@click.argument("labels_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--sizes", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Table 'image height width [split]' (tab separated, header line) giving each image's size.")
@click.option("--split", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Image file names, one per line (default: every label file in LABELS_DIR).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (created).")
@click.option("--size", type=click.IntRange(min=1), default=256, show_default=True, help="Window side, pixels.")
@click.option("--stride", type=click.IntRange(min=1), default=32, show_default=True, help="Window stride, pixels.")
@click.option("--cell", type=click.IntRange(min=1), default=3, show_default=True,
              help="Side of the square drawn around each cell centre.")
@click.option("--classes", default="lym,epi,stro", show_default=True, metavar="A,B,...",
              help="Class names; their number bounds the 1-based CLASS values.")
@click.option("--jobs", "-j", type=click.IntRange(min=-1), default=1, show_default=True, callback=_jobs,
              help="Worker threads (-1: one per core); the files do not depend on it.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
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

    classes = _csv_list(classes, "--classes")
    size_of = read_sizes(sizes)
    if split is not None:
        stems = read_split(split)
        if not stems:
            raise DataError(f"{split}: no image names")
    else:
        from topofd.layouts.readers.brca import image_stem

        stems = sorted(image_stem(p) for p in labels_dir.glob("*.txt"))
        if not stems:
            raise DataError(f"{labels_dir}: no .txt label files")
    jobs_list = []
    for s in stems:
        if s not in size_of:
            raise DataError(f"{sizes}: no size for image {s!r}")
        jobs_list.append((label_file(labels_dir, s), size_of[s]))
    _check_writable_dir(out_dir, "--out")
    out_dir.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    bar = tqdm(total=len(jobs_list), desc="patches", unit="image", disable=not _progress(quiet))
    n = 0
    for count in _map(_write_image_patches, [(lp, shp, out_dir, classes, size, stride, cell) for lp, shp in jobs_list],
                      jobs):
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
@cli.command()
@click.argument("kind", type=click.Choice(("random", "jitter", "shuffle")))
@click.argument("real_dir", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (created).")
@click.option("--sigma", type=click.FloatRange(min=0), default=4.0, show_default=True,
              help="jitter: standard deviation of the displacement, pixels.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed; each layout's generator is derived from (seed, its name).")
@click.option("--cell", type=click.IntRange(min=1), default=3, show_default=True,
              help="Side of the square drawn around each cell centre.")
@reader_options
@click.option("--skip-bad", is_flag=True, help="Skip unreadable files with a warning instead of stopping.")
@click.option("--jobs", "-j", type=click.IntRange(min=-1), default=1, show_default=True, callback=_jobs,
              help="Worker threads (-1: one per core); the files do not depend on it.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@data_errors
def baseline(kind, real_dir, out_dir, sigma, seed, cell, fmt, classes, colors, x_col, y_col, class_col, canvas,
             channels, threshold, skip_bad, jobs, quiet):
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

    opts = _reader_options(colors, x_col, y_col, class_col, _canvas(canvas), channels, threshold)
    layouts, skipped = read_layouts(real_dir, format=fmt, classes=_csv_list(classes, "--classes"),
                                    skip_bad=skip_bad, **opts)
    _warn_skipped(skipped)
    if not layouts:
        raise DataError(f"{real_dir}: no readable layouts")
    missing = [l.name for l in layouts if l.shape is None]
    if missing:
        raise DataError(f"{missing[0]}: no canvas size in this format; pass --canvas HxW")
    _check_writable_dir(out_dir, "--out")
    out_dir.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    # a few large chunks per worker: per-layout tasks would cost more in pickling than in work
    workers = 1 if jobs == 1 else (jobs if jobs > 0 else os.cpu_count() or 1)
    n_chunks = 1 if workers == 1 else 4 * workers
    chunks = [layouts[i::n_chunks] for i in range(n_chunks)]
    bar = tqdm(total=len(layouts), desc=f"{kind} baseline", unit="layout", disable=not _progress(quiet))
    lost_layouts = lost_cells = 0
    for n, nl, nc in _map(_write_baselines, [(c, kind, sigma, seed, cell, out_dir) for c in chunks if c], jobs):
        bar.update(n)
        lost_layouts += nl
        lost_cells += nc
    bar.close()
    if lost_cells:
        _warn(f"{kind}: {lost_cells} cells of {lost_layouts} layouts touch another cell of their class when drawn as "
              f"{cell}x{cell} squares, so those files read back with fewer cells than the real layouts")
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
@cli.command()
@click.option("--n-patches", type=click.IntRange(min=2), metavar="N",
              help="Use an evenly spread subset of N patches (default: all 1,550).")
@click.option("--mmd-samples", type=click.IntRange(min=2), default=DEMO_MMD_SAMPLES, show_default=True,
              help="Layouts per set drawn for the MMD estimate (keeps the demo under a minute).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random baseline and sampling.")
@click.option("--jobs", "-j", type=click.IntRange(min=-1), default=-1, show_default=True, callback=_jobs,
              help="Worker processes (-1: all cores); the numbers do not depend on it.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the JSON report.")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False, path_type=Path), help="Also write the figures.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the one-file HTML report.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
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

    _check_outputs(json_path=json_path, html_path=html_path, plots_dir=plots_dir)
    t0 = time.perf_counter()
    progress = _progress(quiet)
    real, synth = demo_sets(n_patches, seed=seed, progress=progress)
    t_data = time.perf_counter() - t0
    mmd_n = min(mmd_samples, len(real))
    report = run_compare(real, synth, metrics=METRICS, protocol="paper", pairing="prefix", n_jobs=jobs, seed=seed,
                         mmd_samples=mmd_n, progress=progress)
    elapsed = time.perf_counter() - t0
    click.echo(f"topofd demo: {len(real)} real BRCA-M2C test patches (256x256, stride 32) vs "
               f"{len(synth)} random-placement layouts with the same per-class counts")
    click.echo(f"(MMD estimated on {mmd_n} layouts drawn per set; data built in {t_data:.1f} s)\n")
    click.echo(format_report(report, elapsed))
    click.echo("\nThe random baseline keeps each patch's counts but not its spatial structure: a useful "
               "generator should score below it on TopoFD and MMD.")
    sys.stdout.flush()
    for p in write_outputs(report, json_path, None, plots_dir, html_path):
        click.echo(f"wrote {p}", err=True)


from topofd.output.leaderboard import leaderboard_command  # noqa: E402

cli.add_command(leaderboard_command)


def main(argv=None) -> None:
    """Console-script entry point (``topofd``)."""
    cli.main(args=argv, prog_name="topofd")


if __name__ == "__main__":  # pragma: no cover
    main()

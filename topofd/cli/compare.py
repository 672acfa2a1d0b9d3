"""``topofd compare``, ``topofd stats`` and ``topofd refs``."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import click

from topofd.cli.common import (
    CliError,
    check_outputs,
    data_errors,
    options_from,
    output_options,
    progress_wanted,
    quiet_option,
    table_options,
    warn,
    warn_skipped,
    write_outputs,
)
from topofd.output.report import format_report

__all__ = ["compare", "stats", "refs"]


def _real_source(ctx, param, value: str) -> str:
    """REAL of ``compare``: a folder or file, a ``.topofd`` reference file or
    a named reference set."""
    from topofd.storage.reference import NAMED

    if value in NAMED or Path(value).exists():
        return value
    hint = f"; named reference sets: {', '.join(NAMED)}" if ":" in value else ""
    raise click.BadParameter(f"{value!r}: no such file or folder{hint}", param_hint="REAL")


def _dask_backend(scheduler: str | None, jobs: int):
    """``(joblib backend context, jobs)`` for ``--scheduler``."""
    if not scheduler:
        return contextlib.nullcontext(), jobs
    try:
        from distributed import Client
    except ImportError:
        raise click.UsageError("--scheduler needs the dask extra: pip install 'topofd[dask]'") from None
    import joblib

    try:
        client = Client(scheduler, timeout=30)
    except (OSError, TimeoutError) as e:
        raise CliError(f"{scheduler}: cannot reach the Dask scheduler ({e.__class__.__name__})") from None
    # map_chunks only fans out when n_jobs > 1: one chunk set per worker thread
    return joblib.parallel_backend("dask"), max(jobs, sum(client.nthreads().values()), 2)


@click.command()
@click.argument("real", callback=_real_source, metavar="REAL")
@click.argument("synth", type=click.Path(exists=True, path_type=Path))
@table_options("compare")
@output_options("json", "csv", "plots", "html")
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Run the per-patch work on a Dask distributed cluster at ADDRESS (needs topofd[dask]; every "
    "worker needs topofd installed). Results are the same as on one machine.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Under the table, the sentences in which metrics say what differs (e.g. --metrics spatial); they are "
    "in --json and --html in any case.",
)
@quiet_option
@data_errors
def compare(real, synth, json_path, csv_path, plots_dir, html_path, scheduler, explain, quiet, **kw):
    """Score the synthetic layouts in SYNTH against the real ones in REAL.

    REAL is a folder of layout files (or a single file), a reference file
    made by `topofd stats` (*.topofd), or a named reference set (`topofd
    refs` lists them, e.g. brca-m2c:test); SYNTH is a folder or file.
    Prints one table, a row per class and the mean: TopoFD, TopoKD (the
    recommended score), MMD, CCE per class and TCE, each as value ±
    standard error, with the protocol, how each interval was computed, file
    counts and elapsed time under it.

    The standard error describes another draw of the synthetic set from the
    same generator, real set fixed: delete-a-group jackknife (grid TopoFD,
    TopoKD, MMD), disjoint subsamples (paper TopoFD), analytic (count errors); 95 %
    intervals (t) are in --json and --csv.  Each set is put in file-name
    order; the paper protocol's barycenter starts from the first file.

    \b
    Example:
      topofd compare real/ synth/ --json report.json --plots figs/
      topofd compare brca-m2c:test synth/
    """
    opts = options_from(kw, progress=progress_wanted(quiet))
    if opts.metrics == ("counts",) and opts.pairing == "none":
        raise click.BadParameter("count errors compare paired layouts; use --pairing prefix", param_hint="--pairing")
    check_outputs(json_path=json_path, csv_path=csv_path, html_path=html_path, plots_dir=plots_dir)
    if plots_dir is not None and opts.metrics is not None and "topofd" not in opts.metrics:
        warn("--plots draws the TopoFD barycenters and landscapes; add topofd to --metrics to get them")
    from topofd.api import compare as run_compare

    t0 = time.perf_counter()
    backend, jobs = _dask_backend(scheduler, opts.n_jobs)
    with backend:
        report = run_compare(real, str(synth), opts.replace(n_jobs=jobs))
    elapsed = time.perf_counter() - t0
    skipped = (report.meta or {}).get("skipped") or []
    warn_skipped(list(skipped))
    click.echo(format_report(report, elapsed, explain=explain))
    sys.stdout.flush()  # the table before the 'wrote' lines when both streams share a terminal
    for p in write_outputs(report, json_path, csv_path, plots_dir, html_path):
        click.echo(f"wrote {p}", err=True)


@click.command()
@click.argument("real", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Reference file to write (suffix .topofd).",
)
@table_options("stats")
@click.option(
    "--no-paper-stats",
    is_flag=True,
    help="Store diagrams and counts only (paper barycenters are then computed at compare time).",
)
@click.option(
    "--no-features",
    is_flag=True,
    help="Store no encoder features (stored by default when the [fid] extra is installed: fid and kid then "
    "work from the file; they are keyed by the --extractor file's sha256).",
)
@click.option("--name", default="", help="A name recorded in the file.")
@quiet_option
@data_errors
def stats(real, out_path, no_paper_stats, no_features, name, quiet, **kw):
    """Precompute a real set once: diagrams, counts and paper statistics.

    Writes a reference file that `topofd compare REF.topofd SYNTH/` (and
    `Evaluator.load_reference`) uses instead of REAL, with the same numbers
    as recomputing; compare must use the same --complex. The file holds
    plain arrays and a content hash; loading it never runs code.

    \b
    Example:
      topofd stats real/ --out real.topofd && topofd compare real.topofd synth/
    """
    from topofd.evaluator import Evaluator
    from topofd.layouts.sets import read_layouts
    from topofd.storage.atomic import check_writable_file
    from topofd.storage.reference import SUFFIX, make_reference

    if out_path.suffix.lower() != SUFFIX:
        raise click.BadParameter(f"{out_path}: the reference file name must end in {SUFFIX}", param_hint="--out")
    check_writable_file(out_path, "--out")
    # fid among the metrics keeps the cells the features are encoded from
    metrics = ("topofd",) if no_features else ("topofd", "fid")
    opts = options_from(kw, metrics=metrics, progress=progress_wanted(quiet))
    layouts, skipped = read_layouts(real, **opts.reader_kwargs())
    warn_skipped(skipped)
    if not layouts:
        raise CliError(f"{real}: no readable layouts")
    ev = Evaluator(opts)
    ev.update(layouts, real=True)
    meta = make_reference(
        ev,
        out_path,
        name=name,
        source=str(real),
        paper_stats=not no_paper_stats,
        features=False if no_features else None,
    )
    click.echo(
        f"wrote {out_path}: {meta['n']} layouts, classes {', '.join(meta['classes'])}, "
        f"complex {meta['complex']}"
        + (", paper statistics" if meta["paper_stats"] else "")
        + f"; {meta['features_note']}"
    )


@click.command()
def refs():
    """List the named reference sets shipped with topofd (usable as REAL)."""
    from topofd.storage.reference import names

    for n, d in names().items():
        click.echo(f"{n}\t{d}")

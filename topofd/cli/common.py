"""What every ``topofd`` command shares: one-line errors, the flags built
from the options table, output files.

Exit status: 0 on success, 1 for a data error (unreadable or corrupt file,
empty folder, no pairs, class mismatch, unwritable output), 2 for a usage
error (unknown option or value, missing argument, nonexistent path), 130 on
Ctrl-C.  Errors are one line on stderr (``PROG: error: ...``), without a
traceback (``TOPOFD_DEBUG=1`` re-raises with it).
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from topofd import metrics as metric_registry
from topofd.errors import one_line
from topofd.option_spec import SEED_MAX
from topofd.options import OptionError, Options, Spec, all_specs
from topofd.output.report import section_tables
from topofd.storage.atomic import atomic_write_bytes, check_writable_dir, check_writable_file

__all__ = [
    "CliError",
    "data_errors",
    "table_options",
    "options_from",
    "warn",
    "progress_wanted",
    "write_outputs",
    "check_outputs",
    "warn_skipped",
    "jobs_option",
    "quiet_option",
    "output_options",
]


class CliError(click.ClickException):
    """A data error on the command line: exit 1, one line ``PROG: error: ...``."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # the root command's name (topofd, topocellgen), read now: click shows
        # the error after it has closed the context
        ctx = click.get_current_context(silent=True)
        self.prog = (ctx.find_root().command.name if ctx is not None else None) or "topofd"

    def show(self, file=None):
        click.echo(f"{self.prog}: error: {self.format_message()}", err=True)


def data_errors(f: Callable) -> Callable:
    """Turn ``ValueError``/``OSError`` raised by the library into one line,
    exit 1; a bad option value into click's usage error (exit 2, naming the
    flag); Ctrl-C into exit 130."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            if os.environ.get("TOPOFD_DEBUG"):
                raise
            click.echo(f"{click.get_current_context().find_root().info_name}: interrupted", err=True)
            raise SystemExit(130) from None
        except OptionError as e:
            if os.environ.get("TOPOFD_DEBUG"):
                raise
            raise click.BadParameter(e.message, param_hint=_flag_of(e.option)) from None
        except (ValueError, OSError, RecursionError, MemoryError) as e:
            if os.environ.get("TOPOFD_DEBUG"):
                raise
            raise CliError(one_line(e)) from None

    return wrapper


def warn(msg: str) -> None:
    click.echo(f"topofd: warning: {msg}", err=True)


def progress_wanted(quiet: bool) -> bool:
    # bars only for a person watching: never in logs, pipes or CI
    return not quiet and sys.stderr.isatty()


# ------------------------------------------------------- the options table
def _flag_of(name: str) -> str:
    for n, spec, _ in all_specs():
        if n == name and spec.flag:
            return spec.flag.split("/")[0]
    return name


def _nonzero(ctx, param, value):
    if value == 0:
        raise click.BadParameter("0 workers; use 1 (serial), N, or -1 (all cores)")
    return value


def _click_option(name: str, spec: Spec, default: Any, command: str) -> Callable:
    assert spec.flag is not None
    decls = [spec.flag, *([spec.short] if spec.short else []), name]
    kw: dict[str, Any] = {
        "help": spec.help + (" " + metrics_help() if name == "metrics" else ""),
        "default": default,
        "show_default": default is not None and default is not False,
    }
    if spec.metavar:
        kw["metavar"] = spec.metavar
    if spec.kind == "bool":
        kw["show_default"] = False
        if "/" not in spec.flag:
            kw["is_flag"] = True
    elif spec.kind == "choice":
        kw["type"] = click.Choice(spec.choices or ())
    elif spec.kind == "int":
        kw["type"] = int if spec.low is None else click.IntRange(min=int(spec.low))
        if spec.nonzero:
            kw["callback"] = _nonzero
    elif spec.kind == "seed":
        kw["type"] = click.IntRange(0, SEED_MAX)
    elif spec.kind == "float":
        kw["type"] = click.FloatRange(min=spec.low, min_open=spec.low_open) if spec.low is not None else float
    elif spec.kind == "path":
        kw["type"] = click.Path(file_okay=False)
    elif spec.kind == "file_or_callable":
        kw["type"] = click.Path(dir_okay=False)
    elif spec.kind in ("list", "canvas") and isinstance(default, tuple):
        kw["default"] = ",".join(default)
    return click.option(*decls, **kw)


def table_options(command: str) -> Callable:
    """The flags of every option of :class:`~topofd.options.Options` that
    ``command`` takes, in table order."""

    metric_registry.names()  # the registry, entry points included, adds its plug-ins' options to the table

    def deco(f):
        for name, spec, default in reversed(list(all_specs())):
            if spec.flag is not None and command in spec.commands:
                f = _click_option(name, spec, default, command)(f)
        return f

    return deco


def options_from(kwargs: dict, **fixed: Any) -> Options:
    """Pop the table's options out of a command's ``kwargs`` into an
    :class:`Options` (``fixed`` adds or overrides values)."""
    names = {n for n, _, _ in all_specs()}
    given = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
    return Options.from_kwargs(**{**given, **fixed})


def metrics_help() -> str:
    """What ``--metrics`` takes, from the registry: each metric with its
    summary, then the groups."""
    parts = []
    for n in metric_registry.names():
        m = metric_registry.get(n)
        parts.append(f"{n} ({m.summary}{'; default' if m.default else ''})")
    groups = [f"{g} = {', '.join(ms)}" for g, ms in metric_registry.groups().items()]
    return "Metrics: " + "; ".join(parts) + ". Groups: " + "; ".join(groups) + "."


def jobs_option(default: int, help: str) -> Callable:
    """``--jobs/-j``: worker count, -1 for all cores, 0 refused."""
    return click.option(
        "--jobs",
        "-j",
        "jobs",
        type=click.IntRange(min=-1),
        default=default,
        show_default=True,
        callback=_nonzero,
        help=help,
    )


def quiet_option(f: Callable) -> Callable:
    """``--quiet/-q``: no progress bars (they show only on a terminal anyway)."""
    return click.option("--quiet", "-q", is_flag=True, help="No progress bars.")(f)


_OUTPUTS = {
    "json": (False, "Write the full report (table with se/lo/hi, metadata) as JSON."),
    "csv": (
        False,
        "Write the table (with se/lo/hi columns) as CSV; a metric's explanation table goes beside it "
        "(report.csv -> report.<metric>.csv).",
    ),
    "plots": (True, "Write PNG figures per class: barycenter diagrams, mean landscapes, count scatter (paired)."),
    "html": (False, "Write a one-file HTML report: table, figures and provenance, viewable offline."),
}


def output_options(*kinds: str) -> Callable:
    """``--json``, ``--csv``, ``--plots`` (a folder), ``--html``: the report's
    output files, passed as ``<kind>_path`` (``plots_dir`` for figures)."""

    def deco(f):
        for kind in reversed(kinds):
            folder, help = _OUTPUTS[kind]
            dest = "plots_dir" if folder else f"{kind}_path"
            f = click.option(
                f"--{kind}", dest, type=click.Path(dir_okay=folder, file_okay=not folder, path_type=Path), help=help
            )(f)
        return f

    return deco


# ---------------------------------------------------------------- outputs
def warn_skipped(items) -> None:
    """Unreadable files (--skip-bad) listed one by one; files that are not
    layouts (a README, a report) summed up in one line."""
    bad = [x for x in items if getattr(x, "unreadable", True)]
    other = [x for x in items if not getattr(x, "unreadable", True)]
    if other:
        names = ", ".join(Path(x.path).name for x in other[:5]) + (", ..." if len(other) > 5 else "")
        warn(f"skipped {len(other)} file(s) that are not layouts: {names}")
    if bad:
        warn(f"skipped {len(bad)} unreadable file(s):")
        for x in bad:
            click.echo(f"  {x}", err=True)


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


def report_json(report) -> str:
    """The report as JSON text (NaN written as null)."""
    d = _nan_to_none(json.loads(json.dumps(report.to_dict(), default=_json_default)))
    return json.dumps(d, indent=2) + "\n"


def write_outputs(report, json_path=None, csv_path=None, plots_dir=None, html_path=None) -> list[Path]:
    written = []
    if json_path is not None:
        atomic_write_bytes(json_path, report_json(report).encode())
        written.append(json_path)
    if csv_path is not None:
        atomic_write_bytes(csv_path, report.table.to_csv(index_label="class").encode())
        written.append(csv_path)
        # a metric's explanation table beside it: report.csv -> report.<metric>.csv
        for name, df in section_tables(report.meta or {}).items():
            p = Path(csv_path).with_suffix(f".{name}.csv")
            atomic_write_bytes(p, df.to_csv(index=False).encode())
            written.append(p)
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


def check_outputs(**paths) -> None:
    """Every output path writable and no two the same, before any computation."""
    files = {k: v for k, v in paths.items() if k != "plots_dir" and v is not None}
    for k, p in files.items():
        check_writable_file(p, "--" + k[:-5])
    seen: dict = {}
    for k, p in files.items():
        r = Path(os.path.realpath(p))
        if r in seen:
            raise click.BadParameter(f"--{k[:-5]} and --{seen[r][:-5]} name the same file", param_hint=f"--{k[:-5]}")
        seen[r] = k
    check_writable_dir(paths.get("plots_dir"), "--plots")

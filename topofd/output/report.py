"""The result of a comparison and its text form.

``Report.table``: one row per class plus ``mean``; metric columns
(``topofd``, ``topofd_inf``, ``topokd``, ``mmd``, ``cce``, ``tce``; when asked for, the
fidelity columns ``precision``, ``recall``, ``density``, ``coverage`` and the memorisation
columns ``ct`` and ``near_copies``, and ``layout_fid``, ``layout_kid`` (FID and KID in a
layout encoder's feature space, never the quoted image ``fid`` of leaderboards), which like
``tce`` score whole layouts: ``mean`` row only) each followed, where an interval
was computed, by ``<metric>_se``, ``<metric>_lo`` and ``<metric>_hi`` (the 95 %
interval of :mod:`topofd.stats.uncertainty`); ``mmd_p`` is the permutation p-value.  The text table prints
``value ± se``, one number format per column.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from topofd import metrics as metric_registry
from topofd.version import __version__

__all__ = [
    "Report",
    "format_table",
    "format_report",
    "title",
    "directions",
    "QUOTED",
    "column_order",
    "layout_level",
    "base_column",
    "assemble_table",
    "provenance",
    "explanations",
    "section_tables",
]

_SUFFIXES = ("_se", "_lo", "_hi")


# columns a leaderboard quotes from published tables and topofd never computes: (title, better)
QUOTED = {"fid": ("FID", "lower")}


def title(key: str) -> str:
    """The heading of report column ``key`` (a registered :class:`~topofd.metrics.base.Column`)."""
    c = metric_registry.column(key)
    return c.title if c is not None else QUOTED.get(key, (key,))[0]


def directions() -> dict[str, tuple[str, str]]:
    """Column key -> ``(title, better)`` of every registered and quoted column."""
    return {**{c.key: (c.title, c.better) for c in metric_registry.columns()}, **QUOTED}


def base_column(key: str) -> str:
    """The metric column of a table column (``topokd_se`` -> ``topokd``)."""
    return key[:-3] if key.endswith(_SUFFIXES) else key


def layout_level() -> tuple[str, ...]:
    """Columns of whole layouts (``scope="layout"``): the ``mean`` row only."""
    return tuple(c.key for c in metric_registry.columns() if c.scope == "layout")


def column_order() -> tuple[str, ...]:
    """Every registered column in report order (registration order of the plug-ins)."""
    return tuple(c.key for c in metric_registry.columns())


def assemble_table(names: Sequence[str], results: Mapping[str, Any]) -> tuple[pd.DataFrame, dict]:
    """The report table from the metric plug-ins' cells (``results``: name ->
    :class:`topofd.metrics.base.MetricResult`), and the degrees of freedom
    of each column's mean interval.  Columns in the documented order, each
    followed by its ``_se``, ``_lo``, ``_hi`` (and ``_p``) columns."""
    table = pd.DataFrame(index=[*names, "mean"], dtype=float)
    dfs: dict = {}
    for r in results.values():
        for col, rows in r.cells.items():
            for row, e in rows.items():
                table.loc[row, col] = e.value
                if e.se is not None:
                    table.loc[row, [f"{col}_se", f"{col}_lo", f"{col}_hi"]] = [e.se, e.lo, e.hi]
                    if row == "mean":
                        dfs[col] = e.df
    order = column_order()
    cols = [f"{m}{x}" for m in order for x in ("", *_SUFFIXES) if f"{m}{x}" in table.columns]
    return table[cols + [c for c in table.columns if c not in cols]], dfs


# plug-in metadata with a fixed place in the report (the rest follows the options, in plug-in order)
_PLACED = ("sigma", "topokd", "mmd_estimator", "mmd")


def provenance(
    options: Any,
    metrics: Sequence[str],
    results: Mapping[str, Any],
    uncertainty: dict,
    se_df: dict,
    notes: list[str],
    *,
    n_real: int,
    n_synth: int,
    n_pairs: int | None,
    threshold: float | None,
    reference: dict | None,
    real_hash: str,
    named: dict,
    seconds: float,
    train: dict | None = None,
) -> dict:
    """The report's metadata: versions, the options that made the numbers,
    the sets' sizes and hash, what each metric recorded, how each interval
    was made, notes; ``train``: the training set's size and hash, when the
    memorisation metrics ran (``n_train``, ``train_hash``)."""
    meta_of = {k: v for r in results.values() for k, v in r.meta.items()}
    declared = [k for n in results for k in metric_registry.get(n).meta_keys]
    extra = {k: meta_of[k] for k in dict.fromkeys(declared) if k in meta_of and k not in _PLACED}
    sections = {n: [s.to_dict() for s in r.sections] for n, r in results.items() if r.sections}
    return {
        "topofd_version": __version__,
        "versions": _versions(),
        "protocol": options.protocol,
        "complex": options.complex,
        "metrics": list(metrics),
        "n_real": n_real,
        "n_synth": n_synth,
        "n_pairs": n_pairs,
        "sigma": meta_of.get("sigma", {}),
        "topokd": meta_of.get("topokd"),
        "mmd_samples": options.mmd_samples,
        "mmd_estimator": meta_of.get("mmd_estimator"),
        "mmd": meta_of.get("mmd"),
        "seed": options.seed,
        "n_bins": options.n_bins,
        "n_layers": options.n_layers,
        "threshold": threshold,
        "order": "each set sorted by layout name (the paper barycenter starts from the first diagram)",
        "uncertainty": uncertainty,
        "reference": reference,
        "real_hash": real_hash,
        **named,
        **(train or {}),
        **extra,
        **({"sections": sections} if sections else {}),
        "se_df": dict(se_df),
        "notes": list(dict.fromkeys(notes)),  # one line per note, however many metrics made it
        "seconds": seconds,
    }


def _versions() -> dict:
    import gudhi
    import scipy

    out = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "gudhi": gudhi.__version__,
    }
    try:
        import ripser

        out["ripser"] = getattr(ripser, "__version__", "?")
    except ImportError:  # pragma: no cover
        pass
    return out


@dataclass
class Report:
    """Result of :func:`topofd.compare` / :meth:`topofd.Evaluator.compute`.

    ``table``: see the module docstring; ``meta``: provenance (versions,
    options, file counts, how each interval was computed in
    ``meta["uncertainty"]``, notes); ``artifacts``: per-class arrays for
    plots; ``counts_real`` / ``counts_synth``: paired ``(n_pairs, C)``
    counts (``None`` if unpaired).
    """

    protocol: str
    classes: tuple[str, ...]
    table: pd.DataFrame
    meta: dict
    artifacts: dict = field(default_factory=dict)
    counts_real: np.ndarray | None = None
    counts_synth: np.ndarray | None = None

    def to_dict(self) -> dict:
        """JSON-ready: ``{"protocol", "classes", "per_class", "mean", "meta"}``;
        each metric ``m`` comes with ``m_se``, ``m_lo``, ``m_hi`` where an
        interval was computed (``None`` where not)."""

        def num(v):
            return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)

        cols = list(self.table.columns)
        per_class = [
            {"class": c, **{k: num(self.table.at[c, k]) for k in cols if base_column(k) not in layout_level()}}
            for c in self.classes
        ]
        no_mean = tuple(c.key for c in metric_registry.columns() if not c.mean)
        mean = {k: num(self.table.at["mean", k]) for k in cols if base_column(k) not in no_mean}
        return {
            "protocol": self.protocol,
            "classes": list(self.classes),
            "per_class": per_class,
            "mean": mean,
            "meta": self.meta,
        }

    def __str__(self) -> str:
        return format_report(self)


def _decimals(values) -> int:
    """Decimals giving the column's largest magnitude four significant digits."""
    v = [abs(float(x)) for x in values if x is not None and math.isfinite(float(x))]
    big = max(v, default=0.0)
    if big == 0:
        return 2
    return int(min(6, max(0, 3 - math.floor(math.log10(big)))))


def _num(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def format_table(table: pd.DataFrame, protocol: str | None = None) -> str:
    """The report table as aligned text: a row per class and the mean, each
    metric as ``value ± se`` (``—``: not defined), one number format per
    column."""
    cols = [c for c in column_order() if c in table.columns]
    header = ["class"]
    for c in cols:
        t = title(c)
        if c.startswith("topofd") and protocol:
            t += f" ({protocol})"
        header.append(t)
    fmt = {}
    for c in cols:
        col = metric_registry.column(c)
        d = col.decimals if col is not None and col.decimals is not None else _decimals(table[c])
        fmt[c] = d
    rows = []
    for idx, r in table.iterrows():
        cells = [str(idx)]
        for c in cols:
            v = _num(r.get(c))
            if v is None:
                cells.append("—")
                continue
            s = f"{v:.{fmt[c]}f}"
            se = _num(r.get(f"{c}_se"))
            if se is not None:
                s += f" ± {se:.{fmt[c]}f}"
            cells.append(s)
        rows.append(cells)
    widths = [max(len(x[i]) for x in [header] + rows) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out = [line(header), "  ".join("-" * w for w in widths)]
    for k, cells in enumerate(rows):
        if cells[0] == "mean" and k:
            out.append("  ".join("-" * w for w in widths))
        out.append(line(cells))
    return "\n".join(out)


def explanations(meta: Mapping) -> list[str]:
    """The plug-ins' explanation sentences (``meta["sections"]``), one
    ``title: sentence`` line each, in report order."""
    out = []
    for sections in (meta.get("sections") or {}).values():
        for sec in sections:
            out += [f"{sec.get('title', '')}: {s}" for s in sec.get("sentences") or []]
    return out


def section_tables(meta: Mapping) -> dict[str, pd.DataFrame]:
    """Metric name -> the rows of its explanation tables, one frame per
    metric (a ``section`` column says which of its sections a row is from)."""
    out = {}
    for name, sections in (meta.get("sections") or {}).items():
        rows = [{"section": sec.get("title", ""), **r} for sec in sections for r in sec.get("table") or []]
        if rows:
            out[name] = pd.DataFrame(rows)
    return out


def format_report(report, elapsed: float | None = None, explain: bool = False) -> str:
    """Table plus the run's protocol, sigma, file counts, intervals, elapsed
    time and notes; ``explain``: then the plug-ins' explanations."""
    meta = getattr(report, "meta", {}) or {}
    proto = meta.get("protocol", getattr(report, "protocol", None))
    lines = [format_table(report.table, proto), ""]
    lines.append(f"protocol: {proto}")
    sigma = meta.get("sigma")
    if isinstance(sigma, dict) and sigma:
        lines.append("sigma (MMD kernel): " + ", ".join(f"{k}={v:.4g}" for k, v in sigma.items()))
    files = f"files: real {meta.get('n_real', '?')}, synthetic {meta.get('n_synth', '?')}"
    if meta.get("n_pairs") is not None:
        files += f", pairs {meta['n_pairs']}"
    skipped = meta.get("skipped") or []
    if skipped:
        files += f", skipped {len(skipped)}"
    lines.append(files)
    unc = meta.get("uncertainty") or {}
    if unc:
        lines.append(
            "± is one standard error over another draw of the synthetic set (real set fixed); "
            "95 % intervals in --json/--csv:"
        )
        seen: dict[str, list[str]] = {}
        for m, how in unc.items():
            seen.setdefault(how, []).append(title(m))
        for how, ms in seen.items():
            lines.append(f"  {', '.join(ms)}: {how}")
    if meta.get("order"):
        lines.append(f"order: {meta['order']}")
    secs = elapsed if elapsed is not None else meta.get("seconds")
    if secs is not None:
        lines.append(f"elapsed: {float(secs):.1f} s")
    for n in meta.get("notes") or []:
        lines.append(f"note: {n}")
    if explain:
        said = explanations(meta)
        lines += ["", "what differs:", *(f"  {x}" for x in said)] if said else ["", "what differs: no explanations"]
    return "\n".join(lines)

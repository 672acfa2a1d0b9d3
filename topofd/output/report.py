"""The result of a comparison and its text form.

``Report.table``: one row per class plus ``mean``; metric columns
(``topofd``, ``topofd_inf``, ``topokd``, ``mmd``, ``cce``, ``tce``) each followed, where
an interval was computed, by ``<metric>_se``, ``<metric>_lo`` and
``<metric>_hi`` (the 95 % interval of :mod:`topofd.stats.uncertainty`);
``mmd_p`` is the permutation p-value.  The text table prints
``value ± se``, one number format per column.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Report", "format_table", "format_report", "METRIC_TITLES"]

METRIC_TITLES = {"topofd": "TopoFD", "topofd_inf": "TopoFD∞", "topokd": "TopoKD", "mmd": "MMD", "mmd_p": "MMD p",
                 "cce": "CCE", "tce": "TCE"}
_SUFFIXES = ("_se", "_lo", "_hi")


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
        per_class = [{"class": c, **{k: num(self.table.at[c, k]) for k in cols if not k.startswith("tce")}}
                     for c in self.classes]
        mean = {k: num(self.table.at["mean", k]) for k in cols if not k.startswith("mmd_p")}
        return {"protocol": self.protocol, "classes": list(self.classes), "per_class": per_class, "mean": mean,
                "meta": self.meta}

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
    cols = [c for c in ("topofd", "topofd_inf", "topokd", "mmd", "mmd_p", "cce", "tce") if c in table.columns]
    header = ["class"]
    for c in cols:
        t = METRIC_TITLES[c]
        if c.startswith("topofd") and protocol:
            t += f" ({protocol})"
        header.append(t)
    fmt = {}
    for c in cols:
        d = 3 if c.endswith("_p") else _decimals(table[c])
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
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    out = [line(header), "  ".join("-" * w for w in widths)]
    for k, cells in enumerate(rows):
        if cells[0] == "mean" and k:
            out.append("  ".join("-" * w for w in widths))
        out.append(line(cells))
    return "\n".join(out)


def format_report(report, elapsed: float | None = None) -> str:
    """Table plus the run's protocol, sigma, file counts, intervals, elapsed
    time and notes."""
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
        lines.append("± is one standard error over another draw of the synthetic set (real set fixed); "
                     "95 % intervals in --json/--csv:")
        seen = {}
        for m, how in unc.items():
            seen.setdefault(how, []).append(METRIC_TITLES.get(m, m))
        for how, ms in seen.items():
            lines.append(f"  {', '.join(ms)}: {how}")
    if meta.get("order"):
        lines.append(f"order: {meta['order']}")
    secs = elapsed if elapsed is not None else meta.get("seconds")
    if secs is not None:
        lines.append(f"elapsed: {float(secs):.1f} s")
    for n in meta.get("notes") or []:
        lines.append(f"note: {n}")
    return "\n".join(lines)

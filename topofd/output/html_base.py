"""The parts every one-file HTML page of topofd is made of: escaping, number
formats, tables rendered from their columns, the legend, embedded figures,
metadata tables and the page itself (inline CSS, no script, a content
security policy that forbids every fetch).

Tables are rendered from their columns, not from a fixed list of metrics: a
metric column ``m`` is shown with its siblings ``m_se`` (as ``± se``) and
``m_lo`` / ``m_hi`` (as ``[lo, hi]``) when they exist, and a column ``m_p``
as a p-value beside it; titles and directions come from the metric registry.
"""

from __future__ import annotations

import base64
import html
import io
import math
import numbers
from collections.abc import Iterable, Mapping

import numpy as np

from topofd.output.report import directions, title

__all__ = [
    "DASH",
    "esc",
    "finite",
    "table_html",
    "legend_html",
    "png_uri",
    "value_html",
    "provenance_html",
    "notes_html",
    "page",
]

_SIBLINGS = ("se", "lo", "hi", "p")
DASH = "—"

# Small on purpose: the page must read on a 360 px phone (one column of
# figures, tables scrolling sideways inside their box with the first column
# pinned) and on a desktop (figures in a grid, page width capped for reading).
_CSS = """
:root { color-scheme: light; --fg: #1d2430; --muted: #5b6573; --line: #d8dde4; --head: #f2f4f7;
  --accent: #1f5fa8; --warn: #8a5a00; --warnbg: #fff6e0; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; color: var(--fg); background: #fff; line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 14px 40px; }
h1 { font-size: 1.45rem; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.15rem; margin: 1.6em 0 0.5em; padding-bottom: 0.2em; border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 1.2em 0 0.4em; }
.sub { color: var(--muted); margin: 0; overflow-wrap: anywhere; }
/* the box hugs its table, and scrolls sideways when the table is wider than the page */
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; width: fit-content; max-width: 100%;
  border: 1px solid var(--line); border-radius: 6px; }
.scroll.full { width: auto; }
/* separate, not collapse: collapsed borders do not follow a sticky cell */
table { border-collapse: separate; border-spacing: 0; width: max-content; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--head); text-align: right; white-space: nowrap; font-weight: 600; }
tbody tr:last-child td, tbody tr:last-child th { border-bottom: 0; }
td.num { text-align: right; min-width: 4.5em; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.txt, th.txt { text-align: left; }
.rowhead { text-align: left; position: sticky; left: 0; background: #fff; z-index: 1;
  max-width: 14em; overflow-wrap: anywhere; font-weight: 600; box-shadow: 1px 0 0 var(--line); }
thead .rowhead { background: var(--head); z-index: 2; }
tr.mean td, tr.mean th { border-top: 2px solid var(--fg); font-weight: 600; }
tbody tr:nth-last-child(2):has(+ tr.mean) td, tbody tr:nth-last-child(2):has(+ tr.mean) th { border-bottom: 0; }
.se { color: var(--muted); font-weight: normal; }
.ci { display: block; color: var(--muted); font-size: 0.85em; font-weight: normal; }
.legend { color: var(--muted); font-size: 0.9em; margin: 0.5em 0 0; }
.notes { background: var(--warnbg); color: var(--warn); border-radius: 6px; padding: 8px 12px 8px 28px;
  margin: 1em 0 0; overflow-wrap: anywhere; }
.notes li { margin: 0.2em 0; }
.grid { display: grid; gap: 14px; grid-template-columns: repeat(auto-fill, minmax(min(100%, 300px), 1fr)); }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: #fff; }
figure img { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 0.85em; padding: 4px 2px 0; }
table.kv { width: 100%; min-width: 0; }
table.kv th { text-align: left; white-space: nowrap; color: var(--muted); font-weight: 600; width: 1%; }
table.kv td { overflow-wrap: anywhere; }
table.kv table.kv { border: 0; width: auto; }
/* nested key/value pairs break between words only: short keys never split */
table.kv table.kv th, table.kv table.kv td { padding: 2px 10px 2px 0; border: 0; overflow-wrap: normal; }
table.kv table.kv th { white-space: nowrap; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em; }
details summary { cursor: pointer; color: var(--accent); }
footer { color: var(--muted); font-size: 0.85em; margin-top: 2.5em; }
@media (max-width: 600px) {
  body { font-size: 14px; }
  main { padding: 10px 8px 30px; }
  th, td { padding: 5px 7px; }
  table.kv th { white-space: normal; width: auto; }
}
@media print { .scroll { overflow: visible; border: 0; } }
"""

# No script, nothing fetched: only inline style and data: images may load.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def esc(x) -> str:
    return html.escape(str(x), quote=True)


# ------------------------------------------------------------------ numbers
def finite(v) -> float | None:
    if v is None or isinstance(v, (bool, np.bool_, str)):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


class _NumberFormat:
    """One format for every number of a column (its values, standard errors
    and interval bounds), so a column never mixes precisions: four
    significant digits on the column's largest magnitude, no decimals for a
    column of whole numbers, scientific notation outside [1e-3, 1e6)."""

    def __init__(self, values: Iterable):
        xs = [f for f in (finite(v) for v in values) if f is not None]
        big = max((abs(x) for x in xs), default=0.0)
        if big == 0.0 or (big < 1e6 and all(x == int(x) for x in xs)):
            self.spec = ".0f"
        elif big < 1e-3 or big >= 1e6:
            self.spec = ".3e"
        else:
            self.spec = f".{min(6, max(0, 3 - math.floor(math.log10(big))))}f"

    def __call__(self, v) -> str:
        f = finite(v)
        if f is None:
            return DASH
        s = format(f, self.spec)
        return s[1:] if s.startswith("-") and float(s) == 0 else s  # no "-0.000"


def _fmt_p(v) -> str:
    f = finite(v)
    if f is None:
        return DASH
    return "< 0.001" if f < 0.001 else f"{f:.3f}"


def _split(col: str) -> tuple[str, str | None]:
    base, _, suffix = str(col).rpartition("_")
    if base and suffix in _SIBLINGS:
        return base, suffix
    return str(col), None


def _plan(columns) -> list[tuple[str, str, dict]]:
    """``(kind, column, siblings)`` in display order: ``kind`` is ``"metric"``
    or ``"p"``; siblings maps ``se``/``lo``/``hi`` to their columns.  A
    sibling whose base column is absent is shown as a column of its own."""
    cols = [str(c) for c in columns]
    present = set(cols)
    plan, used = [], set()
    for c in cols:
        if c in used:
            continue
        base, suffix = _split(c)
        if suffix is not None and base in present:
            continue  # shown with its base column
        sib = {s: f"{c}_{s}" for s in ("se", "lo", "hi") if f"{c}_{s}" in present}
        plan.append(("p" if suffix == "p" else "metric", c, sib))
        used.add(c)
        used.update(sib.values())
        if f"{c}_p" in present:
            plan.append(("p", f"{c}_p", {}))
            used.add(f"{c}_p")
    return plan


def _is_text_column(values) -> bool:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return bool(vals) and all(isinstance(v, str) for v in vals)


def _yes_no(v) -> str:
    return ("yes" if v else "no") if isinstance(v, (bool, np.bool_)) else DASH


def _is_bool_column(values) -> bool:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return bool(vals) and all(isinstance(v, (bool, np.bool_)) for v in vals)


def _cells(df, plan) -> tuple[list[str], list[list[str]]]:
    """Header cells and body cells (``<td>`` strings) of ``df`` under ``plan``."""
    heads, columns = [], []
    for kind, col, sib in plan:
        values = list(df[col])
        if kind == "p":
            heads.append(f'<th scope="col">{esc(title(col))}</th>')
            columns.append([f'<td class="num">{esc(_fmt_p(v))}</td>' for v in values])
            continue
        if _is_text_column(values):
            heads.append(f'<th scope="col" class="txt">{esc(title(col))}</th>')
            columns.append([f'<td class="txt">{esc(v if isinstance(v, str) else DASH)}</td>' for v in values])
            continue
        if _is_bool_column(values):
            heads.append(f'<th scope="col" class="txt">{esc(title(col))}</th>')
            columns.append([f'<td class="txt">{_yes_no(v)}</td>' for v in values])
            continue
        fmt = _NumberFormat(values + [v for s in sib.values() for v in df[s]])
        se, lo, hi = (list(df[sib[k]]) if k in sib else [None] * len(values) for k in ("se", "lo", "hi"))
        col_cells = []
        for v, s, a, b in zip(values, se, lo, hi):
            text = esc(fmt(v))
            if finite(v) is not None:
                if finite(s) is not None:
                    text += f'<span class="se"> ± {esc(fmt(s))}</span>'
                if finite(a) is not None or finite(b) is not None:
                    # the space keeps copied text and screen readers apart; the block hides it
                    text += f' <span class="ci">[{esc(fmt(a))}, {esc(fmt(b))}]</span>'
            col_cells.append(f'<td class="num">{text}</td>')
        heads.append(f'<th scope="col">{esc(title(col))}</th>')
        columns.append(col_cells)
    rows = [list(r) for r in zip(*columns)] if columns else [[] for _ in range(len(df))]
    return heads, rows


def table_html(df, *, row_header: str | None, index: bool, mean_row: str | None = None) -> str:
    plan = _plan(df.columns)
    heads, rows = _cells(df, plan)
    out = ['<div class="scroll"><table>', "<thead><tr>"]
    if index:
        out.append(f'<th scope="col" class="rowhead">{esc(row_header or "")}</th>')
    out += heads
    out.append("</tr></thead><tbody>")
    for label, cells in zip(df.index, rows):
        cls = ' class="mean"' if mean_row is not None and str(label) == mean_row else ""
        out.append(f"<tr{cls}>")
        if index:
            out.append(f'<th scope="row" class="rowhead">{esc(label)}</th>')
        out += cells
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def legend_html(df, provenance: bool = True) -> str:
    cols = {str(c) for c in df.columns}
    parts = []
    if any(c.endswith("_se") for c in cols):
        parts.append("value ± standard error")
    if any(c.endswith("_lo") or c.endswith("_hi") for c in cols):
        parts.append("[low, high]: interval" + (" (how it was computed: see provenance)" if provenance else ""))
    if any(c.endswith("_p") for c in cols):
        parts.append("p: p-value")
    # leaderboard columns are titled ("TopoFD", "CCE lym"); report columns are keys ("topofd")
    words = {c.split()[0] for c in cols if c.split()}
    shown = [(t, b) for k, (t, b) in directions().items() if k in cols or t in words]
    for way in ("lower", "higher"):
        titles = [t for t, b in shown if b == way]
        if titles:
            parts.append(f"{', '.join(titles)}: {way} is better")
    parts.append(f"{DASH}: not computed")
    return f'<p class="legend">{esc("; ".join(parts))}.</p>'


# ------------------------------------------------------------------ figures
def png_uri(draw) -> str:
    from matplotlib.figure import Figure

    # a bare Figure renders with Agg: no pyplot state, no display needed
    fig = Figure(figsize=(5, 4.5), dpi=100)
    draw(fig.add_subplot(1, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# --------------------------------------------------------------- provenance
def value_html(v, depth: int = 0) -> str:
    """Any metadata value as escaped HTML: mappings as nested tables, long
    lists folded away."""
    if v is None:
        return DASH
    if isinstance(v, Mapping):
        if not v:
            return DASH
        if depth >= 3:
            return f'<span class="mono">{esc(v)}</span>'
        rows = "".join(
            f'<tr><th scope="row">{esc(k)}</th><td>{value_html(x, depth + 1)}</td></tr>' for k, x in v.items()
        )
        return f'<table class="kv">{rows}</table>'
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (list, tuple, set)):
        items = list(v)
        if not items:
            return DASH
        if (
            all(not isinstance(x, (Mapping, list, tuple)) for x in items)
            and len(items) <= 8
            and sum(len(str(x)) for x in items) <= 120
        ):
            return esc(", ".join(_scalar(x) for x in items))
        lis = "".join(f"<li>{value_html(x, depth + 1)}</li>" for x in items)
        return f"<details><summary>{len(items)} entries</summary><ul>{lis}</ul></details>"
    return esc(_scalar(v))


def _scalar(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        f = float(v)
        return DASH if not math.isfinite(f) else f"{f:.6g}"
    return str(v)


# meta keys shown first, under these labels; the rest follow as they come
_META = (
    ("method", "method"),
    ("protocol", "protocol"),
    ("complex", "complex"),
    ("metrics", "metrics"),
    ("real", "real set"),
    ("synthetic", "synthetic set"),
    ("test_set", "test set"),
    ("dataset", "dataset"),
    ("n_real", "real layouts"),
    ("n_synth", "synthetic layouts"),
    ("n_pairs", "pairs"),
    ("seed", "seed"),
    ("bootstrap", "bootstrap resamples"),
    ("uncertainty", "uncertainty"),
    ("sigma", "MMD kernel sigma"),
    ("mmd_samples", "MMD samples per set"),
    ("mmd_estimator", "MMD estimator"),
    ("n_bins", "landscape bins"),
    ("n_layers", "landscape layers"),
    ("topofd_version", "topofd version"),
    ("versions", "versions"),
    ("cache", "cache"),
    ("skipped", "skipped files"),
    ("seconds", "elapsed (s)"),
)


def provenance_html(meta: Mapping) -> str:
    rows, seen = [], {"notes"}
    for key, label in _META:
        if key in meta:
            seen.add(key)
            v = meta[key]
            if key == "seconds" and finite(v) is not None:
                v = f"{float(v):.1f}"
            rows.append((label, v))
    rows += [(k, v) for k, v in meta.items() if k not in seen]
    body = "".join(f'<tr><th scope="row">{esc(label)}</th><td>{value_html(v)}</td></tr>' for label, v in rows)
    return f'<div class="scroll full"><table class="kv">{body}</table></div>'


def notes_html(notes) -> str:
    notes = [n for n in (notes or []) if str(n).strip()]
    if not notes:
        return ""
    return '<ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"


def page(title: str, body: str, figures: bool) -> str:
    from topofd.version import __version__

    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'  # a constant: single quotes only
        '<meta name="referrer" content="no-referrer">'
        f'<meta name="generator" content="topofd {esc(__version__)}">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>\n"
        f"<body><main>{body}"
        f"<footer>Written by topofd {esc(__version__)}. Self-contained: "
        f"{'figures are embedded, ' if figures else ''}nothing is loaded from elsewhere.</footer>"
        "</main></body></html>\n"
    )

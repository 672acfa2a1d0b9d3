"""The HTML section of the plug-ins' explanations (``report.meta["sections"]``):
for each metric, each :class:`~topofd.metrics.base.Section` as a heading, its
sentences, its table and its curves — rendered from their shape alone, so a
new metric's explanations need no change here."""

from __future__ import annotations

from collections.abc import Mapping

from topofd.output.html_base import esc, png_uri, table_html

__all__ = ["explanations_section", "draw_curve"]


def draw_curve(ax, curve: Mapping) -> None:
    """One :class:`~topofd.metrics.base.Curve` (as in the report's JSON) on a matplotlib axis."""
    x = [float("nan") if v is None else v for v in curve.get("x") or []]
    band = curve.get("band")
    if band:
        lo, hi = ([float("nan") if v is None else v for v in b] for b in band)
        ax.fill_between(x, lo, hi, color="#9fb9d8", alpha=0.6, lw=0, label=curve.get("band_label") or "band")
    for k, (label, y) in enumerate((curve.get("lines") or {}).items()):
        ys = [float("nan") if v is None else v for v in y]
        ax.plot(x, ys, lw=1.6, color=("#1f5fa8", "#c0392b", "#2e7d32", "#6a1b9a")[k % 4], label=label)
    ax.set_title(str(curve.get("title", "")), fontsize=10)
    ax.set_xlabel(str(curve.get("xlabel", "")))
    ax.set_ylabel(str(curve.get("ylabel", "")))
    ax.legend(fontsize=8, frameon=False)


def _one(section: Mapping) -> str:
    import pandas as pd

    parts = [f"<h3>{esc(section.get('title', ''))}</h3>"]
    sentences = [s for s in section.get("sentences") or [] if str(s).strip()]
    if sentences:
        parts.append('<ul class="notes">' + "".join(f"<li>{esc(s)}</li>" for s in sentences) + "</ul>")
    rows = section.get("table") or []
    if rows:
        parts.append(table_html(pd.DataFrame(rows), row_header=None, index=False))
    curves = section.get("curves") or []
    if curves:
        parts.append('<div class="grid">')
        for c in curves:
            uri = png_uri(lambda ax, c=c: draw_curve(ax, c))
            cap = esc(c.get("title", ""))
            parts.append(f'<figure><img src="{uri}" alt="{cap}"><figcaption>{cap}</figcaption></figure>')
        parts.append("</div>")
    return "".join(parts)


def explanations_section(meta: Mapping) -> str:
    """``<section id="explanations">`` of every metric that explained itself ("" when none did)."""
    by_metric = meta.get("sections") or {}
    if not by_metric:
        return ""
    parts = ['<section id="explanations"><h2>What differs</h2>']
    for name, sections in by_metric.items():
        parts.append(f'<div class="metric-explained" id="explain-{esc(name)}">')
        parts.extend(_one(s) for s in sections)
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)

"""The floor-to-random scale of a report (issue 27, :mod:`topofd.stats.scale`)
as text and HTML: each scaled score with its floor (real tissue of other
images with the nearest counts), its random row (the same counts placed at
random) and the scaled value with its 95 % interval."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from topofd import metrics as metric_registry

__all__ = ["scale_rows", "scale_lines", "scale_html", "HEADLINE", "verdict"]

HEADLINE = (
    "scale: 0 = real tissue of other images with the nearest counts (floor), 1 = the same counts placed "
    "at random; scaled = (score − floor) / (random − floor)"
)


def _num(v) -> float | None:
    """A finite float, or ``None`` (missing cells are NaN or ``None``)."""
    x = float(v) if isinstance(v, (int, float, np.number)) else math.nan
    return x if math.isfinite(x) else None


def _g(v) -> str:
    v = _num(v)
    return "—" if v is None else f"{v:.4g}"


def scale_rows(table: pd.DataFrame, meta: Mapping) -> list[list[str]]:
    """``[score, class, value, floor, random, scaled [lo, hi]]`` per scaled
    metric and row (``undefined`` where the rows do not separate)."""
    out = []
    for m, s in (meta.get("scale") or {}).items():
        col = f"{m}_scaled"
        if not isinstance(s, Mapping) or col not in table.columns:
            continue
        for k, row in enumerate(table.index):
            v = _num(table.at[row, col])
            if v is None:
                txt = "undefined (random not 2 se above floor)"
            else:
                lo = _num(table.at[row, f"{col}_lo"]) if f"{col}_lo" in table.columns else None
                hi = _num(table.at[row, f"{col}_hi"]) if f"{col}_hi" in table.columns else None
                txt = f"{v:.2f}" + (f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else "")
            value = table.at[row, m] if m in table.columns else None
            floor, rand = s["floor"].get(row), s["random"].get(row)
            c = metric_registry.column(m)
            out.append(
                [(c.title if c is not None else m) if k == 0 else "", str(row), _g(value), _g(floor), _g(rand), txt]
            )
    return out


def scale_lines(table: pd.DataFrame, meta: Mapping) -> list[str]:
    """The text block under the report table (none without a scale)."""
    rows = scale_rows(table, meta)
    if not rows:
        return []
    head = ["score", "class", "value", "floor", "random", "scaled [95 % interval]"]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells):
        return "  ".join(c.ljust(w) if i < 2 or i == 5 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return ["", HEADLINE, line(head).rstrip(), "  ".join("-" * w for w in widths), *(line(r).rstrip() for r in rows)]


def scale_html(table: pd.DataFrame, meta: Mapping) -> str:
    """The scale as a small HTML section (empty without a scale)."""
    rows = scale_rows(table, meta)
    if not rows:
        return ""
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in ("score", "class", "value", "floor", "random", "scaled [95 %]"))
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return (
        f'<section id="scale"><h2>Scale</h2><p class="sub">{e(HEADLINE)}</p>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
    )


def verdict(table: pd.DataFrame, meta: Mapping) -> str:
    """What the scale says about the scores (the demo's closing line): which
    scores separate real tissue from random placement, and where one cannot."""
    scale = {m: s for m, s in (meta.get("scale") or {}).items() if f"{m}_scaled" in table.columns}
    if not scale:
        return (
            "The random baseline keeps each patch's counts but not its spatial structure: a useful generator "
            "should score below it on TopoKD and MMD (real tissue of other images does too; the paper TopoFD "
            "of epithelial and stromal cells does not separate real tissue from random placement, see the docs)."
        )
    name = {m: (c.title if (c := metric_registry.column(m)) is not None else m) for m in scale}
    ok = [name[m] for m in scale if table[f"{m}_scaled"].notna().all()]
    bad = {
        name[m]: [str(r) for r in table.index if not math.isfinite(float(table.at[r, f"{m}_scaled"]))] for m in scale
    }
    bad = {k: v for k, v in bad.items() if v}
    out = (
        "The random baseline keeps each patch's counts but not its spatial structure: it is 1 on the scale, "
        "real tissue of other images with the nearest counts 0."
    )
    if ok:
        out += f" A useful generator scores well below 1, near 0, on {' and '.join(ok)}."
    for k, rows in bad.items():
        out += f" {k} cannot tell real tissue from random placement for {', '.join(rows)}: do not rank by it there."
    return out

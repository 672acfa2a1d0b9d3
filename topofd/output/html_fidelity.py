"""The HTML report's fidelity and memorisation section (issue 18), drawn as
inline SVG: no figure library, nothing fetched, every name escaped.

* Precision–recall: one point per table row that has both (Kynkäänniemi et
  al. 2019, :mod:`topofd.metrics.manifold`).  The scores are computed on
  whole layouts, so a comparison has one point, the ``mean`` row ("all
  classes"); a table with per-class values gets one point per class.
  Top right is a synthetic set that looks real (precision) and reaches
  all of the real variety (recall); low recall at high precision is mode
  dropping, low precision at high recall noise.
* Near-copy gallery: for the closest synthetic–training pairs the
  ``near_copies`` plug-in lists (``meta["near_copies"]["worst"]``), the
  training layout and the synthetic layout side by side, cells coloured by
  class, with their matching distance and the threshold τ; under it the
  memorisation verdict lines (C_T, Meehan et al. 2020, and the near-copy
  share).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from topofd.output.html_base import esc

__all__ = ["fidelity_section", "pr_points", "pr_svg", "layout_svg"]

# colour-blind-safe (Okabe–Ito), one per class in report order
_PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000")
_MEMO = "memorisation:"


def _finite(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def pr_points(table) -> list[tuple[str, float, float]]:
    """``(row, precision, recall)`` of every table row that has both."""
    if "precision" not in table.columns or "recall" not in table.columns:
        return []
    out = []
    for row in table.index:
        p, r = _finite(table.at[row, "precision"]), _finite(table.at[row, "recall"])
        if p is not None and r is not None:
            out.append(("all classes" if str(row) == "mean" else str(row), p, r))
    return out


def pr_svg(points: Sequence[tuple[str, float, float]], size: int = 260) -> str:
    """The precision–recall square, recall on x and precision on y, both in [0, 1]."""
    pad, side = 40, size - 56
    x = [pad + side * min(max(r, 0.0), 1.0) for _, _, r in points]
    y = [16 + side * (1 - min(max(p, 0.0), 1.0)) for _, p, _ in points]
    out = [
        f'<svg viewBox="0 0 {size} {size}" width="100%" role="img" aria-label="precision against recall">',
        f'<rect x="{pad}" y="16" width="{side}" height="{side}" fill="none" stroke="#8a94a3"/>',
        f'<text x="{pad + side / 2}" y="{size - 8}" font-size="12" text-anchor="middle">recall</text>',
        f'<text x="12" y="{16 + side / 2}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 12 {16 + side / 2})">precision</text>',
        f'<text x="{pad - 4}" y="{16 + side}" font-size="10" text-anchor="end">0</text>',
        f'<text x="{pad - 4}" y="24" font-size="10" text-anchor="end">1</text>',
        f'<text x="{pad + side}" y="{side + 30}" font-size="10" text-anchor="middle">1</text>',
    ]
    for k, ((label, p, r), cx, cy) in enumerate(zip(points, x, y)):
        colour = _PALETTE[k % len(_PALETTE)]
        out.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{colour}"><title>{esc(label)}: precision {p:.3f}, '
            f"recall {r:.3f}</title></circle>"
        )
        out.append(f'<text x="{cx - 7:.1f}" y="{cy - 8:.1f}" font-size="11" text-anchor="end">{esc(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def layout_svg(cells: Sequence[np.ndarray], extent: tuple[float, float], label: str) -> str:
    """One layout's cells as dots, coloured by class, on a canvas of ``extent`` (x, y) pixels;
    half the width of its box, so that a pair fits side by side on a phone."""
    w, h = max(extent[0], 1.0), max(extent[1], 1.0)
    r = max(w, h) / 90  # a dot of about 1.5 px on a 140 px wide drawing
    out = [
        f'<svg viewBox="0 0 {w:.0f} {h:.0f}" width="48%" role="img" aria-label="{esc(label)}">',
        f'<rect width="{w:.0f}" height="{h:.0f}" fill="#fafbfc" stroke="#d8dde4"/>',
    ]
    for k, pts in enumerate(cells):
        pts = np.asarray(pts, float).reshape(-1, 2)
        colour = _PALETTE[k % len(_PALETTE)]
        out += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="{r:.1f}" fill="{colour}"/>' for a, b in pts]
    out.append("</svg>")
    return "".join(out)


def _gallery(report, nc: dict) -> str:
    art = getattr(report, "artifacts", None) or {}
    classes = [c for c in art if art[c].get("near_copy_pairs") is not None]
    if not classes:
        return ""
    n = min(len(art[classes[0]]["near_copy_pairs"]), len(nc.get("worst") or []))
    pairs = [[art[c]["near_copy_pairs"][i] for c in classes] for i in range(n)]
    pts = [np.asarray(p, float).reshape(-1, 2) for pair in pairs for t, s in pair for p in (t, s)]
    pts = [p for p in pts if len(p)]
    top = np.max([p.max(axis=0) for p in pts], axis=0) + 1.0 if pts else np.ones(2)
    ext = (float(top[0]), float(top[1]))
    tau = _finite(nc.get("threshold_px"))
    key = " ".join(
        f'<span style="color:{_PALETTE[k % len(_PALETTE)]}">●</span> {esc(c)}' for k, c in enumerate(classes)
    )
    out = [f'<h3>Closest synthetic layouts to the training set</h3><p class="legend">{key}</p><div class="grid">']
    for i, pair in enumerate(pairs):
        w = nc["worst"][i]
        d = _finite(w.get("distance_px"))
        flag = "near copy" if d is not None and tau is not None and d < tau else "not a near copy"
        caption = (
            f"training {w.get('train')} (left) · synthetic {w.get('synthetic')} (right): matching distance "
            + (f"{d:.2f} px" if d is not None else "—")
            + (f", τ = {tau:.2f} px: {flag}" if tau is not None else "")
        )
        train_svg = layout_svg([t for t, _ in pair], ext, f"training layout {w.get('train')}")
        synth_svg = layout_svg([s for _, s in pair], ext, f"synthetic layout {w.get('synthetic')}")
        out.append(f"<figure>{train_svg} {synth_svg}<figcaption>{esc(caption)}</figcaption></figure>")
    out.append("</div>")
    return "".join(out)


def fidelity_section(report) -> str:
    """The section, or ``""`` when neither precision/recall nor the memorisation metrics ran."""
    meta = dict(getattr(report, "meta", None) or {})
    parts = []
    pr = pr_points(report.table)
    if pr:
        parts.append(
            '<h3>Precision and recall</h3><div class="grid"><figure>'
            f"{pr_svg(pr)}<figcaption>Precision (fidelity) against recall (diversity) on the per-layout "
            "topological features: top right is best; high precision at low recall is mode dropping, "
            "the reverse is noise.</figcaption></figure></div>"
        )
    verdicts = [str(n) for n in meta.get("notes") or [] if str(n).startswith(_MEMO)]
    if verdicts:
        parts.append('<ul class="notes verdict">' + "".join(f"<li>{esc(v)}</li>" for v in verdicts) + "</ul>")
    nc = meta.get("near_copies")
    if isinstance(nc, dict) and nc.get("worst"):
        parts.append(_gallery(report, nc))
    if not parts:
        return ""
    return '<section id="fidelity"><h2>Fidelity and memorisation</h2>' + "".join(parts) + "</section>"

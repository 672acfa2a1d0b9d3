"""Figures of a comparison: one PNG per figure, named by class.

Per class: the real and synthetic barycenter persistence diagrams overlaid
(H1 of each class's Rips filtration, TopoCellGen Sec. 3.4, averaged over the
set in the Wasserstein sense); the landscapes TopoFD takes as μ, real vs
synthetic (the barycenter's under ``paper``, the mean under ``grid``); and,
for paired runs, the
synthetic vs real per-patch cell count scatter with the identity line (the
counts behind CCE/TCE).  Rendering uses matplotlib's Agg backend, so no
display is needed; each file is written under a temporary name and renamed,
so a failure leaves no half-written PNG.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

__all__ = ["write_plots", "plot_barycenters", "plot_landscapes", "plot_counts"]

REAL, SYNTH = "#1f77b4", "#d62728"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("._") or "class"


def _figure():
    from matplotlib.figure import Figure

    # a bare Figure uses the Agg canvas on savefig: no pyplot state, no GUI backend
    fig = Figure(figsize=(5, 4.5), dpi=100)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig, path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format="png", bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def plot_barycenters(ax, real: np.ndarray, synth: np.ndarray, cls: str) -> None:
    real = np.asarray(real, dtype=float).reshape(-1, 2)
    synth = np.asarray(synth, dtype=float).reshape(-1, 2)
    both = np.concatenate([real, synth])
    both = both[np.isfinite(both).all(axis=1)]
    hi = float(both.max()) if len(both) else 1.0
    lo = min(0.0, float(both.min())) if len(both) else 0.0
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.6", lw=1, zorder=0, label="diagonal")
    ax.scatter(real[:, 0], real[:, 1], s=22, c=REAL, alpha=0.7, label=f"real ({len(real)} points)")
    ax.scatter(synth[:, 0], synth[:, 1], s=22, marker="x", c=SYNTH, alpha=0.8, label=f"synthetic ({len(synth)} points)")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("birth")
    ax.set_ylabel("death")
    ax.set_title(f"{cls}: barycenter persistence diagrams")
    ax.legend(loc="lower right", fontsize=8)


def plot_landscapes(ax, x_real, y_real, x_synth, y_synth, cls: str, protocol: str = "paper") -> None:
    y_real, y_synth = np.asarray(y_real, float).ravel(), np.asarray(y_synth, float).ravel()
    x_real = np.arange(len(y_real)) if x_real is None else np.asarray(x_real, float).ravel()
    x_synth = np.arange(len(y_synth)) if x_synth is None else np.asarray(x_synth, float).ravel()
    ax.plot(x_real, y_real, color=REAL, lw=1.6, label="real")
    ax.plot(x_synth, y_synth, color=SYNTH, lw=1.6, ls="--", label="synthetic")
    ax.set_xlabel("filtration value")
    # what TopoFD takes as mu: under `paper` the landscape of the barycenter
    # (on its own range), under `grid` the mean landscape
    what = "landscape of the barycenter" if protocol == "paper" else "mean landscape"
    ax.set_ylabel(what)
    ax.set_title(f"{cls}: {what} (μ of TopoFD)")
    ax.legend(fontsize=8)


def plot_counts(ax, real, synth, cls: str) -> None:
    real, synth = np.asarray(real, float).ravel(), np.asarray(synth, float).ravel()
    hi = max(float(real.max()) if len(real) else 1.0, float(synth.max()) if len(synth) else 1.0, 1.0)
    ax.plot([0, hi], [0, hi], color="0.5", lw=1, zorder=0, label="identity")
    ax.scatter(real, synth, s=10, c=SYNTH, alpha=0.5, label=f"{len(real)} pairs")
    ax.set_xlim(-0.02 * hi, 1.02 * hi)
    ax.set_ylim(-0.02 * hi, 1.02 * hi)
    ax.set_aspect("equal")
    ax.set_xlabel("real cell count")
    ax.set_ylabel("synthetic cell count")
    ax.set_title(f"{cls}: cell counts per paired patch")
    ax.legend(fontsize=8)


def plot_class_landscapes(ax, artifacts: dict, cls: str, protocol: str = "paper") -> None:
    """:func:`plot_landscapes` of one class's report artifacts (real and synthetic μ)."""
    a = artifacts
    plot_landscapes(
        ax,
        a.get("landscape_x_real"),
        a["landscape_real"],
        a.get("landscape_x_synth"),
        a["landscape_synth"],
        cls,
        protocol,
    )


def write_plots(report, out_dir) -> list[Path]:
    """Write the figures of ``report`` (a :class:`topofd.api.Report`) under
    ``out_dir`` (created); returns the paths written.  Needs
    ``report.artifacts``; count scatters only when ``report.counts_real`` is
    set (paired runs)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    art = getattr(report, "artifacts", None) or {}
    for cls, a in art.items():
        stem = _safe(cls)
        if a.get("barycenter_real") is not None and a.get("barycenter_synth") is not None:
            fig, ax = _figure()
            plot_barycenters(ax, a["barycenter_real"], a["barycenter_synth"], cls)
            written.append(_save(fig, out / f"{stem}_barycenters.png"))
        if a.get("landscape_real") is not None and a.get("landscape_synth") is not None:
            fig, ax = _figure()
            plot_class_landscapes(ax, a, cls, getattr(report, "protocol", "paper"))
            written.append(_save(fig, out / f"{stem}_landscapes.png"))
    cr, cs = getattr(report, "counts_real", None), getattr(report, "counts_synth", None)
    if cr is not None and cs is not None:
        cr, cs = np.asarray(cr), np.asarray(cs)
        classes = list(art) or [f"class{k + 1}" for k in range(cr.shape[1])]
        if not art and hasattr(report, "table"):
            classes = [c for c in report.table.index if c != "mean"]
        for k, cls in enumerate(classes[: cr.shape[1]]):
            fig, ax = _figure()
            plot_counts(ax, cr[:, k], cs[:, k], cls)
            written.append(_save(fig, out / f"{_safe(cls)}_counts.png"))
    return written

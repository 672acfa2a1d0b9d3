"""One-file HTML pages: a comparison report and a leaderboard.

The page carries everything inside it: figures as base64 PNG data URIs,
CSS inline, no script, no web font, no link to fetch.  A content security
policy in the page says so to the browser as well, so a copied or mailed
file shows the same thing offline and cannot reach the network.  Every piece
of text taken from the data (file and class names, notes, metadata) is
escaped: names come from users' folders.

Tables are rendered from their columns, not from a fixed list of metrics: a
metric column ``m`` is shown with its siblings ``m_se`` (as ``± se``) and
``m_lo`` / ``m_hi`` (as ``[lo, hi]``) when they exist, and a column ``m_p``
as a p-value beside it, so metrics and uncertainty columns added later
appear without a change here.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from topofd.output.html_base import esc, legend_html, notes_html, page, png_uri, provenance_html, table_html
from topofd.output.html_sections import explanations_section

__all__ = ["report_html", "leaderboard_html"]


# ------------------------------------------------------------------ figures
def _figures(report) -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(class, [(caption, data URI)])]``: the figures :mod:`topofd.output.plots`
    writes as files, for the same artifacts."""
    from topofd.output.plots import plot_barycenters, plot_class_landscapes, plot_counts

    art = getattr(report, "artifacts", None) or {}
    protocol = getattr(report, "protocol", "paper")
    classes = [str(c) for c in getattr(report, "classes", ()) or ()]
    if not classes and hasattr(report, "table"):
        classes = [str(c) for c in report.table.index if str(c) != "mean"]
    for c in art:
        if str(c) not in classes:
            classes.append(str(c))
    figs: dict[str, list[tuple[str, str]]] = {c: [] for c in classes}
    for cls, a in art.items():
        cls = str(cls)
        if a.get("barycenter_real") is not None and a.get("barycenter_synth") is not None:
            figs[cls].append(
                (
                    "Wasserstein barycenters of the H1 persistence diagrams, real and synthetic",
                    png_uri(
                        lambda ax, a=a, cls=cls: plot_barycenters(ax, a["barycenter_real"], a["barycenter_synth"], cls)
                    ),
                )
            )
        if a.get("landscape_real") is not None and a.get("landscape_synth") is not None:
            what = "landscape of the barycenter" if protocol == "paper" else "mean landscape"
            figs[cls].append(
                (
                    f"Persistence landscapes ({what}): the μ TopoFD compares",
                    png_uri(lambda ax, a=a, cls=cls: plot_class_landscapes(ax, a, cls, protocol)),
                )
            )
    cr, cs = getattr(report, "counts_real", None), getattr(report, "counts_synth", None)
    if cr is not None and cs is not None:
        cr, cs = np.asarray(cr), np.asarray(cs)
        names = classes or [f"class{k + 1}" for k in range(cr.shape[1])]
        for k, cls in enumerate(names[: cr.shape[1]]):
            figs.setdefault(cls, []).append(
                (
                    "Per-patch cell counts of the paired layouts, behind CCE and TCE",
                    png_uri(lambda ax, k=k, cls=cls: plot_counts(ax, cr[:, k], cs[:, k], cls)),
                )
            )
    return [(c, f) for c, f in figs.items() if f]


# ---------------------------------------------------------------- public
def _header(meta: Mapping, protocol: str) -> str:
    real, synth = meta.get("real"), meta.get("synthetic")
    counts = [f"protocol {protocol}"]
    if meta.get("n_real") is not None:
        counts.append(f"{meta['n_real']} real")
    if meta.get("n_synth") is not None:
        counts.append(f"{meta['n_synth']} synthetic layouts")
    if meta.get("n_pairs") is not None:
        counts.append(f"{meta['n_pairs']} pairs")
    parts = ["<header><h1>topofd report</h1>"]
    if synth is not None:
        parts.append(f'<p class="sub">synthetic: <span class="mono">{esc(synth)}</span></p>')
    if real is not None:
        parts.append(f'<p class="sub">real: <span class="mono">{esc(real)}</span></p>')
    parts.append(f'<p class="sub">{esc(" · ".join(counts))}</p></header>')
    return "".join(parts)


def _scores(table, meta: Mapping) -> str:
    return (
        '<section id="scores"><h2>Scores</h2>'
        + table_html(table, row_header="class", index=True, mean_row="mean")
        + legend_html(table)
        + notes_html(meta.get("notes"))
        + "</section>"
    )


def _figures_section(figs) -> str:
    if not figs:
        return ""
    parts = ['<section id="figures"><h2>Figures</h2>']
    for cls, items in figs:
        parts.append(f'<h3>{esc(cls)}</h3><div class="grid">')
        for caption, uri in items:
            parts.append(
                f'<figure><img src="{uri}" alt="{esc(cls)}: {esc(caption)}">'
                f"<figcaption>{esc(caption)}</figcaption></figure>"
            )
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


def report_html(report) -> str:
    """The comparison ``report`` (a :class:`topofd.api.Report`) as one
    self-contained HTML page, one function per section: header, scores
    (the table with standard errors, intervals and p-values where it has
    them, the legend, the notes), the figures of :mod:`topofd.output.plots`
    per class, the fidelity and memorisation section
    (:mod:`topofd.output.html_fidelity`) when those metrics ran, the
    plug-ins' explanations (:mod:`topofd.output.html_sections`) and the
    run's provenance."""
    from topofd.output.html_fidelity import fidelity_section

    meta = dict(getattr(report, "meta", None) or {})
    protocol = meta.get("protocol", getattr(report, "protocol", "?"))
    figs = _figures(report)
    body = "".join(
        [
            _header(meta, protocol),
            _scores(report.table, meta),
            _figures_section(figs),
            fidelity_section(report),
            explanations_section(meta),
            f'<section id="provenance"><h2>Provenance</h2>{provenance_html(meta)}</section>',
        ]
    )
    synth = meta.get("synthetic")
    return page("topofd report" + (f": {synth}" if synth is not None else ""), body, figures=bool(figs))


def _as_tables(tables) -> list:
    import pandas as pd

    if isinstance(tables, pd.DataFrame):
        return [tables]
    if isinstance(tables, Mapping):
        return list(tables.values())
    return list(tables)


def leaderboard_html(tables) -> str:
    """Leaderboard tables (a DataFrame of
    :func:`topofd.output.leaderboard.build_table`, the dict of
    :func:`~topofd.output.leaderboard.build_tables`, or a list of DataFrames) as one
    self-contained HTML page, each table with its ``attrs`` (protocol, test
    set, dataset) as heading and ``attrs["notes"]`` under it."""
    dfs = _as_tables(tables)
    parts = [
        "<header><h1>topofd leaderboard</h1>",
        f'<p class="sub">{len(dfs)} table{"s" if len(dfs) != 1 else ""}, rows sorted as ranked</p></header>',
    ]
    for k, df in enumerate(dfs):
        attrs = dict(getattr(df, "attrs", {}) or {})
        head = []
        if attrs.get("protocol"):
            head.append(f"protocol {attrs['protocol']}")
        if attrs.get("test_set"):
            head.append(f"test set {attrs['test_set']}")
        if attrs.get("dataset"):
            head.append(f"dataset {attrs['dataset']}")
        parts.append(f'<section id="table-{k + 1}"><h2>{esc(" · ".join(head) or f"Table {k + 1}")}</h2>')
        df = df.reset_index(drop=True)
        if "method" in df.columns:  # unique per table (build_table refuses duplicates): the pinned row label
            parts.append(table_html(df.set_index("method"), row_header="method", index=True))
        else:
            parts.append(table_html(df, row_header=None, index=False))
        parts.append(legend_html(df, provenance=False))
        parts.append(notes_html(attrs.get("notes")))
        extra = {a: v for a, v in attrs.items() if a not in ("protocol", "test_set", "dataset", "notes")}
        if extra:
            parts.append(provenance_html(extra))
        parts.append("</section>")
    return page("topofd leaderboard", "".join(parts), figures=False)

"""Leaderboard columns beyond the TopoCellGen paper's Table 1: the recomputed
MMD's column name, and the fidelity and memorisation scores (issue 18) a
report carries when ``compare`` ran them.

Fidelity and memorisation columns are shown, never ranked: precision,
recall, density, coverage (Kynkäänniemi et al. 2019; Naeem et al. 2020) say
in which way a set is wrong, C_T (Meehan et al. 2020) and the near-copy
share whether it copies its training set — none is a distance to rank by.
A report without them leaves its cells blank.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from topofd import metrics as metric_registry
from topofd.output.report import title

__all__ = ["as_number", "TABLE1", "side_column_keys", "scaled_keys", "mmd_column", "side_columns", "side_notes"]


# the columns of the TopoCellGen paper's Table 1, which the leaderboard places itself
TABLE1 = ("cce", "tce", "topofd", "topokd", "mmd")


def side_column_keys() -> tuple[str, ...]:
    """Report keys of the registered columns a leaderboard shows but never
    ranks: every column with a ``mean`` row that is not one of Table 1's, in
    report order."""
    return tuple(c.key for c in metric_registry.columns() if c.mean and c.key not in TABLE1)


def scaled_keys() -> tuple[str, ...]:
    """Report keys of the scores on their floor-to-random scale (the
    registered columns declared ``scaled``; :mod:`topofd.stats.scale`),
    shown when a report carries them."""
    return tuple(f"{c.key}_scaled" for c in metric_registry.columns() if c.scaled)


def mmd_column(report: dict) -> str:
    """The column of a recomputed MMD, named after its estimator — never
    the published ``MMD`` column (a recomputed MMD is another quantity: its
    estimator and σ differ from the paper's, whose σ is not published)."""
    meta = report.get("meta", {})
    est = (meta.get("mmd") or {}).get("estimator") or meta.get("mmd_estimator")
    if est == "paper":
        return "MMD (paper formula, recomputed)"
    if est in ("unbiased", "biased"):
        return f"MMD² ({est})"
    return "MMD (recomputed: estimator not recorded)"


def side_columns(mean: dict) -> list[tuple[str, str]]:
    """``(column title, report key)`` of the side scores present in a report's ``mean`` row."""
    return [(title(k), k) for k in (*side_column_keys(), *scaled_keys()) if mean.get(k) is not None]


def side_notes(rows: Sequence[dict]) -> list[str]:
    """The table note on the side columns, when any row has one: each
    shown score with how to read it (its column's ``help``)."""
    cols = [c for k in side_column_keys() if (c := metric_registry.column(k)) is not None]
    shown = [c for c in cols if any(c.title in r for r in rows)]
    scaled = [title(k) for k in scaled_keys() if any(title(k) in r for r in rows)]
    scale_note = [
        f"{', '.join(scaled)}: 0 = real tissue of other images with the nearest counts, 1 = random placement "
        "with the same counts (topofd stats --floor-pool; bundled for brca-m2c:test)"
    ]
    if not shown:
        return scale_note if scaled else []
    how = "; ".join(f"{c.title}: {c.help}" for c in shown if c.help)
    return (scale_note if scaled else []) + [
        f"{', '.join(c.title for c in shown)}: shown, never ranked"
        + (f" ({how})" if how else "")
        + "; '—' where a report did not compute them (compare --metrics NAME)"
    ]


def as_number(v) -> float:
    """A cell value as a float (``nan``: missing or not a number)."""
    if v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan

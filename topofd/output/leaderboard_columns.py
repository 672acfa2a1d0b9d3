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

from collections.abc import Sequence

from topofd.output.report import METRIC_TITLES

__all__ = ["SIDE_COLUMNS", "mmd_column", "side_columns", "side_notes"]

# report keys of the columns shown but never ranked, in table order
SIDE_COLUMNS = ("precision", "recall", "density", "coverage", "ct", "near_copies")


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
    return [(METRIC_TITLES[k], k) for k in SIDE_COLUMNS if mean.get(k) is not None]


def side_notes(rows: Sequence[dict]) -> list[str]:
    """The table note on the side columns, when any row has one."""
    shown = [METRIC_TITLES[k] for k in SIDE_COLUMNS if any(METRIC_TITLES[k] in r for r in rows)]
    if not shown:
        return []
    return [
        f"{', '.join(shown)}: shown, never ranked (fidelity: precision, density — higher looks more real; "
        "diversity: recall, coverage; memorisation: C_T ≤ −3 or a near-copy share well above 1 % = copying, "
        "Meehan et al. 2020); '—' where a report did not compute them (compare --metrics fidelity,memorisation "
        "--train)"
    ]

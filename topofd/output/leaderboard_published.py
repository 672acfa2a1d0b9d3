"""Published leaderboard rows: quoted as printed, never recomputed.

The TopoCellGen paper's Table 1 (both datasets) is bundled; other tables
load from JSON (:func:`load_published`).  :func:`published_block` decides
where a leaderboard shows them: ranked with recomputed rows only on the
published test set and when the ranking score is TopoFD (the only score the
paper reports), else in a block of their own — with a note saying why.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from topofd.output.leaderboard_columns import as_number

__all__ = ["PUBLISHED", "QUOTED", "load_published", "published_cce_map", "published_rows", "published_block"]

QUOTED = "published, not recomputed"
_PLACEHOLDER = re.compile(r"class\d+")


def _bundled_published() -> dict[str, list[dict]]:
    # Table 1 of Xu et al., "TopoCellGen", CVPR 2025, as printed (both datasets)
    text = (resources.files("topofd") / "data" / "published" / "topocellgen_cvpr2025_table1.json").read_text()
    out: dict[str, list[dict]] = {}
    for r in json.loads(text):
        out.setdefault(str(r["dataset"]).lower(), []).append(r)
    return out


# The TopoCellGen paper's Table 1 rows per dataset ({dataset: [row]}, keys as
# in :func:`load_published`): quoted, never recomputed.
PUBLISHED: dict[str, list[dict]] = _bundled_published()


def load_published(path: str | Path) -> dict[str, list[dict]]:
    """Published rows from a JSON file: a list of objects
    ``{"dataset", "method", "cce": {class: value}, "tce", "topofd", "mmd",
    "fid", "reference"}`` (numbers optional) → ``{dataset: [rows]}``."""
    path = Path(path)
    try:
        rows = json.loads(path.read_text())
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror or e.__class__.__name__})") from None
    except json.JSONDecodeError:
        raise ValueError(f"{path}: not a JSON file") from None
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a list of published rows")
    out: dict[str, list[dict]] = {}
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or "dataset" not in r or "method" not in r:
            raise ValueError(f"{path}: row {i} needs 'dataset' and 'method'")
        out.setdefault(str(r["dataset"]).lower(), []).append(r)
    return out


def published_cce_map(rows: list[dict], classes: Sequence[str], notes: list[str]) -> dict[str, str]:
    """Report class → published class of the CCE columns: by name when the
    names agree, by position when the report's classes are the default
    placeholders ``class1..classC`` and the published table has C classes;
    else none, with a note saying why."""
    pub = list(dict.fromkeys(str(c) for r in rows for c in (r.get("cce") or {})))
    if not pub:
        return {}
    if set(classes) & set(pub):
        return {c: c for c in classes if c in pub}
    if all(_PLACEHOLDER.fullmatch(c) for c in classes) and len(pub) == len(classes):
        notes.append(
            "published per-class CCE: "
            + ", ".join(f"{p} under {c}" for c, p in zip(classes, pub))
            + " (by position: the reports' classes are unnamed placeholders)"
        )
        return dict(zip(classes, pub))
    notes.append(
        f"published per-class CCE not shown: the reports' classes {list(classes)} are not the published "
        f"ones {pub}"
        + (
            " and not placeholders of the same number"
            if len(pub) != len(classes) or not all(_PLACEHOLDER.fullmatch(c) for c in classes)
            else ""
        )
    )
    return {}


def published_rows(rows: list[dict], classes: Sequence[str], cce_map: dict[str, str] | None = None) -> list[dict]:
    out = []
    cce_map = {c: c for c in classes} if cce_map is None else cce_map
    for r in rows:
        cce = r.get("cce") or {}
        row: dict[str, Any] = {"method": str(r["method"]), "source": QUOTED}
        for c in classes:
            row[f"CCE {c}"] = as_number(cce.get(cce_map[c])) if c in cce_map else math.nan
        row["TCE"] = as_number(r.get("tce"))
        row["TopoFD"] = as_number(r.get("topofd"))
        row["MMD"] = as_number(r.get("mmd"))
        if r.get("fid") is not None:
            row["FID"] = as_number(r.get("fid"))
        out.append(row)
    return out


def published_block(
    published: bool | dict, protocol: str, dataset: str, classes: Sequence[str], reports, key: str, notes: list[str]
) -> tuple[list[dict], bool]:
    """``(rows, ranked)``: the published rows a leaderboard shows and
    whether they are ranked with the recomputed ones (see the module
    docstring); the reasons go to ``notes``."""
    if published is False:
        return [], False
    if protocol != "paper":
        notes.append(f"published rows are shown only under the paper protocol (this table: {protocol})")
        return [], False
    if not dataset:
        return [], False
    quoted = (published if isinstance(published, dict) else PUBLISHED).get(dataset)
    if not quoted:
        if not isinstance(published, dict):
            notes.append(f"no published rows for dataset {dataset!r}")
        return [], False
    rows = published_rows(quoted, classes, published_cce_map(quoted, classes, notes))
    notes.append(
        "published rows: as printed in their paper (TopoCellGen, CVPR 2025, Table 1 for the "
        "bundled ones), not recomputed, no intervals published; their MMD is the paper's own "
        "(σ not published): recomputed MMD stands in its own column"
    )
    if not all(r.get("meta", {}).get("test_set") == f"{dataset}:test" for r in reports):
        notes.append(
            f"published rows in their own block, not ranked against recomputed rows: the real set "
            f"is not the published test set ({dataset}:test)"
        )
        return rows, False
    if key != "TopoFD":
        notes.append(
            "published rows in their own block: they have no TopoKD (the ranking score); on the "
            f"published test set ({dataset}:test) compare them with recomputed rows on TopoFD"
        )
        return rows, False
    return rows, True

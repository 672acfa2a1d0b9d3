"""Leaderboard: JSON reports of ``topofd compare --json`` as one table in the
layout of the TopoCellGen paper's Table 1 (CVPR 2025, Sec. 4): method,
per-class cell count error (CCE), total count error (TCE), TopoFD (Eqs. 11–12,
mean over classes), TopoKD, MMD, and FID when a report carries one; and, as
columns never ranked, the fidelity and memorisation scores of reports that
computed them (:mod:`topofd.output.leaderboard_columns`).

Rows are ranked by TopoKD (the recommended score) when the reports have it,
else by TopoFD; TopoFD stays as the column comparable to published tables.

Reports computed under different protocols or on different test sets are
never ranked together: :func:`build_table` refuses them with a ``ValueError``
and :func:`build_tables` groups them, one table per (protocol, test set).
Reports made at different sample sizes (``n_synth``) are flagged (column
``N``, a note): TopoFD falls with N, so rows at different N get no tie mark
against each other on TopoFD; TopoKD (N-free in expectation) is ranked
across N, with the note.

Recomputed rows carry their standard errors (``TopoKD se``, ``TopoFD se``
etc., from the reports' intervals); the column ``vs above`` marks a row whose
ranking score is not distinguishable from the row above it: a two-sided
Welch t-test on the two rows' standard errors (independent synthetic sets
scored against the same real set, so the variance of the difference is the
sum), p ≥ 0.05.  A recomputed MMD goes in a column named after its
estimator (``MMD² (unbiased)``, ...), never in the published ``MMD`` column.

Published rows (numbers quoted from a paper, never recomputed) come from
:data:`PUBLISHED` (the TopoCellGen paper's Table 1, both datasets) or from a
user file (:func:`load_published`) and are marked ``published, not
recomputed``, without intervals (none were published).  They join a table
only under the ``paper`` protocol on the dataset they were published for,
and are ranked with recomputed rows only when every report's real set is
the published test set (``meta["test_set"] == "<dataset>:test"``) and the
ranking score is TopoFD; otherwise they stand in their own block (column
``block``).  Their per-class CCE is matched by class name, or by position
when the reports' classes are the placeholders ``class1..classC`` and the
numbers of classes agree (else a note says why it is not shown).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from topofd.output.leaderboard_columns import as_number, mmd_column, side_columns, side_notes
from topofd.output.leaderboard_published import PUBLISHED, QUOTED, load_published, published_block

__all__ = [
    "PUBLISHED",
    "RECOMPUTED",
    "QUOTED",
    "load_reports",
    "load_published",
    "report_group",
    "build_table",
    "build_tables",
    "to_markdown",
    "to_csv",
]

RECOMPUTED = "recomputed"

PUBLISHED_METHODS = ("ADM", "TMCCG", "Spatial Diffusion", "TopoCellGen")


# --------------------------------------------------------------------- input
def load_reports(paths: Iterable[str | Path]) -> list[dict]:
    """Read report JSON files (the schema of ``Report.to_dict()``).

    Each dict gets ``"_file"`` (its path); its method name is
    ``meta["method"]`` or else the file stem.  Raises ``ValueError`` naming
    the file when it cannot be read or is not a topofd report.
    """
    out = []
    for p in paths:
        p = Path(p)
        try:
            d = json.loads(p.read_text())
        except OSError as e:
            raise ValueError(f"{p}: cannot read ({e.strerror or e.__class__.__name__})") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValueError(f"{p}: not a JSON file") from None
        if not isinstance(d, dict):
            raise ValueError(f"{p}: not a topofd report (expected a JSON object)")
        for key in ("protocol", "classes", "per_class", "mean"):
            if key not in d:
                raise ValueError(f"{p}: not a topofd report (no {key!r} field)")
        if not isinstance(d["per_class"], list) or not isinstance(d["mean"], dict):
            raise ValueError(f"{p}: not a topofd report ('per_class' must be a list, 'mean' an object)")
        d.setdefault("meta", {})
        d["_file"] = str(p)
        out.append(d)
    if not out:
        raise ValueError("no report files given")
    return out


def method_name(report: dict) -> str:
    m = report.get("meta", {}).get("method")
    return str(m) if m else Path(report.get("_file", "report")).stem


def report_group(report: dict) -> tuple[str, str]:
    """``(protocol, test set)``: what must agree for two reports to be ranked
    together.  The test set is ``meta["test_set"]`` when the producer named
    it, else the real source and its number of layouts."""
    meta = report.get("meta", {})
    test = meta.get("test_set") or f"{meta.get('real', '?')} (n={meta.get('n_real', '?')})"
    if meta.get("real_hash"):
        # the data decide, not the typed path: a content hash of the real set
        test = f"{meta.get('test_set') or 'real set'} (n={meta.get('n_real', '?')}, {str(meta['real_hash'])[:12]})"
    return str(report["protocol"]), str(test)


# --------------------------------------------------------------------- table
def _row(report: dict, classes: Sequence[str]) -> dict:
    per = {str(r.get("class")): r for r in report["per_class"]}
    mean = report["mean"]
    meta = report.get("meta", {})
    row: dict[str, Any] = {"method": method_name(report), "source": RECOMPUTED}
    for c in classes:
        row[f"CCE {c}"] = as_number(per.get(c, {}).get("cce"))
    dfs = meta.get("se_df") or {}
    cols = [("TCE", "tce"), ("TopoFD", "topofd"), ("TopoKD", "topokd")]
    if mean.get("mmd") is not None:
        cols.append((mmd_column(report), "mmd"))
    cols += side_columns(mean)  # shown, never the ranking key
    for col, key in cols:
        if key == "topokd" and mean.get(key) is None:
            continue
        row[col] = as_number(mean.get(key))
        if mean.get(f"{key}_se") is not None:
            row[f"{col} se"] = as_number(mean.get(f"{key}_se"))
            row[f"{col} lo"], row[f"{col} hi"] = as_number(mean.get(f"{key}_lo")), as_number(mean.get(f"{key}_hi"))
            row[f"{col} df"] = dfs.get(key)
    for c in classes:
        row[f"TopoFD {c}"] = as_number(per.get(c, {}).get("topofd"))
    fid = mean.get("fid", meta.get("fid"))
    if fid is not None:
        row["FID"] = as_number(fid)
    row["n_real"] = meta.get("n_real")
    row["n_synth"] = meta.get("n_synth")
    row["mmd_samples"] = meta.get("mmd_samples")
    return row


def _common_group(reports: Sequence[dict]) -> tuple[str, str, list[str]]:
    """``(protocol, test set, classes)`` the reports share; ``ValueError`` otherwise."""
    if not reports:
        raise ValueError("no reports")
    groups = {report_group(r) for r in reports}
    if len(groups) > 1:
        desc = "; ".join(f"protocol {p!r} on {t}" for p, t in sorted(groups))
        raise ValueError(
            f"reports from different protocols or test sets cannot be ranked together ({desc}); "
            "group them (--group) or pass one kind at a time"
        )
    protocol, test_set = groups.pop()
    classes = [str(c) for c in reports[0]["classes"]]
    for r in reports[1:]:
        if [str(c) for c in r["classes"]] != classes:
            raise ValueError(f"{r.get('_file', method_name(r))}: classes {list(r['classes'])} differ from {classes}")
    names = [method_name(r) for r in reports]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"duplicate method names {dup}: set meta['method'] or rename the files")
    return protocol, test_set, classes


def _mark_sample_sizes(rows: list[dict], key: str, notes: list[str]) -> bool:
    """Mark rows at another ``n_synth`` than most (TopoFD is N-biased); ``True`` when sizes differ."""
    ns = [r.get("n_synth") for r in rows]
    if len({n for n in ns if n is not None}) <= 1:
        return False
    common = max(Counter(n for n in ns if n is not None).items(), key=lambda x: (x[1], x[0]))[0]
    for r in rows:
        r["N"] = "" if r.get("n_synth") == common else "† n_synth differs"
    sizes = "/".join(str(n) for n in sorted({n for n in ns if n is not None}))
    notes.append(
        f"† reports made at different sample sizes (n_synth {sizes}): TopoFD falls with N (biased), "
        "so TopoFD values of rows at different n_synth are not comparable and get no '≈'/'>' mark "
        "against each other"
        + (
            "; TopoKD (N-free in expectation) is ranked across N"
            if key == "TopoKD"
            else "; rank them by TopoKD (compare --metrics topokd) or recompute at one N"
        )
    )
    return True


def _ranked(rows: list[dict], quoted: list[dict], key: str, mixed_n: bool, notes: list[str]) -> pd.DataFrame:
    """The rows sorted by ``key`` with the '≈'/'>' marks, then the published block (if any)."""
    df = pd.DataFrame(rows).sort_values(key, na_position="last", kind="stable").reset_index(drop=True)
    if f"{key} se" in df:
        df["vs above"] = _ties(df, key, n_matters=(key == "TopoFD"))
        notes.append(
            f"vs above: '≈' = mean {key} not distinguishable from the row above (two-sided Welch t-test "
            f"on the rows' standard errors, p ≥ 0.05); '>' = higher than the row above at p < 0.05"
            + ("; 'n≠' = rows at different n_synth, not compared" if mixed_n and key == "TopoFD" else "")
        )
    if key == "TopoKD":
        notes.append(
            "ranked by TopoKD (the recommended score); TopoFD is the paper's score, the column comparable "
            "to published tables"
        )
    if quoted:
        q = pd.DataFrame(quoted).sort_values("TopoFD", na_position="last", kind="stable")
        df = pd.concat([df, q], ignore_index=True)
        df["block"] = [RECOMPUTED] * (len(df) - len(q)) + ["published (own block)"] * len(q)
    return df


def _tidy(df: pd.DataFrame, classes: Sequence[str], per_class_topofd: bool) -> pd.DataFrame:
    if not per_class_topofd:
        df = df.drop(columns=[f"TopoFD {c}" for c in classes if f"TopoFD {c}" in df])
    for col in ("n_real", "n_synth", "mmd_samples"):
        if col in df and df[col].isna().all():
            df = df.drop(columns=col)
    tail = [c for c in ("n_real", "n_synth", "mmd_samples", "N", "vs above", "block") if c in df]
    return df[[c for c in df.columns if c not in tail] + tail]


def build_table(
    reports: Sequence[dict],
    published: bool | dict = True,
    *,
    dataset: str | None = None,
    per_class_topofd: bool = False,
) -> pd.DataFrame:
    """One leaderboard (rows sorted by mean TopoKD when the reports have it,
    else TopoFD; missing values last).

    All reports must share protocol, test set and class names, else
    ``ValueError`` (use :func:`build_tables` to group them).  ``published``:
    ``True`` adds :data:`PUBLISHED`'s rows for ``dataset`` (default: the
    reports' ``meta["dataset"]``) under the ``paper`` protocol; a dict
    ``{dataset: rows}`` (see :func:`load_published`) adds those instead.
    ``df.attrs`` holds ``protocol``, ``test_set``, ``dataset`` and ``notes``.
    """
    protocol, test_set, classes = _common_group(reports)
    if dataset is None:
        ds = {str(r.get("meta", {}).get("dataset", "")).lower() for r in reports}
        dataset = ds.pop() if len(ds) == 1 else ""
    dataset = (dataset or "").lower()
    rows = [_row(r, classes) for r in reports]
    notes: list[str] = side_notes(rows)
    # the score ranked: TopoKD (the recommended score, N-free in expectation) when the reports have it
    key = _rank_key(rows, notes)
    mixed_n = _mark_sample_sizes(rows, key, notes)
    quoted, ranked_with = published_block(published, protocol, dataset, classes, reports, key, notes)
    if ranked_with:
        rows, quoted = rows + quoted, []
    df = _tidy(_ranked(rows, quoted, key, mixed_n, notes), classes, per_class_topofd)
    mmd_n = {r.get("meta", {}).get("mmd_samples") for r in reports}
    if mmd_n - {None}:
        notes.append(
            "MMD on a random subset of at most " + "/".join(str(x) for x in sorted(mmd_n - {None})) + " layouts per set"
        )
    df.attrs.update(protocol=protocol, test_set=test_set, dataset=dataset, notes=notes, rank_by=key)
    return df


def _rank_key(rows: list[dict], notes: list[str]) -> str:
    """The ranked score (TopoKD when a report has it, else TopoFD); notes the reports without it."""
    key = "TopoKD" if any(math.isfinite(as_number(r.get("TopoKD"))) for r in rows) else "TopoFD"
    if unranked := [r["method"] for r in rows if not math.isfinite(as_number(r.get(key)))]:
        notes.append(f"not ranked, listed last: no {key} in the report of {', '.join(unranked)}")
    return key


def _ties(df: pd.DataFrame, key: str = "TopoFD", n_matters: bool = False) -> list[str]:
    from scipy import stats

    out = [""]
    for i in range(1, len(df)):
        a, b = df.iloc[i - 1], df.iloc[i]
        if (
            n_matters
            and a.get("n_synth") != b.get("n_synth")
            and not (pd.isna(a.get("n_synth")) or pd.isna(b.get("n_synth")))
        ):
            out.append("n≠")
            continue
        sa, sb = as_number(a.get(f"{key} se")), as_number(b.get(f"{key} se"))
        if not (math.isfinite(sa) and math.isfinite(sb)) or sa + sb == 0:
            out.append("")
            continue
        da, db = a.get(f"{key} df"), b.get(f"{key} df")
        va, vb = sa**2, sb**2
        if da and db and math.isfinite(as_number(da)) and math.isfinite(as_number(db)):
            dof = (va + vb) ** 2 / (va**2 / float(da) + vb**2 / float(db))
        else:
            dof = math.inf
        t = (b[key] - a[key]) / math.sqrt(va + vb)
        p = float(2 * stats.t.sf(abs(t), dof)) if math.isfinite(dof) else float(2 * stats.norm.sf(abs(t)))
        out.append(f"≈ (p={p:.2f})" if p >= 0.05 else f"> (p={p:.3f})")
    return out


def build_tables(reports: Sequence[dict], published: bool | dict = True, **kw) -> dict[tuple[str, str], pd.DataFrame]:
    """:func:`build_table` per ``(protocol, test set)`` group, in sorted order."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in reports:
        groups.setdefault(report_group(r), []).append(r)
    return {g: build_table(groups[g], published, **kw) for g in sorted(groups)}


# -------------------------------------------------------------------- output
def _fmt(v, col: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, str):
        return v
    if col in ("n_real", "n_synth", "mmd_samples"):
        return str(int(v))
    v = float(v)
    if col.startswith(("MMD", "Near copies")):
        return f"{v:.4f}"
    return f"{v:.2f}"


_DETAIL = (" se", " lo", " hi", " df")


def to_markdown(df: pd.DataFrame, title: str | None = None) -> str:
    """A GitHub Markdown table (``value ± se`` where a row has an interval;
    bounds and degrees of freedom stay in the CSV); ``df.attrs`` notes
    follow it as a list."""
    cols = [c for c in df.columns if not c.endswith(_DETAIL)]
    lines = []
    if title is None and df.attrs.get("protocol"):
        title = f"protocol `{df.attrs['protocol']}`, test set: {df.attrs.get('test_set', '?')}"
    if title:
        lines += [f"**{title}**", ""]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append(
        "|" + "|".join("---" if c in ("method", "source", "block", "N", "vs above") else "---:" for c in cols) + "|"
    )

    def cell(r, c):
        s = _fmt(r[c], c)
        se = r.get(f"{c} se")
        if s != "—" and se is not None and not (isinstance(se, float) and math.isnan(se)):
            s += f" ± {_fmt(se, c)}"
        return s

    for _, r in df.iterrows():
        lines.append("| " + " | ".join(cell(r, c) for c in cols) + " |")
    notes = df.attrs.get("notes") or []
    if notes:
        lines.append("")
        lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def to_csv(df: pd.DataFrame, path: str | Path | None = None) -> str:
    text = df.to_csv(index=False, float_format="%.6g")
    if path is not None:
        from topofd.storage.atomic import atomic_write_bytes

        atomic_write_bytes(Path(path), text.encode())
    return text

"""What a metric plug-in receives and returns.

A plug-in is a module with a ``METRIC`` object: ``name`` (the key of
``--metrics``), ``columns`` (the report columns it may fill) and
``score(real, synth, ctx) -> MetricResult``.  ``real`` and ``synth`` are
:class:`topofd.state.SetView` (diagrams and counts per layout, classes in
report order); ``ctx`` (:class:`Context`) carries the options, the class
names, the pairing and the resampling plan shared by every metric.  The
Evaluator runs the selected plug-ins and writes their cells into the report;
it does no arithmetic of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from topofd.option_spec import Spec
from topofd.options import Options
from topofd.state import SetView
from topofd.stats.uncertainty import MIN_LAYOUTS, Estimate, Plan, floored, plan

__all__ = [
    "Column",
    "MetricOption",
    "Curve",
    "Section",
    "NEEDS",
    "Context",
    "PaperStatsSource",
    "MetricResult",
    "Metric",
    "per_class_column",
    "partner_features",
    "resampling_plan",
    "one_to_one",
    "jackknife_method",
    "whole_layout_cells",
    "put_whole_layout",
    "nonnegative",
    "unmeasured_classes",
    "MIN_LAYOUTS",
]


class PaperStatsSource(Protocol):
    """Where the real set's ``paper`` statistics of class ``k`` come from:
    ``source(k)`` returns them (computed if needed); ``known(k)`` only what a
    reference or the cache already holds (``None`` otherwise), so that a
    plug-in can compute the missing ones with its own work, in parallel, and
    hand them back with ``keep(k, stats)``."""

    def __call__(self, k: int) -> Any: ...

    def known(self, k: int) -> Any | None: ...

    def keep(self, k: int, stats: Any) -> None: ...


@dataclass
class Context:
    """Everything a plug-in needs besides the two sets.

    ``options``: the comparison's :class:`topofd.options.Options`;
    ``names``: class names in report order; ``both_empty[k]``: class k has
    no cell in either set (not scored); ``pairs``: ``(real, synthetic)``
    index pairs or ``None``; ``plan``: the resampling plan of the synthetic
    set; ``real_paper_stats``: the real set's ``paper`` landscape
    statistics (a :class:`PaperStatsSource`: ``real_paper_stats(k)`` from a
    reference file, the cache, or computed);
    ``train``: the generator's training layouts, classes in report order
    (``None``: not given; memorisation metrics need it);
    ``real_features(extractor)``: the real set's stored encoder features
    (a loaded reference, :meth:`topofd.storage.reference.Reference.features_for`)
    or a note why none apply (a str instead of the function); ``None``: no reference.
    """

    options: Options
    names: tuple[str, ...]
    both_empty: list[bool]
    pairs: list[tuple[int, int]] | None
    plan: Plan
    real_paper_stats: PaperStatsSource
    train: SetView | None = None
    real_features: Callable[[Any], Any] | str | None = None

    @property
    def want_se(self) -> bool:
        return bool(self.options.uncertainty)

    def option(self, name: str) -> Any:
        """The value of a plug-in's option (:class:`MetricOption`) in this comparison."""
        return self.options.option(name)


@dataclass
class MetricResult:
    """One metric's contribution to the report.

    ``cells[column][row]``: an :class:`Estimate` per class row and ``mean``;
    ``uncertainty[column]``: how its interval was made; ``notes``: lines for
    the report; ``meta``: entries of the report's metadata; ``artifacts``:
    per-class arrays for figures; ``counts``: the paired ``(real, synthetic)``
    count arrays (count errors only); ``sections``: explanations
    (:class:`Section`), in ``report.meta["sections"][name]``.
    """

    cells: dict[str, dict[str, Estimate]] = field(default_factory=dict)
    uncertainty: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, dict] = field(default_factory=dict)
    counts: tuple[np.ndarray, np.ndarray] | None = None
    sections: list[Section] = field(default_factory=list)


NEEDS = frozenset({"pairs", "train", "points"})
BETTER = ("lower", "higher", "none")
SCOPES = ("class", "layout")


@dataclass(frozen=True)
class Column:
    """One report column a plug-in fills, described once for every output.

    ``key``: the table column (its interval adds ``<key>_se``, ``_lo``,
    ``_hi``); ``title``: the heading in the text table, HTML and
    leaderboard; ``better``: ``lower``/``higher`` is better, or ``none`` (a
    diagnostic without a direction, e.g. a p-value or C_T); ``scope``:
    ``class`` (a row per class and their mean) or ``layout`` (whole layouts:
    the ``mean`` row only); ``range``: the values the score can take;
    ``rank``: a leaderboard may rank by it (otherwise it is shown beside
    the ranking, never ranked); ``mean``: the column has a ``mean`` row in
    JSON (``False``: per class only, e.g. a p-value); ``decimals``: fixed
    decimals of the text table (``None``: four significant digits of the
    column's largest value); ``help``: one line for the docs.
    """

    key: str
    title: str
    better: str = "lower"
    scope: str = "class"
    range: tuple[float, float] = (-math.inf, math.inf)
    rank: bool = False
    mean: bool = True
    decimals: int | None = None
    help: str = ""

    def __post_init__(self) -> None:
        if not self.key.isidentifier() or self.key.endswith(("_se", "_lo", "_hi")):
            raise ValueError(f"column key {self.key!r}: a Python identifier not ending in _se/_lo/_hi")
        if self.better not in BETTER:
            raise ValueError(f"column {self.key}: better must be one of {', '.join(BETTER)}, not {self.better!r}")
        if self.scope not in SCOPES:
            raise ValueError(f"column {self.key}: scope must be one of {', '.join(SCOPES)}, not {self.scope!r}")


@dataclass(frozen=True)
class MetricOption:
    """An option a plug-in owns: ``name`` is its API keyword (and the key of
    :meth:`Context.option`), ``spec.flag`` its CLI flag; it joins the one
    options table (:func:`topofd.options.all_specs`)."""

    name: str
    default: Any
    spec: Spec


@dataclass
class Curve:
    """A figure of one explanation: ``lines`` (label -> y over ``x``) and an
    optional ``band`` (lower, upper) drawn behind them."""

    title: str
    x: Sequence[float]
    lines: dict[str, Sequence[float]]
    band: tuple[Sequence[float], Sequence[float]] | None = None
    band_label: str = ""
    xlabel: str = ""
    ylabel: str = ""

    def to_dict(self) -> dict:
        f = _floats
        band = None if self.band is None else [f(self.band[0]), f(self.band[1])]
        return {
            "title": self.title,
            "x": f(self.x),
            "lines": {k: f(v) for k, v in self.lines.items()},
            "band": band,
            "band_label": self.band_label,
            "xlabel": self.xlabel,
            "ylabel": self.ylabel,
        }


@dataclass
class Section:
    """What a plug-in explains beyond its columns, in a form every output
    renders without knowing the metric: ``sentences`` (findings in words:
    ``--explain`` and the HTML report), ``table`` (rows of a named table:
    JSON, CSV, HTML) and ``curves`` (HTML figures)."""

    title: str
    sentences: list[str] = field(default_factory=list)
    table: list[dict[str, Any]] = field(default_factory=list)
    curves: list[Curve] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "sentences": list(self.sentences),
            "table": [dict(r) for r in self.table],
            "curves": [c.to_dict() for c in self.curves],
        }


def _floats(v) -> list:
    return [None if not np.isfinite(x) else float(x) for x in np.asarray(v, dtype=float).ravel()]


class Metric:
    """A metric plug-in: a description (class attributes) and ``score``.

    ``name``: the key of ``--metrics``; ``summary``: one line for
    ``--metrics`` help and the docs; ``groups``: names that select it
    together with others (``--metrics fidelity``); ``default``: in the
    default selection; ``columns``: the :class:`Column` s it fills;
    ``needs``: what the Evaluator must give it (``pairs``: paired layouts,
    ``train``: the generator's training set, ``points``: each layout's
    cells); ``options``: the :class:`MetricOption` s it owns; ``meta_keys``:
    the keys of :attr:`MetricResult.meta` copied into the report's metadata.
    Everything that shows a metric (report, HTML, leaderboard, help, docs)
    reads these; nothing else lists metrics.
    """

    name: str = ""
    summary: str = ""
    groups: tuple[str, ...] = ()
    default: bool = False
    columns: tuple[Column, ...] = ()
    needs: frozenset[str] = frozenset()
    options: tuple[MetricOption, ...] = ()
    meta_keys: tuple[str, ...] = ()

    def score(self, real: SetView, synth: SetView, ctx: Context) -> MetricResult:
        raise NotImplementedError

    def check(self) -> None:
        """Raise ``ValueError`` on a description that cannot be shown (what :func:`register` runs)."""
        if not self.name.isidentifier():
            raise ValueError(f"metric name {self.name!r} must be a Python identifier")
        if not self.columns or not all(isinstance(c, Column) for c in self.columns):
            raise ValueError(f"metric {self.name}: columns must be a non-empty tuple of Column")
        if not self.summary:
            raise ValueError(f"metric {self.name}: give a one-line summary")
        if not set(self.needs) <= NEEDS:
            raise ValueError(f"metric {self.name}: unknown needs {sorted(set(self.needs) - NEEDS)}")
        if not all(isinstance(o, MetricOption) for o in self.options):
            raise ValueError(f"metric {self.name}: options must be MetricOption")


def per_class_column(
    names: Sequence[str],
    values: Sequence[float],
    reps: Sequence[list | None],
    combine: Callable[[float, Any], Estimate] | None,
    with_se: bool,
) -> dict[str, Estimate]:
    """Estimates of one column: each class's value with its interval from
    its replicates, and the mean over the classes that were scored, whose
    replicates are the means of the classes' replicates (the same resampled
    synthetic sets for every class).  A class whose value is not finite is
    not scored and stays out of the mean."""
    out: dict[str, Estimate] = {}
    defined = [k for k, v in enumerate(values) if np.isfinite(v)]
    for k, c in enumerate(names):
        if not np.isfinite(values[k]):
            out[c] = Estimate(np.nan)
            continue
        out[c] = combine(values[k], reps[k]) if with_se and reps[k] and combine else Estimate(values[k])
    if not defined:
        out["mean"] = Estimate(np.nan)
        return out
    mv = float(np.mean([values[k] for k in defined]))
    if with_se and combine and all(reps[k] for k in defined):
        mr = np.mean([np.asarray(reps[k], float) for k in defined], axis=0)
        out["mean"] = combine(mv, [tuple(x) for x in mr] if mr.ndim == 2 else list(mr))
    else:
        out["mean"] = Estimate(mv)
    return out


def partner_features(real: SetView, pairs, n_synth: int) -> np.ndarray | None:
    """Per synthetic layout, a summary of its real partner — per class: cell
    count, number of H1 points, total and largest H1 persistence — for
    matching twins; ``None`` unless every synthetic layout has a partner."""
    if not pairs:
        return None
    partner = np.full(n_synth, -1)
    for i, j in pairs:
        partner[j] = i
    if (partner < 0).any():
        return None
    C = real.counts.shape[1]
    F = np.zeros((len(real.keys), 4 * C))
    for i, row in enumerate(real.diagrams):
        for k, d in enumerate(row):
            p = d[:, 1] - d[:, 0] if len(d) else np.zeros(0)
            F[i, 4 * k : 4 * k + 4] = (real.counts[i, k], len(d), p.sum(), p.max() if len(p) else 0.0)
    return F[partner]


def resampling_plan(real: SetView, pairs, n_synth: int, seed: int) -> Plan:
    """The resampling plan of a synthetic set of ``n_synth`` layouts paired with ``real`` by ``pairs``."""
    return plan(n_synth, seed, partner_features(real, pairs, n_synth))


def one_to_one(pairs, n_real: int, n_synth: int):
    """``pairs`` when they pair every real with exactly one synthetic layout."""
    if (
        pairs
        and len(pairs) == n_real == n_synth
        and len({j for _, j in pairs}) == n_synth
        and len({i for i, _ in pairs}) == n_real
    ):
        return pairs
    return None


def no_h1_note(name: str) -> str:
    return f"class {name}: no H1 feature (loop) in any layout of either set: TopoFD/TopoKD not measured"


def unmeasured_classes(real: SetView, synth: SetView, ctx: Context) -> tuple[list[bool], list[str]]:
    """Classes a landscape score (TopoFD, TopoKD) cannot measure, and the
    report's notes on them: ``skip[k]`` when class k is empty in both sets
    (noted by the Evaluator) or when no diagram of either set has an H1
    point (every landscape is 0: a score of 0 would claim a perfect match
    where nothing was measured).  Skipped classes are NaN, out of the mean;
    the note is the same string from every plug-in (the report keeps one)."""
    skip, notes = [], []
    for k, c in enumerate(ctx.names):
        if ctx.both_empty[k]:
            skip.append(True)
            continue
        none = not any(len(d) for d in real.cls(k)) and not any(len(d) for d in synth.cls(k))
        skip.append(none)
        if none:
            notes.append(no_h1_note(c))
    return skip, notes


def no_interval_reason(n_synth: int) -> str:
    return f"{n_synth} synthetic layouts: fewer than {MIN_LAYOUTS}"


def nonnegative(result: MetricResult, columns: Sequence[str], title: str) -> None:
    """Raise the lower interval bounds of ``columns`` to 0 (their scores cannot
    be negative: a t interval can reach below 0 at small N), with a note."""
    hit = False
    for col in columns:
        for row, e in result.cells.get(col, {}).items():
            f = floored(e)
            hit |= f is not e
            result.cells[col][row] = f
    if hit:
        result.notes.append(f"{title}: lower interval bounds below 0 raised to 0 (the score cannot be negative)")


def jackknife_method(labels: np.ndarray, fixed: str = "real set fixed") -> str:
    """How a delete-a-group jackknife interval was made (the report's ``uncertainty`` entry)."""
    return f"delete-a-group jackknife over the synthetic set, {int(labels.max()) + 1} groups, {fixed}, t interval"


def whole_layout_cells(ctx: Context, value: float, reps: list) -> dict[str, Estimate]:
    """Cells of a whole-layout score: not per class, the value with its
    jackknife interval (when replicates exist) in the ``mean`` row."""
    est = ctx.plan.jackknife(value, reps) if reps and np.isfinite(value) else Estimate(value)
    return {**{c: Estimate(np.nan) for c in ctx.names}, "mean": est}


def put_whole_layout(
    out: MetricResult, ctx: Context, column: str, value: float, reps: list, labels, n_synth: int, no_reps: str
) -> None:
    """Write a whole-layout score's cells (:func:`whole_layout_cells`) and
    how its interval was made; ``no_reps``: why there is none when the
    groups exist but no replicate came out."""
    out.cells[column] = whole_layout_cells(ctx, value, reps)
    if ctx.want_se:
        out.uncertainty[column] = (
            jackknife_method(labels)
            if out.cells[column]["mean"].se is not None and labels is not None
            else f"none ({no_interval_reason(n_synth) if labels is None else no_reps})"
        )

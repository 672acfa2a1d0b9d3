"""The metric plug-ins, one module each, behind a small registry.

A metric is one module whose ``METRIC`` is a :class:`topofd.metrics.base.Metric`
describing itself (name, groups, columns, needs, options, metadata keys).
The report, its text/JSON/CSV/HTML forms, the leaderboard, ``--metrics``
help, the options table and the docs read these descriptions — nothing else
lists metrics.  Built-in metrics are the modules of ``_MODULES``; another
package adds one with :func:`register` or through the entry-point group
``topofd.metrics`` (an entry point names a :class:`Metric` instance, or a
module with ``METRIC``), found the first time the registry is read.

Registration order is the order of the report's columns and the order in
which plug-ins run (their notes appear in it).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable

from topofd.metrics import (
    copying,
    counts,
    coverage,
    density,
    diagram_mmd,
    fid,
    kid,
    landscape_fd,
    landscape_kd,
    near_copies,
    precision,
    recall,
    spatial_coloc,
    spatial_l,
    utility,
)
from topofd.metrics.base import Column, Context, Metric, MetricOption, MetricResult
from topofd.option_spec import OptionError
from topofd.options import register_option, set_metric_resolver

__all__ = [
    "names",
    "get",
    "default",
    "expand",
    "groups",
    "columns",
    "column",
    "register",
    "run_order",
    "ENTRY_POINT_GROUP",
    "Column",
    "Context",
    "Metric",
    "MetricOption",
    "MetricResult",
]

ENTRY_POINT_GROUP = "topofd.metrics"

_MODULES = (
    landscape_fd,
    landscape_kd,
    diagram_mmd,
    counts,
    precision,
    recall,
    density,
    coverage,
    copying,
    near_copies,
    fid,
    kid,
    spatial_l,
    spatial_coloc,
    utility,
)
_REGISTRY: dict[str, Metric] = {}
_discovered = False


def register(metric: Metric, *, replace: bool = False) -> Metric:
    """Add a metric plug-in (a :class:`Metric` instance) to the registry: its
    columns, options and help appear in every output.  Refused when its
    description is incomplete, or its name, a column or an option is taken
    (``replace=True`` swaps a metric of the same name)."""
    if not isinstance(metric, Metric):
        raise TypeError(f"register() takes a topofd.metrics.base.Metric instance, not {type(metric).__name__}")
    metric.check()
    if metric.name in _REGISTRY and not replace:
        raise ValueError(f"metric {metric.name!r} is already registered")
    taken = {c.key: m.name for m in _REGISTRY.values() if m.name != metric.name for c in m.columns}
    for c in metric.columns:
        if c.key in taken:
            raise ValueError(f"metric {metric.name}: column {c.key!r} is already filled by {taken[c.key]}")
    if metric.name in _group_names() and metric.name not in metric.groups:
        raise ValueError(f"metric {metric.name}: the name is a group of other metrics")
    for o in metric.options:
        register_option(o.name, o.default, o.spec, owner=metric.name)
    _REGISTRY[metric.name] = metric
    return metric


def _load_entry_points() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            register(getattr(obj, "METRIC", obj))
        except Exception as e:  # a broken third-party plug-in must not break topofd
            import warnings

            warnings.warn(f"metric plug-in {ep.name!r} ({ep.value}) not loaded: {e}", stacklevel=2)


def _all() -> dict[str, Metric]:
    _load_entry_points()
    return _REGISTRY


def names() -> tuple[str, ...]:
    """Registered metric names, in report (and run) order."""
    return tuple(_all())


def get(name: str) -> Metric:
    try:
        return _all()[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; choose from {', '.join(names())}") from None


def default() -> tuple[str, ...]:
    """The metrics computed when none are asked for."""
    return tuple(n for n, m in _all().items() if m.default)


def _group_names() -> set[str]:
    return {g for m in _REGISTRY.values() for g in m.groups}


def groups() -> dict[str, tuple[str, ...]]:
    """Group name -> its metrics, in report order (``--metrics fidelity``)."""
    out: dict[str, list[str]] = {}
    for n, m in _all().items():
        for g in m.groups:
            out.setdefault(g, []).append(n)
    return {g: tuple(v) for g, v in out.items()}


def expand(selected: Iterable[str]) -> tuple[str, ...]:
    """``selected`` with each group name replaced by its metrics (first
    mention kept); an unknown name raises :class:`OptionError` naming the
    ``metrics`` option.  A name that is both a metric and a group (``fid``:
    FID and KID share the encoding) stands for the group."""
    grp = groups()
    out: list[str] = []
    for n in selected:
        if n not in grp and n not in _all():
            known = (*names(), *(g for g in grp if g not in _all()))
            raise OptionError("metrics", f"unknown metric {n!r}; choose from {', '.join(known)}")
        for m in grp.get(n, (n,)):
            if m not in out:
                out.append(m)
    return tuple(out)


def run_order(selected: Iterable[str]) -> list[str]:
    """``selected`` in the order the plug-ins run."""
    chosen = set(selected)
    return [n for n in _all() if n in chosen]


def columns() -> tuple[Column, ...]:
    """Every registered column, in report order."""
    return tuple(c for m in _all().values() for c in m.columns)


def column(key: str) -> Column | None:
    """The registered column ``key`` (``None``: not a metric column)."""
    return next((c for c in columns() if c.key == key), None)


for _m in _MODULES:
    register(_m.METRIC)
set_metric_resolver(expand)

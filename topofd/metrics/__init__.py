"""The metric plug-ins, one module each, behind a small registry.

``names()`` lists them in report order; ``get(name)`` returns one.  A new
metric is one module with a ``METRIC`` object (see :mod:`topofd.metrics.base`)
added to ``_MODULES``.  ``DEFAULT_ORDER`` is the default selection; the
others run when asked for by name or by group (``GROUPS``: ``fidelity``,
``memorisation``, ``fid``: FID and KID of a layout encoder).
"""

from __future__ import annotations

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
)
from topofd.metrics.base import Context, Metric, MetricResult

__all__ = ["names", "get", "default", "expand", "GROUPS", "Context", "Metric", "MetricResult"]

# report order: the run order too (notes appear in it)
_MODULES = (
    counts,
    landscape_fd,
    landscape_kd,
    diagram_mmd,
    precision,
    recall,
    density,
    coverage,
    copying,
    near_copies,
    fid,
    kid,
)
_REGISTRY: dict[str, Metric] = {m.METRIC.name: m.METRIC for m in _MODULES}
# the order of --metrics' help and of the default selection
DEFAULT_ORDER = ("topofd", "topokd", "mmd", "counts")
# names that stand for several metrics in --metrics
# ("fid" is both: the group, FID and KID, which share the encoding, wins)
GROUPS = {
    "fidelity": ("precision", "recall", "density", "coverage"),
    "memorisation": ("ct", "near_copies"),
    "fid": ("fid", "kid"),
}


def names() -> tuple[str, ...]:
    """Registered metric names, default selection order."""
    return DEFAULT_ORDER + tuple(n for n in _REGISTRY if n not in DEFAULT_ORDER)


def default() -> tuple[str, ...]:
    """The metrics computed when none are asked for."""
    return DEFAULT_ORDER


def expand(selected) -> tuple[str, ...]:
    """``selected`` with each group name replaced by its metrics (first mention kept)."""
    out: list[str] = []
    for n in selected:
        for m in GROUPS.get(n, (n,)):
            if m not in out:
                out.append(m)
    return tuple(out)


def get(name: str) -> Metric:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; choose from {', '.join(names())}") from None


def run_order(selected) -> list[str]:
    """``selected`` in the order the plug-ins run."""
    return [n for n in _REGISTRY if n in selected]

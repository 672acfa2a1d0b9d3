"""The metric plug-ins, one module each, behind a small registry.

``names()`` lists them in report order; ``get(name)`` returns one.  A new
metric is one module with a ``METRIC`` object (see :mod:`topofd.metrics.base`)
added to ``_MODULES``.
"""

from __future__ import annotations

from topofd.metrics import counts, diagram_mmd, landscape_fd, landscape_kd
from topofd.metrics.base import Context, Metric, MetricResult

__all__ = ["names", "get", "Context", "Metric", "MetricResult"]

# report order: the run order too (notes appear in it)
_MODULES = (counts, landscape_fd, landscape_kd, diagram_mmd)
_REGISTRY: dict[str, Metric] = {m.METRIC.name: m.METRIC for m in _MODULES}
# the order of --metrics' help and of the default selection
DEFAULT_ORDER = ("topofd", "topokd", "mmd", "counts")


def names() -> tuple[str, ...]:
    """Registered metric names, default selection order."""
    return DEFAULT_ORDER + tuple(n for n in _REGISTRY if n not in DEFAULT_ORDER)


def get(name: str) -> Metric:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; choose from {', '.join(names())}") from None


def run_order(selected) -> list[str]:
    """``selected`` in the order the plug-ins run."""
    return [n for n in _REGISTRY if n in selected]

"""Coverage (Naeem et al. 2020): the share of real k-NN balls that hold a synthetic layout.

Definitions, k, feature space and intervals: :mod:`topofd.metrics.manifold`."""

from __future__ import annotations

from topofd.metrics.manifold import ManifoldMetric

__all__ = ["METRIC"]

METRIC = ManifoldMetric("coverage")

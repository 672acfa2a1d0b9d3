"""Density (Naeem et al. 2020): real k-NN balls per synthetic layout, over k (1 on average when the sets match).

Definitions, k, feature space and intervals: :mod:`topofd.metrics.manifold`."""

from __future__ import annotations

from topofd.metrics.manifold import ManifoldMetric

__all__ = ["METRIC"]

METRIC = ManifoldMetric("density")

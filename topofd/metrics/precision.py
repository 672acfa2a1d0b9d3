"""Precision (Kynkäänniemi et al. 2019): the share of synthetic layouts inside the real k-NN manifold.

Definitions, k, feature space and intervals: :mod:`topofd.metrics.manifold`."""

from __future__ import annotations

from topofd.metrics.manifold import ManifoldMetric

__all__ = ["METRIC"]

METRIC = ManifoldMetric("precision")

"""Spatial statistics of multi-type point patterns, arrays in and arrays out.

No knowledge of files, sets or metrics: :mod:`topofd.spatial.ripley` (cross-type
K, L, pair correlation g and nearest-neighbour G on a rectangular window,
per pattern and pooled over replicated patterns), :mod:`topofd.spatial.coloc`
(SPIAT-style colocalisation scores), :mod:`topofd.spatial.envelope` (the
global envelope tests: rank and studentized) and :mod:`topofd.spatial.explain` (a departure
between two curves in words).  The metric plug-ins ``spatial_l`` and
``spatial_coloc`` (:mod:`topofd.metrics`) use them.
"""

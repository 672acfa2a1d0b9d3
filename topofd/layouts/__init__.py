"""Data: the Layout (per-class point clouds), file readers, reading whole
folders, in-memory batches, matching two sets (pairs, classes, canvases),
baselines and the BRCA-M2C patch protocol."""

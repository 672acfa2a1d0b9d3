"""Train-on-synthetic / test-on-real (TSTR, Esteban et al. 2017) at layout
level: per-cell spatial-context features (:mod:`.features`) and one fixed
cell-type classifier (:mod:`.model`).  Nothing here knows about metrics or
files; :mod:`topofd.metrics.utility` turns it into report columns."""

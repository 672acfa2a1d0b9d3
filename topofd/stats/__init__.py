"""Statistics shared by the metrics: standard errors and intervals
(uncertainty) and the extrapolation to infinitely many layouts."""

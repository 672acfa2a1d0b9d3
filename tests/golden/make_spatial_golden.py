"""Writes tests/golden/spatial_astropy.json: astropy's RipleysKEstimator
(translation correction) on fixed random patterns — the independent values
the parity test of topofd.spatial.ripley compares against.  Also the K of each half of the points (the cross-type K follows). Run once
(``pip install astropy``; made with astropy 8.0.2):

    python tests/golden/make_spatial_golden.py
"""

import json
from pathlib import Path

import astropy
import numpy as np
from astropy.stats import RipleysKEstimator

rng = np.random.default_rng(20261207)
cases = []
for n, (H, W) in [(60, (100.0, 80.0)), (150, (256.0, 256.0)), (25, (40.0, 120.0))]:
    pts = rng.uniform(0, 1, size=(n, 2)) * [H, W]
    if n == 150:  # a clustered pattern too: half the points near 5 centres
        c = rng.uniform(20, 236, size=(5, 2))
        pts[:75] = np.clip(c[rng.integers(0, 5, 75)] + rng.normal(0, 6, (75, 2)), 0.5, 255.5)
    radii = np.linspace(0.0, min(H, W) / 4, 23)[1:] + 0.123  # off any exact pair distance
    # astropy's x is the first coordinate: the row, extent H
    est = RipleysKEstimator(area=H * W, x_max=H, y_max=W, x_min=0.0, y_min=0.0)
    K = est.evaluate(pts, radii, mode="translation")
    L = est.Lfunction(pts, radii, mode="translation")
    # the two halves as classes a and b: their K and the union's give the cross-type K
    # (n(n-1) K_union = n_a(n_a-1) K_a + n_b(n_b-1) K_b + 2 n_a n_b K_ab)
    Ka, Kb = (est.evaluate(part, radii, mode="translation") for part in (pts[: n // 2], pts[n // 2 :]))
    case = {"points": pts.tolist(), "window": [H, W], "radii": radii.tolist(), "K": K.tolist(), "L": L.tolist()}
    cases.append({**case, "split": n // 2, "K_first": Ka.tolist(), "K_second": Kb.tolist()})
out = {"astropy": astropy.__version__, "mode": "translation", "cases": cases}
Path(__file__).with_name("spatial_astropy.json").write_text(json.dumps(out, indent=1))

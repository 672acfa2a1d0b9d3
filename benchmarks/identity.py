"""The fingerprint of every number ``topofd compare`` reports on the bundled
BRCA-M2C protocol, and the comparison of two fingerprints
(``benchmarks.report_identity``, ``benchmarks.bench_default``,
``tests/test_report_identity.py``)."""

from __future__ import annotations

import json

import numpy as np

import topofd
from topofd.layouts.brca_m2c import demo_sets

KEEP_META = ("protocol", "complex", "metrics", "n_real", "n_synth", "n_pairs", "sigma", "topokd", "mmd_samples",
             "mmd_estimator", "seed", "n_bins", "n_layers", "threshold", "uncertainty", "se_df", "notes")


def fingerprint(n_patches: int | None, mmd_samples: int | None, n_jobs: int = 1) -> dict:
    real, synth = demo_sets(n_patches, seed=0)
    out = {}
    for protocol in ("paper", "grid"):
        rep = topofd.compare(real, synth, protocol=protocol, extrapolate=True, mmd_samples=mmd_samples,
                             n_jobs=n_jobs, seed=0)
        table = {row: {col: repr(float(v)) for col, v in rep.table.loc[row].items()} for row in rep.table.index}
        meta = {k: rep.meta.get(k) for k in KEEP_META}
        out[protocol] = json.loads(json.dumps({"table": table, "meta": meta}, default=repr))
    return {"n_patches": n_patches, "mmd_samples": mmd_samples, "reports": out}


REL_TOL = 1e-12


def _as_float(x):
    if isinstance(x, bool) or not isinstance(x, (str, int, float)):
        return None
    try:
        return float(x)
    except ValueError:
        return None


def _close(a, b) -> bool:
    """Two numbers (or ``repr``s of floats) within ``REL_TOL`` relative: a
    compiled solver may sum the same optimal cost in another order."""
    x, y = _as_float(a), _as_float(b)
    if x is None or y is None:
        return False
    if np.isnan(x) or np.isnan(y) or np.isinf(x) or np.isinf(y):
        return x == y or (np.isnan(x) and np.isnan(y))
    return abs(x - y) <= REL_TOL * max(abs(x), abs(y))


def diff(a, b, path=""):
    """Differences between two fingerprints: floats may differ by
    ``REL_TOL`` relative, everything else (strings, notes, counts) must be
    byte-identical."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            yield from diff(a.get(k), b.get(k), f"{path}/{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for k, (x, y) in enumerate(zip(a, b)):
            yield from diff(x, y, f"{path}[{k}]")
    elif a != b and not (isinstance(a, (str, float)) and isinstance(b, (str, float)) and _close(a, b)):
        yield f"{path}: {a!r} != {b!r}"

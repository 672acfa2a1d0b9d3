"""Every number ``topofd compare`` reports on 40 bundled BRCA-M2C patches
(paper and grid, every metric, TopoFD∞, se/lo/hi, notes, kernel widths) is
byte-identical to the fingerprint taken before the metric plug-ins replaced
the Evaluator's own pipelines (``tests/golden/report_identity_40.json``,
made by ``python benchmarks/report_identity.py --n-patches 40 --mmd-samples
30 --out ...`` on commit 17d0db8).  A change of structure must leave it as
it is; a deliberate change of a number regenerates it, in its own commit."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import benchmark_module

ROOT = Path(__file__).resolve().parents[1]


def test_bundled_protocol_numbers_are_unchanged():
    ri = benchmark_module("report_identity")
    diff, fingerprint = ri.diff, ri.fingerprint
    ref = json.loads((ROOT / "tests" / "golden" / "report_identity_40.json").read_text())
    now = fingerprint(ref["n_patches"], ref["mmd_samples"])
    bad = list(diff(ref, now))
    assert not bad, "\n".join(bad[:20])

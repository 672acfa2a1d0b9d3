"""A toy metric written outside topofd: the absolute gap between the mean
cell counts of the two sets, per class, scaled by an option."""

from __future__ import annotations

import numpy as np

from topofd.metrics.base import Column, Curve, Metric, MetricOption, MetricResult, Section
from topofd.option_spec import Spec
from topofd.stats.uncertainty import Estimate


class CountGap(Metric):
    name = "countgap"
    summary = "toy: gap between the sets' mean cell counts"
    groups = ("toys",)
    columns = (Column("count_gap", "Count gap", "lower", range=(0.0, float("inf")), help="toy gap"),)
    options = (MetricOption("countgap_scale", 1.0, Spec("Scale of the toy gap.", "float", "--countgap-scale", low=0)),)
    meta_keys = ("countgap",)

    def score(self, real, synth, ctx) -> MetricResult:
        scale = ctx.option("countgap_scale")
        gaps = scale * np.abs(real.counts.mean(axis=0) - synth.counts.mean(axis=0))
        cells = {c: Estimate(float(g)) for c, g in zip(ctx.names, gaps)}
        cells["mean"] = Estimate(float(gaps.mean()))
        sec = Section(
            "Count gap",
            sentences=[f"the largest count gap is in class {ctx.names[int(np.argmax(gaps))]}"],
            table=[{"class": c, "gap": float(g)} for c, g in zip(ctx.names, gaps)],
            curves=[Curve("gap by class", list(range(len(gaps))), {"gap": list(gaps)}, xlabel="class")],
        )
        return MetricResult(cells={"count_gap": cells}, meta={"countgap": {"scale": scale}}, sections=[sec])


METRIC = CountGap()

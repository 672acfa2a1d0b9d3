"""The scale rows of a real set (issue 27): its floor and random scores,
made once (``topofd stats --floor-pool``, ``benchmarks/scale_rows.py`` for
the bundled ``brca-m2c:test``) and read by every later comparison
(:mod:`topofd.stats.scale` puts a score between them).

``floor``: the real set scored against real tissue of other images with
the nearest per-class counts, drawn from a pool
(:func:`topofd.layouts.baselines.matched_real`); ``random``: against the
matched-count random placement ``topofd baseline random`` writes (cells of
a class at least 4 px apart, drawn and read back), with the options'
seed.  Both with the options of the comparisons they will scale; the
options each metric's value depends on are recorded with its rows, and a
comparison with other values gets a note instead of a scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from topofd import metrics as registry
from topofd.api import compare
from topofd.layouts.baselines import matched_real, source_image
from topofd.layouts.brca_m2c import baseline_layout
from topofd.layouts.layout import Layout
from topofd.options import Options
from topofd.stats.scale import scale_options

__all__ = ["make_scale", "merge_scale", "scaled_metrics", "random_set", "pool_draw", "SCALE_VERSION"]

SCALE_VERSION = 1


def scaled_metrics(names=None) -> tuple[str, ...]:
    """Metrics (of ``names``, default: the default selection) with a column declared ``scaled``."""
    return tuple(n for n in (names or registry.default()) if any(c.scaled for c in registry.get(n).columns))


def random_set(real: Sequence[Layout], seed: int) -> list[Layout]:
    """The matched-count random baseline of ``real`` as read back from its files."""
    return [baseline_layout(l, "random", seed=seed) for l in real]


def _rows(report, metric: str) -> dict:
    """``{"value": [...], "se": [...]}``: the classes in report order, then the mean."""
    t = report.table

    def num(row, col):
        v = t.at[row, col] if col in t.columns else None
        return None if v is None or v != v else float(v)

    rows = [*report.classes, "mean"]
    return {"value": [num(r, metric) for r in rows], "se": [num(r, f"{metric}_se") for r in rows]}


def make_scale(
    real,
    real_layouts: Sequence[Layout],
    pool: Sequence[Layout],
    options: Options,
    *,
    metrics: Sequence[str] | None = None,
    pool_source: str = "",
    paired: bool = True,
    unpaired: bool = True,
) -> dict:
    """The scale rows of the real set ``real`` (anything :func:`topofd.compare`
    takes as real: its layouts, a reference file or name), whose layouts are
    ``real_layouts`` (the floor and random sets are built from them), with
    the floor drawn from ``pool``: rows for count-conditioned (paired)
    synthetic sets, and with ``unpaired`` rows for unpaired ones too (floor:
    :func:`pool_draw`; both compared as unpaired samples).  ``metrics``:
    default, the default metrics with a ``scaled`` column (:func:`scaled_metrics`)."""
    metrics = scaled_metrics() if metrics is None else metrics
    floor, info = matched_real(real_layouts, pool)
    rand = random_set(real_layouts, options.seed)
    o = options.replace(metrics=tuple(metrics), pairing="prefix", uncertainty=True, extrapolate=False)
    src = pool_source or "the pool"
    reports = []
    if paired:
        how = (
            f"floor: {len(floor)} real layouts of other images from {src} ({len(pool)} layouts; {info['distinct']} "
            f"distinct, mean |Δcount| {info['mean_abs_delta_total']:.1f} cells per layout), {info['rule']}; "
            f"random: matched-count random placement, seed {options.seed}"
        )
        reports.append((True, compare(real, floor, o), compare(real, rand, o), how))
    if unpaired:
        draw = pool_draw(real_layouts, pool, options.seed)
        un = o.replace(pairing="none")
        how = (
            f"floor: {len(draw)} layouts drawn at random from {src} ({len(pool)} layouts), none of an image of the "
            f"real set; random: matched-count random placement, seed {options.seed}; both unpaired"
        )
        reports.append((False, compare(real, draw, un), compare(real, rand, un), how))
    if not reports:
        raise ValueError("scale rows: neither paired nor unpaired rows asked for")
    out: dict = {
        "version": SCALE_VERSION,
        "classes": list(reports[0][1].classes),
        "n": len(real_layouts),
        "pool": pool_source,
        "match": info,
        "metrics": {},
    }
    for m in metrics:
        own = tuple(opt.name for opt in registry.get(m).options)
        out["metrics"][m] = [
            {
                "options": scale_options(o, m, own),
                "paired": paired,
                "floor": _rows(f, m),
                "random": _rows(r, m),
                "how": h,
            }
            for paired, f, r, h in reports
        ]
    return out


def pool_draw(real: Sequence[Layout], pool: Sequence[Layout], seed: int) -> list[Layout]:
    """The floor of unpaired synthetic sets: as many pool layouts as ``real``
    has, drawn at random (seeded; without replacement while the pool lasts),
    none of an image of the real set (:func:`~topofd.layouts.baselines.source_image`)."""
    images = {source_image(l.name) for l in real}
    cand = [p for p in pool if source_image(p.name) not in images]
    if not cand:
        raise ValueError("the pool holds no layout of an image outside the real set")
    idx = np.random.default_rng([int(seed), 27]).choice(len(cand), size=len(real), replace=len(real) > len(cand))
    return [
        Layout(c.points, r.classes, c.shape, f"draw{i:06d}", c.source or c.name, r.class_origin)
        for i, (c, r) in enumerate(zip((cand[j] for j in idx), real))
    ]


def merge_scale(a: dict, b: dict) -> dict:
    """``a`` with ``b``'s rows added (rows made with other options, e.g. the demo's MMD subsample)."""
    if a["classes"] != b["classes"]:
        raise ValueError(f"scale rows of classes {a['classes']} and {b['classes']} do not merge")
    out = {**a, "metrics": {m: list(v) for m, v in a["metrics"].items()}}
    for m, entries in b["metrics"].items():
        out["metrics"].setdefault(m, []).extend(entries)
    return out

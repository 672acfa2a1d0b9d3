"""Evidence for the floor-to-random scale (issue 27): on the shared
BRCA-M2C splits, each default score's floor (real tissue of other images
with the nearest per-class counts, from the train split) against its
random row (matched-count random placement), which scores separate them,
and the scaled scores of known generators: jitter 1, 2, 4, 8, 16 px,
thinning (a quarter of each class's cells removed, so counts drop) and
shuffle (class labels permuted within each window).

Real set: ``--n`` evenly spread windows of the 1,550 of the test protocol
(all of them with ``--n 1550``, where the floor and random rows are the
bundled ones); pool: the 4,625 windows of the 80 train images.  Every
score with the default options of ``topofd compare``; the scaled values by
:func:`topofd.stats.scale.add_scaled` (delta-method intervals).

Usage::

    python -m benchmarks.scale_evidence --data /work/shared/datasets/brca-m2c --n 300 [--jobs 2]
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import click
import numpy as np

from topofd import compare
from topofd.layouts.baselines import perturb, rng_for
from topofd.layouts.brca_m2c import TRAIN_SPLIT, bundled_root, read_back, real_patches
from topofd.layouts.layout import Layout
from topofd.options import Options
from topofd.scale_rows import make_scale, scaled_metrics
from topofd.stats.scale import add_scaled

SCALED = scaled_metrics()

OUT = Path(__file__).resolve().parent / "results" / "scale"
JITTER = (1, 2, 4, 8, 16)


def thinned(l: Layout, frac: float = 0.25, seed: int = 0) -> Layout:
    rng = rng_for(f"thin-{l.name}", seed)
    pts = tuple(p[rng.permutation(len(p))[: len(p) - int(round(frac * len(p)))]] for p in l.points)
    return Layout(pts, l.classes, l.shape, l.name)


def generators(real: list[Layout]) -> dict[str, list[Layout]]:
    out = {}
    for s in JITTER:
        out[f"jitter {s} px"] = [perturb(l, "jitter", sigma=s) for l in real]
    out["thinning 25 %"] = [thinned(l) for l in real]
    out["shuffle"] = [perturb(l, "shuffle") for l in real]
    return {k: [Layout(x.points, x.classes, x.shape, f"{x.name}_gen") for x in read_back(v)] for k, v in out.items()}


def row(table, m: str) -> dict:
    def f(r, c):
        v = table.at[r, c] if c in table.columns else np.nan
        return None if v != v else float(v)

    return {r: {k: f(r, c) for k, c in (("value", m), ("se", f"{m}_se"), ("scaled", f"{m}_scaled"),
                                        ("scaled_se", f"{m}_scaled_se"))} for r in table.index}


@click.command(help=__doc__.splitlines()[0])
@click.option("--data", type=click.Path(exists=True, path_type=Path), required=True, help="BRCA-M2C, train split")
@click.option("--n", type=int, default=300, show_default=True)
@click.option("--jobs", type=int, default=2, show_default=True)
def main(data: Path, n: int, jobs: int) -> int:
    a = SimpleNamespace(data=data, n=n, jobs=jobs)
    t0 = time.perf_counter()
    with bundled_root() as root:
        real = real_patches(root, a.n, n_jobs=a.jobs)
    pool = real_patches(a.data, split_file=TRAIN_SPLIT, n_jobs=a.jobs)
    with tempfile.TemporaryDirectory() as cache:
        o = Options(n_jobs=a.jobs, cache_dir=cache)
        rows = make_scale(real, real, pool, o, pool_source="BRCA-M2C train split")
        res = {"n": len(real), "match": rows["match"], "rows": rows["metrics"], "generators": {}}
        for name, synth in generators(real).items():
            t = compare(real, synth, o.replace(metrics=SCALED)).table
            for m in SCALED:
                add_scaled(t, m, rows["metrics"][m][0], list(range(len(t.index) - 1)))
            res["generators"][name] = {m: row(t, m) for m in SCALED}
            means = {m: round(res["generators"][name][m]["mean"]["scaled"] or np.nan, 3) for m in SCALED}
            print(name, means, flush=True)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    p = OUT / f"evidence_{len(real)}.json"
    p.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {p} in {res['seconds']} s")
    return 0


if __name__ == "__main__":
    main()

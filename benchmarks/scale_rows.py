"""Make the bundled scale rows of ``brca-m2c:test`` (issue 27):
``topofd/data/refs/brca-m2c-test.scale.json``.

The train split of BRCA-M2C is not bundled, so the rows that put every
score between real tissue (floor) and random placement are computed here
once and shipped: the floor is the 1,550 test windows scored against, for
each, the train-split window (80 other images, 4,625 windows of the same
protocol) with the nearest per-class counts
(:func:`topofd.layouts.baselines.matched_real`); random is the
matched-count random placement of ``topofd baseline random`` (seed 0).
Both with the default options of ``topofd compare`` (paper TopoFD, TopoKD,
unbiased MMD on every layout), plus MMD on 100 layouts per set (the
demo's ``--mmd-samples``).  Rows for unpaired synthetic sets too: floor a
same-size random draw of the pool, both compared as unpaired samples.  The same rows come from
``topofd patches`` of the train split, then
``topofd stats REAL/ --floor-pool TRAIN/`` (``tests/test_scale.py``).

Usage::

    python -m benchmarks.scale_rows --data /work/shared/datasets/brca-m2c [--jobs 2]
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import click

from benchmarks.common import ROOT
from topofd.layouts.brca_m2c import TRAIN_SPLIT, bundled_root, real_patches
from topofd.options import Options
from topofd.scale_rows import make_scale, merge_scale

OUT = ROOT / "topofd" / "data" / "refs" / "brca-m2c-test.scale.json"
DEMO_MMD_SAMPLES = 100  # topofd.cli.datasets.DEMO_MMD_SAMPLES


@click.command(help=__doc__.splitlines()[0])
@click.option("--data", type=click.Path(exists=True, path_type=Path), required=True, help="BRCA-M2C, train split")
@click.option("--jobs", type=int, default=2, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=OUT, show_default=True)
@click.option("--add-unpaired", is_flag=True, help="only add the unpaired rows to the --out file")
def main(data: Path, jobs: int, out: Path, add_unpaired: bool) -> int:
    a = SimpleNamespace(data=data, jobs=jobs, out=out, add_unpaired=add_unpaired)
    t0 = time.perf_counter()
    with bundled_root() as root:
        real = real_patches(root, n_jobs=a.jobs)
    pool = real_patches(a.data, split_file=TRAIN_SPLIT, n_jobs=a.jobs)
    src = f"BRCA-M2C train split ({len(pool)} windows of 80 images)"
    if a.add_unpaired:  # the paired rows of an earlier run stay as they are
        old = json.loads(a.out.read_text())
        new = make_scale("brca-m2c:test", real, pool, Options(n_jobs=a.jobs), pool_source=src, paired=False)
        rows = merge_scale(old, new)
        rows["seconds_unpaired"] = round(time.perf_counter() - t0, 1)
        a.out.write_text(json.dumps(rows, indent=1) + "\n")
        print(f"added unpaired rows to {a.out} in {rows['seconds_unpaired']} s")
        return 0
    rows = make_scale("brca-m2c:test", real, pool, Options(n_jobs=a.jobs), pool_source=src)
    demo = make_scale(
        "brca-m2c:test", real, pool, Options(n_jobs=a.jobs, mmd_samples=DEMO_MMD_SAMPLES), metrics=("mmd",),
        pool_source=src, unpaired=False,
    )
    rows = merge_scale(rows, demo)
    rows["made_by"] = "benchmarks/scale_rows.py"
    rows["seconds"] = round(time.perf_counter() - t0, 1)
    a.out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {a.out} in {rows['seconds']} s")
    return 0


if __name__ == "__main__":
    main()

"""Regenerate the bundled reference set ``brca-m2c:test``
(``topofd/data/refs/brca-m2c-test.topofd``).

The BRCA-M2C test protocol on the bundled test split (1,550 windows): names,
layout keys, counts, H1 diagrams, and the real side of the ``paper``
protocol per class (the landscape of the gudhi-exact barycenter and the
covariance of the landscapes) — what ``topofd compare brca-m2c:test`` and any
folder holding exactly these windows use instead of recomputing.
``tests/test_parity_brca.py`` checks the stored statistics against the
published computation's golden values.

    python -m benchmarks.make_bundled_stats   # ~3-10 min on 2 cores
"""
from pathlib import Path

import click

import topofd
from topofd.layouts.brca_m2c import bundled_root, real_patches
from topofd.storage.reference import NAMED, make_reference

DST = Path(topofd.__file__).parent / "data" / "refs" / NAMED["brca-m2c:test"][0]


@click.command(help=__doc__.split("\n\n")[0])
def main():
    with bundled_root() as root:
        real = real_patches(root)
    ev = topofd.Evaluator(metrics=("topofd",), n_jobs=2, use_bundled=False)
    ev.update(real, real=True)
    DST.parent.mkdir(parents=True, exist_ok=True)
    meta = make_reference(
        ev,
        DST,
        name="brca-m2c:test",
        description=topofd.storage.reference.names()["brca-m2c:test"],
        source="topofd.layouts.brca_m2c.real_patches (bundled BRCA-M2C test split, 30 images)",
    )
    print(f"wrote {DST}: {meta['n']} layouts, sha256 {meta['content_sha256'][:16]}…")


if __name__ == "__main__":
    main()

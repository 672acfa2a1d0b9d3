"""Fingerprint of every number ``topofd compare`` reports on the bundled
BRCA-M2C protocol, to prove a change of structure changed no number.

    python -m benchmarks.report_identity --out before.json            # on the old tree
    python -m benchmarks.report_identity --check before.json          # on the new tree: exit 1 on any change

The fingerprint holds, for the paper and grid protocols with every metric
(TopoFD with TopoFD∞, TopoKD, MMD, counts) and intervals on: the full table
(value, se, lo, hi per class and mean) written as ``repr`` of each float,
and the report's notes, kernel widths, TopoKD
ranges and degrees of freedom.  Timings, versions and paths are left out.
Floats must agree to 1e-12 relative (the compiled W1 may sum an optimal cost
in another order; so far it is byte-identical), everything else byte for byte.
``tests/test_report_identity.py`` runs the same comparison on 40 patches
against ``tests/golden/report_identity_40.json``.
"""
from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import click

from benchmarks.identity import diff, fingerprint


def run(a) -> int:
    """The benchmark, given the options of :func:`main`."""
    if a.check:
        with open(a.check) as fh:
            ref = json.load(fh)
        now = fingerprint(ref["n_patches"], ref["mmd_samples"], a.jobs)
        bad = list(diff(ref, now))
        print("\n".join(bad) if bad else f"identical: {a.check}")
        return 1 if bad else 0
    fp = fingerprint(a.n_patches, a.mmd_samples, a.jobs)
    with open(a.out, "w") as fh:
        json.dump(fp, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print(f"wrote {a.out}")
    return 0


@click.command(help=__doc__.split("\n\n")[0])
@click.option("--n-patches", type=int, default=None, help="evenly spread subset (default: all 1,550)")
@click.option("--mmd-samples", type=int, default=300, show_default=True)
@click.option("--jobs", type=int, default=1, show_default=True)
@click.option("--out", help="write the fingerprint here (one of --out and --check)")
@click.option("--check", help="compare with this fingerprint: exit 1 on any change")
def main(**options):
    if (options["out"] is None) == (options["check"] is None):
        raise click.UsageError("give one of --out and --check")
    sys.exit(run(SimpleNamespace(**options)))


if __name__ == "__main__":
    main()

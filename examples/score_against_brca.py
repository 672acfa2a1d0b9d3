"""Score a generator's output against the bundled BRCA-M2C test protocol.

    python examples/score_against_brca.py [SYNTH_DIR] [--mmd-samples N] [--jobs J] [--json report.json]

is, from the shell (no real files needed: the reference ships with topofd):

    topofd compare brca-m2c:test SYNTH_DIR --classes lym,epi,stro --mmd-samples 300 --json report.json

``SYNTH_DIR`` holds 256 x 256 layouts with the channels lym, epi, stro (any
format ``topofd compare`` reads, e.g. ``(256, 256, 3)`` ``.npy`` maps).  Name
each file ``<test window>_gen.npy`` (``topofd refs``; the window names are
those ``topofd patches`` writes) to get count errors; files whose names do
not pair are still scored on TopoFD and MMD, with a note.

Without ``SYNTH_DIR`` a stand-in output folder is made and scored: the
matched-count random baseline (what ``topofd baseline random`` writes) of an
evenly spread subset of the 1,550 test windows — 24 of them with
``TOPOFD_CI_SMALL=1``, 300 otherwise.

Cost: the reference stores the real windows' diagrams and their ``paper``
statistics (barycenter, landscape mean and covariance), so the published
``paper`` protocol is kept here: only the synthetic side's diagrams and
barycenter are computed, which grow with the size of SYNTH_DIR, not with
the 1,550 real windows.  MMD compares diagrams pairwise, so it runs on a
seeded random subset of ``--mmd-samples`` layouts per set.
"""
import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np

import topofd
from topofd.layouts.baselines import perturb
from topofd.layouts.brca_m2c import bundled_root, real_patches

SMALL = os.environ.get("TOPOFD_CI_SMALL") == "1"
CLASSES = ["lym", "epi", "stro"]


def stand_in_folder(folder: Path, n: int, seed: int = 0) -> Path:
    """``n`` test windows' random-placement counterparts, cells of a class
    at least 4 px apart so that the files read back with the real counts."""
    folder.mkdir(parents=True, exist_ok=True)
    with bundled_root() as root:
        windows = real_patches(root, n)
    for w in windows:
        np.save(folder / f"{w.name}_gen.npy", perturb(w, "random", seed=seed, separate=3).to_array(cell=3))
    return folder


def score(synth: Path, mmd_samples: int, jobs: int) -> topofd.Report:
    return topofd.compare("brca-m2c:test", synth, classes=CLASSES, mmd_samples=mmd_samples, n_jobs=jobs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("synth", nargs="?", type=Path, help="folder of generated layouts (default: a stand-in)")
    ap.add_argument("--mmd-samples", type=int, default=24 if SMALL else 300)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write the report as JSON")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        synth = args.synth
        if synth is None:
            n = 24 if SMALL else 300
            synth = stand_in_folder(Path(tmp) / "synth", n)
            print(f"no SYNTH_DIR given: scoring the random baseline of {n} test windows ({synth})\n")
        report = score(synth, args.mmd_samples, args.jobs)
    print(report)
    print(f"\nreal set: {report.meta.get('test_set')}, {report.meta['n_real']} windows; "
          f"synthetic: {report.meta['n_synth']} layouts")
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2, default=str))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

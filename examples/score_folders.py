"""Score a folder of synthetic layouts against a folder of real ones and
save the report.

    python examples/score_folders.py REAL_DIR SYNTH_DIR report.json

is ``topofd compare REAL_DIR SYNTH_DIR --classes lym,epi,stro --jobs 2
--mmd-samples 300 --json report.json``.  Without arguments it makes two
small folders in a temporary directory (bundled BRCA-M2C test windows and
their matched-count random baseline, named ``<window>_gen.npy`` so that
they pair) and scores those: 12 windows with ``TOPOFD_CI_SMALL=1``, 100
otherwise.
"""
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

import topofd
from topofd.layouts.baselines import perturb
from topofd.layouts.brca_m2c import bundled_root, real_patches

SMALL = os.environ.get("TOPOFD_CI_SMALL") == "1"


def score(real, synth, out) -> None:
    report = topofd.compare(real, synth, classes=["lym", "epi", "stro"], n_jobs=2, mmd_samples=300)
    print(report)
    with open(out, "w") as fh:
        json.dump(report.to_dict(), fh, indent=2)
    print(f"wrote {out}")


def small_folders(tmp: Path, n: int) -> tuple[Path, Path]:
    real, synth = tmp / "real", tmp / "synth"
    real.mkdir()
    synth.mkdir()
    with bundled_root() as root:
        windows = real_patches(root, n)
    for w in windows:
        np.save(real / f"{w.name}.npy", w.to_array(cell=3))
        np.save(synth / f"{w.name}_gen.npy", perturb(w, "random", seed=0, separate=3).to_array(cell=3))
    return real, synth


if __name__ == "__main__":
    if len(sys.argv) == 4:
        score(*sys.argv[1:4])
    elif len(sys.argv) == 1:
        with tempfile.TemporaryDirectory() as tmp:
            real, synth = small_folders(Path(tmp), 12 if SMALL else 100)
            print(f"no folders given: scoring {real} against {synth}\n")
            score(real, synth, Path(tmp) / "report.json")
    else:
        sys.exit("usage: python examples/score_folders.py [REAL_DIR SYNTH_DIR report.json]")

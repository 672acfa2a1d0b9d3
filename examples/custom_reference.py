"""Precompute your own real set once as a reference file, then score
generated sets against it without recomputing the real side.

    python examples/custom_reference.py [REAL_DIR SYNTH_DIR]

The same from the shell:

    topofd stats REAL_DIR --out real.topofd --classes lym,epi,stro
    topofd compare real.topofd SYNTH_DIR --classes lym,epi,stro

and from Python:

    ev = topofd.Evaluator(classes=CLASSES)
    ev.update(real_layouts, real=True)
    topofd.storage.reference.make_reference(ev, "real.topofd")    # diagrams, counts, paper statistics
    ev = topofd.Evaluator(classes=CLASSES)
    ev.load_reference("real.topofd")
    ev.update(synthetic_batch, real=False)                # in your sampling loop
    report = ev.compute()

A reference file is plain arrays plus a JSON header with a content hash;
loading one never runs code, and one made with other diagram options
(complex) or by a newer format is refused with a one-line error.

Without arguments, REAL_DIR is an evenly spread subset of the bundled
BRCA-M2C test windows (12 with ``TOPOFD_CI_SMALL=1``, 200 otherwise) and
SYNTH_DIR their 4-px jitter baseline.  The example checks that the
reference made from Python (used through ``Evaluator.load_reference``) and
the one made by the CLI (used through ``topofd.compare`` and ``topofd
compare``) give exactly the numbers of recomputing from REAL_DIR.
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import topofd
from topofd.layouts.baselines import perturb
from topofd.layouts.brca_m2c import bundled_root, real_patches
from topofd.layouts.sets import read_layouts
from topofd.storage.reference import make_reference

SMALL = os.environ.get("TOPOFD_CI_SMALL") == "1"
CLASSES = ["lym", "epi", "stro"]
OPTIONS = dict(classes=CLASSES, seed=0, mmd_samples=None if SMALL else 100)


def topofd_cli(*args: str, quiet: bool = False) -> None:
    """``topofd ARGS`` with this interpreter's topofd (``quiet``: its table
    not printed again)."""
    subprocess.run([sys.executable, "-m", "topofd.cli", *args], check=True,
                   stdout=subprocess.DEVNULL if quiet else None)


def example_folders(tmp: Path, n: int) -> tuple[Path, Path]:
    real, synth = tmp / "real", tmp / "synth"
    real.mkdir()
    synth.mkdir()
    with bundled_root() as root:
        windows = real_patches(root, n)
    for w in windows:
        np.save(real / f"{w.name}.npy", w.to_array(cell=3))
        np.save(synth / f"{w.name}_gen.npy", perturb(w, "jitter", sigma=4.0, seed=0).to_array(cell=3))
    return real, synth


def main(real: Path, synth: Path, tmp: Path) -> None:
    # 1. the reference file, once from the shell and once from Python
    ref_cli, ref_py = tmp / "real_cli.topofd", tmp / "real_py.topofd"
    topofd_cli("stats", str(real), "--out", str(ref_cli), "--classes", ",".join(CLASSES), "-q")
    real_layouts, _ = read_layouts(real, classes=CLASSES)
    ev = topofd.Evaluator(**OPTIONS)
    ev.update(real_layouts, real=True)
    meta = make_reference(ev, ref_py, name="my-real-set", source=str(real))
    print(f"{ref_py.name}: {meta['n']} layouts, classes {', '.join(meta['classes'])}, "
          f"paper statistics {meta['paper_stats']}, sha256 {meta['content_sha256'][:12]}…")

    # 2. the numbers of recomputing everything from the files
    recomputed = topofd.compare(real, synth, **OPTIONS)
    print(recomputed)

    # 3. the same numbers from the reference, every way it can be used
    synth_layouts, _ = read_layouts(synth, classes=CLASSES)
    ev = topofd.Evaluator(**OPTIONS)
    ev.load_reference(ref_py)
    ev.update(synth_layouts, real=False)
    pd.testing.assert_frame_equal(ev.compute().table, recomputed.table, check_exact=True)
    pd.testing.assert_frame_equal(topofd.compare(ref_cli, synth, **OPTIONS).table, recomputed.table,
                                  check_exact=True)
    out_json = tmp / "from_ref.json"
    cli_args = ["compare", str(ref_cli), str(synth), "--classes", ",".join(CLASSES), "--json", str(out_json), "-q"]
    if OPTIONS["mmd_samples"]:
        cli_args += ["--mmd-samples", str(OPTIONS["mmd_samples"])]
    topofd_cli(*cli_args, quiet=True)
    from_cli = json.loads(out_json.read_text())
    want = recomputed.to_dict()
    assert from_cli["mean"] == want["mean"] and from_cli["per_class"] == want["per_class"], "CLI numbers differ"
    print(f"\nidentical numbers from recomputing {real.name}/, Evaluator.load_reference({ref_py.name}), "
          f"topofd.compare({ref_cli.name}, ...) and topofd compare {ref_cli.name} ...")

    # 4. a reference made with other diagram options is refused, in one line
    try:
        topofd.Evaluator(complex="alpha").load_reference(ref_py)
    except ValueError as e:
        print(f"refused as expected: {e}")
    else:
        raise AssertionError("a rips reference was accepted by an alpha evaluator")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if len(sys.argv) == 3:
            main(Path(sys.argv[1]), Path(sys.argv[2]), tmp)
        elif len(sys.argv) == 1:
            main(*example_folders(tmp, 12 if SMALL else 200), tmp)
        else:
            sys.exit(__doc__.split("\n\n")[1])

"""Speed and parity of TopoFD: topofd vs the published computation, one run.

    python benchmarks/bench_topofd.py REAL_DIR SYNTH_DIR \
        [--ref-python .venv-reference/bin/python] [--n-patches N] [--jobs 2]

Runs ``benchmarks/reference/published_topofd.py`` (gudhi Rips → gudhi
barycenter → giotto-tda landscapes → pytorch-fid FD; needs the reference
environment from ``benchmarks/reference/setup_env.sh``) and
``topofd.compare(..., metrics=["topofd"], protocol="paper")`` on the same
folders, each from cold (no cache), and prints both times, the ratio and the
largest relative difference of the per-class values.  ``--n-patches`` takes the
first N real files (sorted) and their synthetic partners, through symlinks.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def subset(real: Path, synth: Path, n: int | None, tmp: Path) -> tuple[Path, Path]:
    if n is None:
        return real, synth
    r, s = tmp / "real", tmp / "synth"
    r.mkdir()
    s.mkdir()
    reals = sorted(real.glob("*.npy"))[:n]
    synths = sorted(synth.glob("*.npy"))
    for f in reals:
        os.symlink(f.resolve(), r / f.name)
        for g in synths:
            if g.stem.startswith(f.stem):
                os.symlink(g.resolve(), s / g.name)
                break
    return r, s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("real", type=Path)
    ap.add_argument("synth", type=Path)
    ap.add_argument("--ref-python", default=".venv-reference/bin/python")
    ap.add_argument("--n-patches", type=int)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--classes", default="lym,epi,stro")
    ap.add_argument("--skip-reference", action="store_true", help="time topofd only")
    args = ap.parse_args(argv)

    import topofd

    with tempfile.TemporaryDirectory() as tmp:
        real, synth = subset(args.real, args.synth, args.n_patches, Path(tmp))
        classes = args.classes.split(",")
        t = time.perf_counter()
        rep = topofd.compare(real, synth, metrics=["topofd"], classes=classes, n_jobs=args.jobs, use_bundled=False)
        ours_s = time.perf_counter() - t
        ours = [float(rep.table.at[c, "topofd"]) for c in classes]
        print(f"topofd     {ours_s:9.1f} s   per class {ours}")
        if args.skip_reference:
            return 0
        out = Path(tmp) / "ref.json"
        t = time.perf_counter()
        subprocess.run(
            [args.ref_python, str(HERE / "reference" / "published_topofd.py"), str(real), str(synth),
             "--classes", str(len(classes)), "--out", str(out)],
            check=True,
        )
        ref_s = time.perf_counter() - t
        ref = json.loads(out.read_text())
        ref_vals = [float(v) for v in ref["topofd"]]
        rel = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(ours, ref_vals))
        print(f"reference  {ref_s:9.1f} s   per class {ref_vals}")
        print(f"speed-up   {ref_s / ours_s:9.1f} x   max relative difference {rel:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Speed and parity of TopoFD: topofd vs the published computation, one run.

    python -m benchmarks.bench_topofd REAL_DIR SYNTH_DIR \
        [--ref-python .venv-reference/bin/python] [--n-patches N] [--jobs 2]

Runs ``benchmarks/reference/published_topofd.py`` (gudhi Rips → gudhi
barycenter → giotto-tda landscapes → pytorch-fid FD; needs the reference
environment from ``benchmarks/reference/setup_env.sh``) and
``topofd.compare(..., metrics=["topofd"], protocol="paper")`` on the same
folders, each from cold (no cache), and prints both times, the ratio and the
largest relative difference of the per-class values.  ``--n-patches`` takes the
first N real files (sorted) and their synthetic partners, through symlinks.

``--cache-study SYNTH2``: instead of the reference, time topofd with a
``--cache-dir``: cold, a re-run of the same pair, and a second synthetic set
SYNTH2 against the cached real set.  ``--bundled``: time topofd with the
bundled real-side statistics on (what ``topofd compare`` does when REAL is
the BRCA-M2C test protocol).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import click

from benchmarks.common import ROOT


def subset(real: Path, synths: list[Path], n: int | None, tmp: Path) -> tuple[Path, list[Path]]:
    """The first ``n`` real files (sorted) and, in each synthetic folder, the
    partner of each (its name starts with the real stem), via symlinks."""
    if n is None:
        return real, synths
    r = tmp / "real"
    r.mkdir()
    reals = sorted(real.glob("*.npy"))[:n]
    for f in reals:
        os.symlink(f.resolve(), r / f.name)
    out = []
    for i, synth in enumerate(synths):
        s = tmp / f"synth{i}"
        s.mkdir()
        candidates = sorted(synth.glob("*.npy"))
        for f in reals:
            g = next((g for g in candidates if g.stem.startswith(f.stem)), None)
            if g is not None:
                os.symlink(g.resolve(), s / g.name)
        out.append(s)
    return r, out


def run(args) -> int:
    """The benchmark, given the options of :func:`main`."""

    import topofd

    with tempfile.TemporaryDirectory() as tmp:
        synths = [args.synth] + ([args.cache_study] if args.cache_study is not None else [])
        real, synths = subset(args.real, synths, args.n_patches, Path(tmp))
        synth = synths[0]
        classes = args.classes.split(",")

        def ours_run(s_dir, **kw):
            t = time.perf_counter()
            rep = topofd.compare(real, s_dir, metrics=["topofd"], classes=classes, n_jobs=args.jobs,
                                 use_bundled=args.bundled, **kw)
            return time.perf_counter() - t, [float(rep.table.at[c, "topofd"]) for c in classes]

        if args.cache_study is not None:
            cache = Path(tmp) / "cache"
            for label, s_dir in (("cold", synth), ("re-run, cached", synth), ("new set, cached real", synths[-1])):
                sec, vals = ours_run(s_dir, cache_dir=cache)
                print(f"topofd {label:22s} {sec:7.1f} s   per class {vals}")
            return 0
        ours_s, ours = ours_run(synth)
        print(f"topofd     {ours_s:9.1f} s   per class {ours}")
        if args.skip_reference or args.bundled:
            return 0
        out = Path(tmp) / "ref.json"
        t = time.perf_counter()
        subprocess.run(
            [args.ref_python, str(ROOT / "benchmarks" / "reference" / "published_topofd.py"), str(real), str(synth),
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


@click.command(help=__doc__, context_settings={"max_content_width": 100})
@click.argument("real", type=click.Path(path_type=Path))
@click.argument("synth", type=click.Path(path_type=Path))
@click.option("--ref-python", default=".venv-reference/bin/python", show_default=True)
@click.option("--n-patches", type=int)
@click.option("--jobs", type=int, default=2, show_default=True)
@click.option("--classes", default="lym,epi,stro", show_default=True)
@click.option("--skip-reference", is_flag=True, help="time topofd only")
@click.option("--cache-study", type=click.Path(path_type=Path), metavar="SYNTH2",
              help="time cold / cached re-run / new set")
@click.option("--bundled", is_flag=True, help="use the bundled real-side statistics")
def main(**options):
    sys.exit(run(SimpleNamespace(**options)))


if __name__ == "__main__":
    main()

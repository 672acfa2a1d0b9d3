"""``Evaluator`` inside a training loop: the cost of scoring a generator's
samples every epoch against the bundled BRCA-M2C test reference.

    python -m benchmarks.training_loop --out benchmarks/results/training_loop.json

The reference (``brca-m2c:test``: 1,550 windows, their diagrams) is loaded
once; each "epoch" resets the synthetic side (``reset(keep_real=True)``:
the real side stays), feeds batches of 64 layouts as a
torch tensor ``(64, 256, 256, 3)`` uint8, as a sampler returns them (here:
matched-count random layouts of the bundled windows), and calls
``compute()`` with TopoKD only (its interval included).  Timed: ``update``
per batch of 64, and ``compute()`` after 64 and after 1,024 layouts; the
minimum and the median of the repeats.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import click
import numpy as np


def run(a) -> int:
    """The benchmark, given the options of :func:`main`."""
    import torch

    import topofd
    from topofd.layouts.brca_m2c import demo_sets

    _, synth = demo_sets(1024, seed=0)
    batches = [
        torch.from_numpy(np.stack([l.to_array() for l in synth[i : i + 64]])) for i in range(0, len(synth), 64)
    ]
    t = time.perf_counter()
    ev = topofd.Evaluator(metrics=("topokd",))
    ev.load_reference("brca-m2c:test")
    load_s = time.perf_counter() - t
    upd, comp = [], {64: [], 1024: []}
    for _ in range(a.repeats):
        ev.reset(keep_real=True)
        for i, b in enumerate(batches):
            t = time.perf_counter()
            ev.update(b, real=False)
            upd.append(time.perf_counter() - t)
            n = 64 * (i + 1)
            if n in comp:
                t = time.perf_counter()
                rep = ev.compute()
                comp[n].append(time.perf_counter() - t)
    res = {
        "what": "Evaluator(metrics=('topokd',)) with the brca-m2c:test reference; batches of 64 (torch uint8 tensors)",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        "load_reference_s": load_s,
        "update_per_batch_ms": {"min": 1e3 * min(upd), "median": 1e3 * float(np.median(upd))},
        "compute_s": {str(n): {"min": min(v), "median": float(np.median(v))} for n, v in comp.items()},
        "topokd_mean_at_1024": float(rep.table.at["mean", "topokd"]),
    }
    text = json.dumps(res, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0


@click.command(help=__doc__.split("\n\n")[0])
@click.option("--repeats", type=int, default=5, show_default=True)
@click.option("--out", default=None)
def main(**options):
    sys.exit(run(SimpleNamespace(**options)))


if __name__ == "__main__":
    main()

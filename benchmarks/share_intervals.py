"""Coverage over draws of the intervals of share-valued fidelity scores
(precision, recall, coverage): the t interval of the delete-a-group
jackknife (before issue 26) against the Wilson interval at the jackknife's
effective sample size (topofd.stats.shares, now).

A real set of N points is drawn once from N(0, I_d) and kept fixed (as a
benchmark's test set); K synthetic sets of M points are drawn from
N(δ·1, s²·I_d).  Each draw's interval is checked against the mean of the
score over the K draws (what "another draw of the synthetic set, real set
fixed" targets).  Reported per setting and score: the mean score, the share
of draws whose interval covers the mean over draws, the share of intervals
with a bound outside [0, 1], and the mean width.

    python -m benchmarks.share_intervals [--draws 200]
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import click
import numpy as np

from benchmarks.common import RESULTS
from topofd.metrics.manifold import SHARES, manifold_scores
from topofd.stats.shares import share_estimate
from topofd.stats.uncertainty import assign_groups, jackknife

SETTINGS = {  # name: (shift δ, spread s) of the synthetic distribution
    "same distribution": (0.0, 1.0),
    "shifted 0.5": (0.5, 1.0),
    "narrow 0.6 (mode dropping)": (0.0, 0.6),
    "wide 1.6": (0.0, 1.6),
}


def run(draws: int, N: int, M: int, d: int, k: int, groups: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    Fr = rng.normal(size=(N, d))
    out = {}
    for name, (shift, spread) in SETTINGS.items():
        vals: dict[str, list] = {s: [] for s in SHARES}
        ivs: dict[str, dict[str, list]] = {s: {"t": [], "wilson": []} for s in SHARES}
        for b in range(draws):
            Fs = shift + spread * rng.normal(size=(M, d))
            lab = assign_groups(M, groups, b)
            res = manifold_scores(Fr, Fs, k, lab, SHARES)
            for s in SHARES:
                v, reps = res[s]
                e = jackknife(v, reps)
                w = share_estimate(e, M if s == "precision" else N)
                vals[s].append(v)
                ivs[s]["t"].append((e.lo, e.hi))
                ivs[s]["wilson"].append((w.lo, w.hi))
        row = {}
        for s in SHARES:
            target = float(np.mean(vals[s]))
            row[s] = {"mean": target, "sd_over_draws": float(np.std(vals[s], ddof=1))}
            for how, iv in ivs[s].items():
                lo, hi = np.array(iv, float).T
                row[s][how] = {
                    "coverage": float(np.mean((lo <= target) & (target <= hi))),
                    "outside_0_1": float(np.mean((lo < 0) | (hi > 1))),
                    "mean_width": float(np.mean(hi - lo)),
                }
        out[name] = row
    return out


@click.command(help=__doc__.splitlines()[0])
@click.option("--draws", type=int, default=200, show_default=True)
@click.option("--n", type=int, default=200, show_default=True)
@click.option("--m", type=int, default=200, show_default=True)
@click.option("--d", type=int, default=5, show_default=True)
@click.option("--k", type=int, default=5, show_default=True)
@click.option("--groups", type=int, default=20, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", default=str(RESULTS / "share_intervals.json"), show_default=True)
def main(**options) -> None:
    a = SimpleNamespace(**options)
    res = run(a.draws, a.n, a.m, a.d, a.k, a.groups, a.seed)
    cfg = {k: v for k, v in vars(a).items() if k != "out"}
    Path(a.out).write_text(json.dumps({"config": cfg, "results": res}, indent=2) + "\n")
    for name, row in res.items():
        for s, r in row.items():
            print(
                f"{name:28s} {s:9s} mean {r['mean']:.3f}  t: cover {r['t']['coverage']:.2f} "
                f"out {r['t']['outside_0_1']:.2f} w {r['t']['mean_width']:.3f}  "
                f"wilson: cover {r['wilson']['coverage']:.2f} out {r['wilson']['outside_0_1']:.2f} "
                f"w {r['wilson']['mean_width']:.3f}"
            )


if __name__ == "__main__":
    main()

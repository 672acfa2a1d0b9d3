"""Choosing the layout encoder's objective (issue 17): Layout FID and KID of
each candidate encoder under the validity criteria of ``validity.py``.

Real set: the test windows (256x256, stride 32, read back from the published
rasters) of half of the 30 test images (images sorted by name, every other
one: set A), at most ``--n``, evenly spread.  Synthetic sets: the per-window
and set-level families of :mod:`families` applied to those windows
(``synthetic_set``: seeded per family, strength, window and draw), at every
strength, ``--draws`` independent draws each; ``random`` (matched-count
uniform placement, re-drawn); the real-vs-real null: the windows of the
other 15 images (set B).  Every set is encoded once per encoder and scored
with :func:`topofd.metrics.fid.fid_scores` / :func:`topofd.metrics.kid.kid_scores`
(what ``--metrics fid,kid`` computes, without the intervals: the spread
here is across draws).

Criteria per encoder, score and family (as ``validity.py``): (a) Spearman ρ
of the mean over draws with the strength (1: monotone); (b) adjacent
strengths whose means differ by more than twice the larger across-draw sd;
(c) CV across draws of the random set; (d) the null, real vs real of other
images, as a fraction of random (near 0 wanted: a generator as good as the
data should score far below a random one).

Usage::

    nice python -m benchmarks.fid_encoders ENC.pt [ENC.pt ...] [--n 775] [--draws 3]
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np
from scipy.stats import spearmanr

from benchmarks.common import RESULTS, spread
from benchmarks.families import FAMILIES, image_of, synthetic_set, test_windows
from topofd.encoders.extract import SHIPPED, encode, load_extractor
from topofd.metrics.fid import fid_scores
from topofd.metrics.kid import kid_scores

USED = ("jitter", "replace", "swap", "dissolve", "mixture")
SCORES = ("fid", "kid")


def sets(n: int, draws: int):
    """``(real, {(family, strength, draw): layouts})`` with ``("random", 1, d)`` and ``("null", 0, 0)``."""
    wins = list(test_windows())
    images = sorted({image_of(l.name) for l in wins})
    A = set(images[0::2])
    real = spread([l for l in wins if image_of(l.name) in A], n)
    out = {("null", 0, 0): spread([l for l in wins if image_of(l.name) not in A], n)}
    for d in range(draws):
        out[("random", 1.0, d)] = synthetic_set(real, "replace", 1.0, 100 + d)
        for fam in USED:
            for s in FAMILIES[fam]:
                out[(fam, s, d)] = synthetic_set(real, fam, s, d)
    return real, out


def features(ex, layouts) -> np.ndarray:
    return encode(ex, [l.points for l in layouts], [l.shape for l in layouts])


def criteria(vals: dict, draws: int) -> dict:
    """The criteria (module docstring) from ``{(family, strength, draw): score}``."""
    out = {}
    rnd = np.array([vals[("random", 1.0, d)] for d in range(draws)])
    for fam in USED:
        lv = FAMILIES[fam]
        v = np.array([[vals[(fam, s, d)] for d in range(draws)] for s in lv])
        m, sd = v.mean(1), v.std(1, ddof=1) if draws > 1 else np.zeros(len(lv))
        ok = [abs(m[i + 1] - m[i]) > 2 * max(sd[i], sd[i + 1]) for i in range(len(lv) - 1)]
        out[fam] = {"rho": float(spearmanr(lv, m)[0]), "resolved": int(sum(ok)), "pairs": len(ok),
                    "means": m.tolist(), "sds": sd.tolist()}
    out["random"] = {"mean": float(rnd.mean()), "cv": float(rnd.std(ddof=1) / abs(rnd.mean())) if draws > 1 else None}
    out["null"] = {"value": vals[("null", 0, 0)], "of_random": vals[("null", 0, 0)] / float(rnd.mean())}
    return out


def markdown(res: dict) -> str:
    lines = []
    for score in SCORES:
        lines += [f"**Layout {score.upper()}**", "",
                  "| encoder | " + " | ".join(f"{f}: ρ, resolved" for f in USED) + " | random CV | null / random |",
                  "|---|" + "---|" * (len(USED) + 2)]
        for name, r in res["encoders"].items():
            c = r["criteria"][score]
            cells = [f"{c[f]['rho']:.2f}, {c[f]['resolved']}/{c[f]['pairs']}" for f in USED]
            cv = c["random"]["cv"]
            cells += ["—" if cv is None else f"{100 * cv:.1f} %", f"{c['null']['of_random']:.3g}"]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


@click.command()
@click.argument("encoders", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--n", default=775, show_default=True, help="Real windows (set A; every set has as many).")
@click.option("--draws", default=3, show_default=True)
@click.option("--out", default=str(RESULTS / "/fid"), show_default=True)
def main(encoders, n, draws, out):
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    real, synth = sets(n, draws)
    print(f"{len(real)} real windows, {len(synth)} sets built in {time.perf_counter() - t0:.0f} s", flush=True)
    res = {"n_real": len(real), "draws": draws, "families": {f: list(FAMILIES[f]) for f in USED}, "encoders": {}}
    for path in encoders or (str(SHIPPED),):
        t = time.perf_counter()
        ex = load_extractor(None if Path(path) == SHIPPED else path)
        rec = json.loads(Path(path).with_suffix(".json").read_text())
        Fr = features(ex, real)
        vals = {sc: {} for sc in SCORES}
        for key, lays in synth.items():
            Fs = features(ex, lays)
            vals["fid"][key] = fid_scores(Fr, Fs)[0]
            vals["kid"][key] = kid_scores(Fr, Fs)[0]
        name = rec.get("objective_name") or rec["objective"].split(":")[0]
        res["encoders"][name] = {"file": Path(path).name, "sha256": rec["sha256"], "record": rec,
                                 "seconds": round(time.perf_counter() - t, 1),
                                 "criteria": {sc: criteria(vals[sc], draws) for sc in SCORES}}
        print(name, res["encoders"][name]["seconds"], "s", flush=True)
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / "encoders.json").write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n")
    (Path(out) / "encoders.md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()

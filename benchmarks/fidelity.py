"""Fidelity, diversity and memorisation (issue 18) on BRCA-M2C windows.

Real (held-out) set: test windows of the bundled protocol (256x256, stride
32, read back from the published rasters) of half of the 30 test images
(images sorted by name, every other one: set A), an evenly spread subset of
at most ``--n`` windows.  Training set: windows of the 80 train images
(same protocol, ``../shared/datasets/brca-m2c``), an evenly spread subset of
``--n-train``.  Synthetic sets (each at most ``--n`` windows, named
``..._gen``, rasterised and read back like files):

* ``fresh``: test windows of the *other* 15 test images (set B) — a
  generator that samples the distribution afresh (the sanity row);
* ``same images, other windows``: the test windows of set A not in the
  real set (they overlap real windows: stride 32 < 256) — how much of the
  ``fresh`` row is the difference between images;
* ``modedrop``: windows of only 3 images of set B (mode dropping);
* ``jitter σ``: the ``fresh`` windows, every cell moved by rounded
  N(0, σ²) px (:func:`families.perturbed`), σ = 2, 4, 8;
* ``random``: the ``fresh`` windows with every cell re-placed uniformly
  (matched counts, :func:`topofd.layouts.baselines.perturb`);
* ``copies``: training windows copied exactly;
* ``copies+1px``: the same copies, every cell moved by rounded N(0, 1) px;
* ``half copies``: half training copies, half matched-count random;
* ``half fresh``: half training copies, half ``fresh`` windows.

Every set is scored by ``topofd.Evaluator(metrics="fidelity,memorisation,topokd")``
with its standard errors (diagrams cached between sets).  Writes
``results/fidelity/fidelity.json`` and ``fidelity.md``.

``--features-only``: instead, precision / recall / density / coverage of
the same sets in three per-layout feature spaces (:data:`FEATURE_SPACES`:
the √landscape H1 vector the plug-ins used first, with the H0 spacing
block of :func:`topofd.metrics.embedding.layout_features` (``h0=True``)
appended, and the H0 block alone, the plug-ins' default now), k = 5 and 20, ± a delete-a-group jackknife over
the synthetic set (20 groups, layout index modulo 20); writes
``fidelity_features.{json,md}``.

Usage::

    python -m benchmarks.fidelity [--n 400] [--n-train 1000] [--features-only] [--out benchmarks/results/fidelity]
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import click
import numpy as np

import topofd
from benchmarks.common import RESULTS, SHARED, named, spread
from benchmarks.families import image_of, perturbed, test_windows, train_windows
from benchmarks.fidelity_views import FEATURE_SPACES, cell_view, k_sweep, space_features
from topofd.layouts.baselines import perturb
from topofd.layouts.brca_m2c import read_back
from topofd.metrics.manifold import STATS, manifold_scores

SWEEP = ("fresh", "same images, other windows", "modedrop (3 images)", "jitter σ=8", "random", "copies")
COLUMNS = ("precision", "recall", "density", "coverage", "ct", "near_copies", "topokd")


def build_sets(n: int, n_train: int, shared: Path):
    wins = list(test_windows())
    images = sorted({image_of(l.name) for l in wins})
    A, B = set(images[0::2]), images[1::2]
    inA = [l for l in wins if image_of(l.name) in A]
    real = spread(inA, n)
    taken = {l.name for l in real}
    fresh = spread([l for l in wins if image_of(l.name) in set(B)], n)
    train = train_windows(n_train, shared)
    copies = spread(train, n)
    few = set(B[:3])
    rand = read_back([perturb(l, "random", seed=7) for l in fresh])
    h = len(fresh) // 2
    synth = {
        "fresh": named(fresh),
        "same images, other windows": named(spread([l for l in inA if l.name not in taken], n)),
        "modedrop (3 images)": named(spread([l for l in wins if image_of(l.name) in few], n)),
        **{f"jitter σ={s}": named(read_back([perturbed(l, "jitter", s) for l in fresh])) for s in (2, 4, 8)},
        "random": named(rand),
        "copies": named(copies, "copy_"),
        "copies+1px": named(read_back([perturbed(l, "jitter", 1) for l in copies]), "copy_"),
        "half copies + half random": named(copies[:h] + rand[h:], "mix_"),
        "half copies + half fresh": named(copies[:h] + fresh[h:], "mix_"),
    }
    return real, train, synth


def score(real, train, synth, cache: str, jobs: int) -> dict:
    t0 = time.perf_counter()
    ev = topofd.Evaluator(metrics="fidelity,memorisation,topokd", pairing="none", cache_dir=cache, n_jobs=jobs)
    ev.update(real, real=True)
    ev.update_train(train)
    ev.update(synth, real=False)
    r = ev.compute()
    row = {"n_synth": len(synth), "seconds": time.perf_counter() - t0}
    for c in COLUMNS:
        row[c] = float(r.table.at["mean", c])
        se = f"{c}_se"
        row[se] = float(r.table.at["mean", se]) if se in r.table.columns else None
    row["worst"] = r.meta["near_copies"]["worst"][:3]
    row["threshold_px"] = r.meta["near_copies"]["threshold_px"]
    row["cap_px"] = r.meta["near_copies"]["cap_px"]
    row["ct_cells"] = r.meta["ct"]["n_cells"]
    row["notes"] = [x for x in r.meta["notes"] if x.startswith("memorisation")]
    return row


def feature_compare(real, synth: dict, cache, ks=(5, 20), groups=20) -> dict:
    """``{space: {k: {set: {stat: [value, se]}}}}`` (module docstring, ``--features-only``)."""

    R, views = cell_view(real, cache), {k: cell_view(S, cache) for k, S in synth.items()}
    out: dict = {}
    for space in FEATURE_SPACES:
        for k in ks:
            for name, V in views.items():
                Fr, Fs = space_features(R, V, space)
                lab = np.arange(len(Fs)) % groups
                for stat, (v, reps) in manifold_scores(Fr, Fs, k, lab).items():
                    x = np.asarray(reps)
                    se = float(np.sqrt((len(x) - 1) / len(x) * np.sum((x - x.mean()) ** 2))) if len(x) else None
                    out.setdefault(space, {}).setdefault(k, {}).setdefault(name, {})[stat] = [v, se]
            print(f"{space}, k = {k}: done", flush=True)
    return out


def features_markdown(fc: dict, n_real: int) -> str:
    out = [
        f"Precision / recall / density / coverage by feature space ({n_real} real windows; ± jackknife se, 20 groups):",
        "",
        "| feature space | k | synthetic set | precision | recall | density | coverage |",
        "|---|---|---|---|---|---|---|",
    ]
    for space, by_k in fc.items():
        for k, rows in by_k.items():
            for name, r in rows.items():
                out.append(f"| {space} | {k} | {name} | " + " | ".join(fmt(*r[s]) for s in STATS) + " |")
    return "\n".join(out)


def sweep_markdown(sweep: dict) -> str:
    ks = list(next(iter(sweep.values())))
    out = ["| synthetic set | " + " | ".join(f"k={k} P / R / D / C" for k in ks) + " |", "|---|" + "---|" * len(ks)]
    for name, row in sweep.items():
        out.append(f"| {name} | " + " | ".join(" / ".join(f"{row[k][s]:.2f}" for s in STATS) for k in ks) + " |")
    return "\n".join(out)


def fmt(v, se, d=3):
    if v is None or not np.isfinite(v):
        return "—"
    return f"{v:.{d}f}" + (f" ± {se:.{d}f}" if se is not None and np.isfinite(se) else "")


def markdown(rows: dict, meta: dict) -> str:
    head = "| synthetic set | n | precision | recall | density | coverage | C_T | near copies | TopoKD |"
    out = [head, "|" + "---|" * 9]
    for name, r in rows.items():
        cells = [fmt(r[c], r[f"{c}_se"], 2 if c == "ct" else 3) for c in COLUMNS]
        out.append(f"| {name} | {r['n_synth']} | " + " | ".join(cells) + " |")
    any_row = next(iter(rows.values()))
    out += [
        "",
        f"Real (held-out) set: {meta['n_real']} test windows of 15 test images; training set: {meta['n_train']} "
        f"windows of the 80 train images; k = 5; C_T on {any_row['ct_cells']} k-means cells; near-copy "
        f"threshold {any_row['threshold_px']:.2f} px (half the 1st percentile of the real windows' matching distance "
        "to "
        f"their nearest training window; cap {any_row['cap_px']:.1f} px). ± one jackknife standard error over "
        f"the synthetic set (20 groups). Total {meta['seconds']:.0f} s on the shared 2-core machine, under load.",
    ]
    return "\n".join(out)


@click.command()
@click.option("--n", default=400, show_default=True, help="Windows per real / synthetic set.")
@click.option("--n-train", default=1000, show_default=True, help="Training windows.")
@click.option("--jobs", default=1, show_default=True)
@click.option("--out", default=str(RESULTS / "fidelity"), show_default=True)
@click.option("--shared", default=os.environ.get("TOPOFD_SHARED_BRCA", str(SHARED)), show_default=True)
@click.option(
    "--sweep/--no-sweep", "with_sweep", default=True, show_default=True, help="Also precision … coverage at k = 5 … 50."
)
@click.option("--features-only", is_flag=True, help="Only P / R / D / C in the candidate feature spaces.")
def main(n, n_train, jobs, out, shared, with_sweep, features_only):
    t0 = time.perf_counter()
    real, train, synth = build_sets(n, n_train, Path(shared))
    print(f"real {len(real)}, train {len(train)}; sets built in {time.perf_counter() - t0:.0f} s", flush=True)
    if features_only:
        with tempfile.TemporaryDirectory() as cache:
            fc = feature_compare(real, synth, cache)
        Path(out).mkdir(parents=True, exist_ok=True)
        meta = {"n_real": len(real), "seconds": time.perf_counter() - t0}
        (Path(out) / "fidelity_features.json").write_text(json.dumps({"meta": meta, "scores": fc}, ensure_ascii=False))
        md = features_markdown(fc, len(real)) + f"\n\nTotal {meta['seconds']:.0f} s.\n"
        (Path(out) / "fidelity_features.md").write_text(md)
        print(md)
        return
    rows = {}
    with tempfile.TemporaryDirectory() as cache:
        for name, S in synth.items():
            rows[name] = score(real, train, S, cache, jobs)
            r = rows[name]
            print(
                f"{name:28s} " + "  ".join(f"{c}={r[c]:.3f}" for c in COLUMNS) + f"  ({r['seconds']:.0f} s)", flush=True
            )
        sweep = k_sweep(real, synth, SWEEP, cache=cache) if with_sweep else {}
    meta = {"n_real": len(real), "n_train": len(train), "seconds": time.perf_counter() - t0, "k": 5}
    Path(out).mkdir(parents=True, exist_ok=True)
    doc = {"meta": meta, "rows": rows, "k_sweep": sweep}
    (Path(out) / "fidelity.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False))
    md = markdown(rows, meta) + ("\n\nk sweep (P / R / D / C):\n\n" + sweep_markdown(sweep) if sweep else "")
    (Path(out) / "fidelity.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()

"""Issue 18 acceptance, the parts a single draw cannot show (companion of
``fidelity.py``, whose set builders it reuses).

1. ``draws``: false-positive and detection rates of the memorisation tests
   over ``--draws`` draws.  Per draw ``d`` the 30 test images are split at
   random into two halves A and B (seeded by ``d``); real (held-out) set:
   ``--n`` windows drawn from A; synthetic sets, ``--n`` each:

   * ``held-out real``: windows drawn from B (must not be flagged);
   * ``random``: the same B windows, every cell re-placed uniformly
     (matched counts, :func:`topofd.layouts.baselines.perturb`) (must not be flagged);
   * ``copies``: training windows copied exactly (must be flagged);
   * ``copies+1px``: the same copies, every cell moved by rounded N(0, 1) px (must be flagged).

   Training set: ``--n-train`` windows of the 80 train images (evenly
   spread, fixed); copies are drawn from it at random per draw.  Flagged:
   C_T ≤ −3; near copies: the plug-in's verdict (binomial p < 0.001 for
   more than 1 % of the synthetic layouts below the threshold).  C_T in
   every draw, near copies in the first ``--near-draws`` draws (cost).
2. ``cost``: on the full 1,550-window protocol
   (``topofd.layouts.brca_m2c.demo_sets(None, seed=0)``), ``topofd.compare``
   with the default metrics against ``metrics="topofd,topokd,mmd,counts,fidelity"``,
   interleaved in one process, ``--reps`` each, ``n_jobs=--jobs``.
3. ``k``: precision / recall / density / coverage of random vs held-out
   real at k = 5, 20, 50 on one draw, (a) with the overlapping stride-32
   windows as above and (b) thinned: only the four corner windows of every
   image (adjacent corners overlap by ~32 px on the ~490 px images), real set from the 80
   train images, held-out set from the 30 test images, random = its
   matched-count re-placement.

4. ``wsplit`` (not in the default ``--parts``): control for 1., the held-out
   set drawn at the window level (real and held-out windows disjoint, from
   the same 30 images): the exchangeable setting both tests assume.
5. ``spaces`` (not in the default ``--parts``): C_T of the sets of 1. over
   the same draws in the three feature spaces of ``fidelity.py
   --features-only`` (H1 √landscape as first shipped, H1 + H0, H0 alone, the
   default now), without intervals.
6. ``copies`` (not in the default ``--parts``): the copying acceptance at the
   full protocol size.  Real (held-out) set: all 1,550 test windows;
   training set: ``--copies-train`` train windows evenly spread; synthetic
   sets of ``--copies-at`` layouts each: every other training window
   (evenly spread) copied exactly, the same copies moved by rounded
   N(0, 1) px, and two matched-count controls that must not be flagged —
   the *other* training windows (not copied) with every cell re-placed
   uniformly, and the test windows re-placed the same way.  Scored by
   ``Evaluator(metrics="memorisation")`` (C_T and near copies) with intervals.

Usage::

    python -m benchmarks.fidelity_draws [--draws 20] [--near-draws 5] [--n 300] [--n-train 800] \\
        [--parts draws,k,cost,wsplit,copies] [--copies-at 1550] [--copies-train 3100] [--mmd-samples N] \\
        [--out benchmarks/results/fidelity]
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import click
import numpy as np
from sklearn.cluster import KMeans

import topofd
from benchmarks.common import RESULTS, SHARED, named, spread
from benchmarks.families import image_of, perturbed, test_windows, train_windows
from benchmarks.fidelity_views import FEATURE_SPACES, cell_view, k_sweep, space_features
from topofd.layouts.baselines import perturb
from topofd.layouts.brca_m2c import demo_sets, read_back
from topofd.metrics.copying import THRESHOLD, cell_distances, ct_statistic, n_cells_for
from topofd.metrics.manifold import STATS
from topofd.metrics.near_copies import P_COPYING

HEAD = (
    "| synthetic set | should be flagged | C_T flagged | C_T mean [min, max] | near copies flagged "
    "| near-copy share mean (max) |"
)
SETS = ("held-out real", "random", "copies", "copies+1px")
MUST_FLAG = {"held-out real": False, "random": False, "copies": True, "copies+1px": True}


def origin(name: str) -> tuple[int, int]:
    r, c = re.findall(r"_r(\d+)_c(\d+)", name)[-1]
    return int(r), int(c)


def pick(xs, n, g):
    xs = list(xs)
    if n >= len(xs):
        return xs
    return [xs[i] for i in sorted(g.choice(len(xs), n, replace=False))]


def draw_sets(wins, train, n, d):
    g = np.random.default_rng(1000 + d)
    images = sorted({image_of(l.name) for l in wins})
    perm = g.permutation(len(images))
    A = {images[i] for i in perm[: len(images) // 2]}
    real = pick([l for l in wins if image_of(l.name) in A], n, g)
    held = pick([l for l in wins if image_of(l.name) not in A], n, g)
    copies = pick(train, n, g)
    synth = {
        "held-out real": named(held),
        "random": named(read_back([perturb(l, "random", seed=7000 + d) for l in held]), "rand_"),
        "copies": named(copies, "copy_"),
        "copies+1px": named(read_back([perturbed(l, "jitter", 1, draw=d) for l in copies]), "copy_"),
    }
    return real, synth


def mem_scores(real, train, S, cache, metrics):
    ev = topofd.Evaluator(metrics=metrics, pairing="none", cache_dir=cache, uncertainty=False)
    ev.update(real, real=True)
    ev.update_train(train)
    ev.update(S, real=False)
    r = ev.compute()
    out = {"ct": float(r.table.at["mean", "ct"])}
    out["ct_flag"] = bool(out["ct"] <= THRESHOLD)
    if "near_copies" in metrics:
        m = r.meta["near_copies"]
        out.update(
            near_copies=float(r.table.at["mean", "near_copies"]),
            near_p=float(m["binomial_p"]),
            near_flag=bool(m["binomial_p"] < P_COPYING),
            threshold_px=float(m["threshold_px"]),
        )
    return out


def part_draws(a, wins, train, cache):
    rows = []
    for d in range(a.draws):
        t0 = time.perf_counter()
        real, synth = draw_sets(wins, train, a.n, d)
        metrics = ("ct", "near_copies") if d < a.near_draws else ("ct",)
        row = {"draw": d, "sets": {k: mem_scores(real, train, S, cache, metrics) for k, S in synth.items()}}
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
        print(
            f"draw {d:2d} ({row['seconds']:.0f} s): "
            + "  ".join(
                f"{k}: C_T={v['ct']:.2f}" + (f" nc={v['near_copies']:.3f}" if "near_copies" in v else "")
                for k, v in row["sets"].items()
            ),
            flush=True,
        )
    summary = {k: {"must_flag": MUST_FLAG[k], **_draw_summary([r["sets"][k] for r in rows])} for k in SETS}
    return {"rows": rows, "summary": summary}


def _draw_summary(draws: list[dict]) -> dict:
    """Flag counts and the spread of C_T and of the near-copy share over draws."""
    ct = [r["ct"] for r in draws]
    nf = [r["near_flag"] for r in draws if "near_flag" in r]
    ncf = [r["near_copies"] for r in draws if "near_copies" in r]
    return {
        "ct_draws": len(ct),
        "ct_flagged": int(sum(c <= THRESHOLD for c in ct)),
        "ct_mean": float(np.mean(ct)),
        "ct_min": float(np.min(ct)),
        "ct_max": float(np.max(ct)),
        "near_draws": len(nf),
        "near_flagged": int(sum(nf)),
        "near_share_mean": float(np.mean(ncf)) if ncf else None,
        "near_share_max": float(np.max(ncf)) if ncf else None,
    }


def part_wsplit(a, wins, train, cache):
    """Control: the held-out set drawn at the window level (real and held-out
    windows disjoint but from the same 30 images, overlapping ones included):
    the exchangeable setting C_T and the near-copy binomial assume."""
    rows = []
    for d in range(a.draws):
        g = np.random.default_rng(5000 + d)
        perm = g.permutation(len(wins))
        real = [wins[i] for i in sorted(perm[: a.n])]
        held = named([wins[i] for i in sorted(perm[a.n : 2 * a.n])])
        metrics = ("ct", "near_copies") if d < a.near_draws else ("ct",)
        rows.append({"draw": d, **mem_scores(real, train, held, cache, metrics)})
        print(f"window split draw {d}: {rows[-1]}", flush=True)
    return {"rows": rows, "summary": _draw_summary(rows)}


def part_spaces(a, wins, train, cache):
    """C_T over draws in each of ``fidelity.FEATURE_SPACES`` (module docstring, 5.)."""
    T = cell_view(train, cache)
    ct = {sp: {k: [] for k in SETS} for sp in FEATURE_SPACES}
    for d in range(a.draws):
        real, synth = draw_sets(wins, train, a.n, d)
        R = cell_view(real, cache)
        for k, S in synth.items():
            V = cell_view(S, cache)
            for sp in FEATURE_SPACES:
                Fr, Fs, Ft = space_features(R, V, sp, T)
                n = n_cells_for(len(Fr), len(np.unique(Ft, axis=0)))
                km = KMeans(n_clusters=n, n_init=10, random_state=0).fit(Ft)
                ct_, cr, cs = km.predict(Ft), km.predict(Fr), km.predict(Fs)
                value, _ = ct_statistic(cr, cell_distances(Ft, ct_, Fr, cr), cs, cell_distances(Ft, ct_, Fs, cs), n)
                ct[sp][k].append(float(value))
        print(f"spaces draw {d}: " + str({sp: {k: round(v[-1], 2) for k, v in r.items()} for sp, r in ct.items()}))
    return {
        sp: {k: {"must_flag": MUST_FLAG[k], **_draw_summary([{"ct": c} for c in v])} for k, v in r.items()}
        for sp, r in ct.items()
    }


def part_copies(a, wins, cache):
    """Copies and matched-count controls at ``--copies-at`` layouts (module docstring, 5.)."""
    train = train_windows(a.copies_train, Path(a.shared))
    copied = spread(train[0::2], a.copies_at)
    taken = {l.name for l in copied}
    others = spread([l for l in train if l.name not in taken], a.copies_at)
    real = list(wins)
    synth = {
        "copies": named(copied, "copy_"),
        "copies+1px": named(read_back([perturbed(l, "jitter", 1) for l in copied]), "copy_"),
        "random (train windows not copied, re-placed)": named(
            read_back([perturb(l, "random", seed=11) for l in others]), "rand_"
        ),
        "random (test windows re-placed)": named(read_back([perturb(l, "random", seed=13) for l in real]), "rand_"),
    }
    rows = {}
    for name, S in synth.items():
        t0 = time.perf_counter()
        ev = topofd.Evaluator(metrics="memorisation", pairing="none", cache_dir=cache, n_jobs=a.jobs)
        ev.update(real, real=True)
        ev.update_train(train)
        ev.update(S, real=False)
        r = ev.compute()
        t = r.table.loc["mean"]
        m = r.meta["near_copies"]
        rows[name] = {
            "n_synth": len(S),
            "ct": float(t["ct"]),
            "ct_se": float(t["ct_se"]),
            "ct_flag": bool(t["ct"] <= THRESHOLD),
            "ct_cells": r.meta["ct"]["n_cells"],
            "near_copies": float(t["near_copies"]),
            "near_copies_se": float(t["near_copies_se"]),
            "near_p": float(m["binomial_p"]),
            "near_flag": bool(m["binomial_p"] < P_COPYING),
            "threshold_px": float(m["threshold_px"]),
            "notes": [x for x in r.meta["notes"] if x.startswith("memorisation")],
            "seconds": time.perf_counter() - t0,
        }
        print(f"copies at {a.copies_at}, {name}: {rows[name]}", flush=True)
    return {"n_real": len(real), "n_train": len(train), "rows": rows}


def part_k(a, wins, train_all, cache, ks=(5, 20, 50)):
    out = {}
    real, synth = draw_sets(wins, train_all, a.n, 0)
    sets = {"held-out real": synth["held-out real"], "random": synth["random"]}
    out["stride 32 (overlapping)"] = {
        "n_real": len(real),
        "n_synth": len(sets["random"]),
        "scores": k_sweep(real, sets, list(sets), ks=ks, cache=cache),
    }

    def corners(ws):
        by = {}
        for l in ws:
            by.setdefault(image_of(l.name), []).append(l)
        keep = []
        for ls in by.values():
            rs = {origin(l.name)[0] for l in ls}
            cs = {origin(l.name)[1] for l in ls}
            want = {(r, c) for r in (min(rs), max(rs)) for c in (min(cs), max(cs))}
            keep += [l for l in ls if origin(l.name) in want]
        return keep

    real_t = train_corners(corners, Path(a.shared))
    held_t = corners(wins)
    sets_t = {
        "held-out real": named(held_t),
        "random": named(read_back([perturb(l, "random", seed=7000) for l in held_t]), "rand_"),
    }
    out["corner windows (≤ 32 px overlap)"] = {
        "n_real": len(real_t),
        "n_synth": len(held_t),
        "real_from": "80 train images",
        "scores": k_sweep(real_t, sets_t, list(sets_t), ks=ks, cache=cache),
    }
    return out


def train_corners(corners, sh):
    """Corner windows of the 80 train images (read back like train_windows)."""
    import families as fam

    from topofd.layouts.layout import Layout

    sizes = fam.read_sizes(sh / "image_sizes.tsv")
    wins = []
    for stem in fam.read_split(sh / "brca_ds_train.txt"):
        im = fam.brca.read_image(fam.label_file(sh / "labels", stem), sizes[stem])
        wins.extend(fam.window_layouts(im, fam.brca.CLASSES))
    return read_back([Layout(l.points, l.classes, l.shape, f"train_{l.name}") for l in corners(wins)])


def part_cost(a):
    real, synth = demo_sets(None, seed=0)
    kw = {"n_jobs": a.jobs}
    if a.mmd_samples:
        kw["mmd_samples"] = a.mmd_samples
    plus = "topofd,topokd,mmd,counts,fidelity"
    times = {"default": [], "default+fidelity": []}
    for rep in range(a.reps):
        for name, extra in (("default", {}), ("default+fidelity", {"metrics": plus})):
            t0 = time.perf_counter()
            rep_ = topofd.compare(real, synth, **kw, **extra)
            times[name].append(time.perf_counter() - t0)
            print(
                f"cost rep {rep} {name}: {times[name][-1]:.1f} s; columns {list(rep_.table.columns)[:12]}", flush=True
            )
    b, f = np.median(times["default"]), np.median(times["default+fidelity"])
    return {
        "n_real": len(real),
        "n_synth": len(synth),
        "options": {**kw, "plus": plus},
        "seconds": times,
        "median_default": float(b),
        "median_plus": float(f),
        "added_fraction": float(f / b - 1),
    }


def markdown(doc) -> str:
    out = []
    if "draws" in doc:
        s = doc["draws"]["summary"]
        m = doc["meta"]
        out += [
            f"Memorisation tests over draws ({m['n']} real / {m['n']} synthetic / {m['n_train']} train windows; "
            f"C_T in {m['draws']} draws, near copies in {m['near_draws']}):",
            "",
            HEAD,
            "|---|---|---|---|---|---|",
        ]
        for k, v in s.items():
            nc = f"{v['near_flagged']}/{v['near_draws']}" if v["near_draws"] else "—"
            ns = f"{v['near_share_mean']:.3f} ({v['near_share_max']:.3f})" if v["near_share_mean"] is not None else "—"
            out.append(
                f"| {k} | {'yes' if v['must_flag'] else 'no'} | {v['ct_flagged']}/{v['ct_draws']} | "
                f"{v['ct_mean']:.2f} [{v['ct_min']:.2f}, {v['ct_max']:.2f}] | {nc} | {ns} |"
            )
        out.append("")
    if "wsplit" in doc:
        v = doc["wsplit"]["summary"]
        out += [
            "Control, held-out real drawn at the window level (same 30 images, disjoint windows):",
            "",
            HEAD,
            "|---|---|---|---|---|---|",
            f"| held-out real (window split) | no | {v['ct_flagged']}/{v['ct_draws']} | {v['ct_mean']:.2f} "
            f"[{v['ct_min']:.2f}, {v['ct_max']:.2f}] | {v['near_flagged']}/{v['near_draws']} | "
            f"{v['near_share_mean']:.3f} ({v['near_share_max']:.3f}) |",
            "",
        ]
    if "k" in doc:
        out += ["Precision / recall / density / coverage, random vs held-out real (one draw):", ""]
        ks = None
        for setting, v in doc["k"].items():
            ks = ks or list(next(iter(v["scores"].values())))
            if len(out) and not out[-1].startswith("|"):
                out += [
                    "| setting | synthetic set | " + " | ".join(f"k={k} P / R / D / C" for k in ks) + " |",
                    "|---|---|" + "---|" * len(ks),
                ]
            for name, row in v["scores"].items():
                out.append(
                    f"| {setting} ({v['n_real']} real / {v['n_synth']} synth) | {name} | "
                    + " | ".join(" / ".join(f"{row[k][s]:.2f}" for s in STATS) for k in ks)
                    + " |"
                )
        out.append("")
    if "spaces" in doc:
        out += [
            "C_T over draws by feature space (flagged: C_T ≤ −3):",
            "",
            "| feature space | synthetic set | should be flagged | C_T flagged | C_T mean [min, max] |",
            "|---|---|---|---|---|",
        ]
        for sp, r in doc["spaces"].items():
            for k, v in r.items():
                out.append(
                    f"| {sp} | {k} | {'yes' if v['must_flag'] else 'no'} | {v['ct_flagged']}/{v['ct_draws']} | "
                    f"{v['ct_mean']:.2f} [{v['ct_min']:.2f}, {v['ct_max']:.2f}] |"
                )
        out.append("")
    if "copies" in doc:
        c = doc["copies"]
        out += [
            f"Copying at the full protocol size ({c['n_real']} real test windows, {c['n_train']} training windows; "
            "± one jackknife standard error):",
            "",
            "| synthetic set | n | should be flagged | C_T | C_T flagged | near copies | near copies flagged "
            "| seconds |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for k, v in c["rows"].items():
            out.append(
                f"| {k} | {v['n_synth']} | {'yes' if k.startswith('copies') else 'no'} | {v['ct']:.2f} ± "
                f"{v['ct_se']:.2f} | {'yes' if v['ct_flag'] else 'no'} | {v['near_copies']:.3f} ± "
                f"{v['near_copies_se']:.3f} | {'yes' if v['near_flag'] else 'no'} (p = {v['near_p']:.2g}) | "
                f"{v['seconds']:.0f} |"
            )
        out.append("")
    if "cost" in doc:
        c = doc["cost"]

        def secs(k):
            return ", ".join(f"{x:.1f}" for x in c["seconds"][k])

        out += [
            f"Cost on the full protocol ({c['n_real']} real / {c['n_synth']} random windows, options {c['options']}):",
            "",
            "| run | seconds (each rep) | median |",
            "|---|---|---|",
            f"| default metrics | {secs('default')} | {c['median_default']:.1f} |",
            f"| + fidelity | {secs('default+fidelity')} | {c['median_plus']:.1f} |",
            "",
            f"Added fraction: {100 * c['added_fraction']:.1f} %.",
            "",
        ]
    return "\n".join(out)


def run(a):
    """The benchmark, given the options of :func:`main`."""
    parts = set(a.parts.split(","))
    t0 = time.perf_counter()
    doc = {"meta": {k: v for k, v in vars(a).items()}}
    with tempfile.TemporaryDirectory() as cache:
        if parts & {"draws", "k", "wsplit", "copies", "spaces"}:
            wins = list(test_windows())
        if parts & {"draws", "k", "wsplit", "spaces"}:
            train = train_windows(a.n_train, Path(a.shared))
            print(f"sets read in {time.perf_counter() - t0:.0f} s", flush=True)
        if "draws" in parts:
            doc["draws"] = part_draws(a, wins, train, cache)
        if "wsplit" in parts:
            doc["wsplit"] = part_wsplit(a, wins, train, cache)
        if "k" in parts:
            doc["k"] = part_k(a, wins, train, cache)
        if "spaces" in parts:
            doc["spaces"] = part_spaces(a, wins, train, cache)
        if "copies" in parts:
            doc["copies"] = part_copies(a, wins, cache)
    if "cost" in parts:
        doc["cost"] = part_cost(a)
    doc["meta"]["seconds"] = time.perf_counter() - t0
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / f"{a.tag}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False))
    md = markdown(doc)
    (Path(a.out) / f"{a.tag}.md").write_text(md + f"\nTotal {doc['meta']['seconds']:.0f} s.\n")
    print(md)


@click.command(help=__doc__.splitlines()[0])
@click.option("--draws", type=int, default=20, show_default=True)
@click.option("--near-draws", type=int, default=5, show_default=True, help="Draws that also run near_copies (slow).")
@click.option("--n", type=int, default=300, show_default=True, help="Real and synthetic windows per set.")
@click.option("--n-train", type=int, default=800, show_default=True)
@click.option("--parts", default="draws,k,cost", show_default=True)
@click.option("--copies-at", type=int, default=1550, show_default=True,
              help="Synthetic layouts per set of the copies part.")
@click.option("--copies-train", type=int, default=3100, show_default=True, help="Training windows of the copies part.")
@click.option("--jobs", type=int, default=2, show_default=True, help="n_jobs of the cost runs.")
@click.option("--reps", type=int, default=1, show_default=True, help="Interleaved repetitions of the cost runs.")
@click.option("--mmd-samples", type=int, default=None, help="mmd_samples of both cost runs.")
@click.option("--out", default=str(RESULTS / "fidelity"), show_default=True)
@click.option("--shared", default=os.environ.get("TOPOFD_SHARED_BRCA", str(SHARED)), show_default=True,
              help="BRCA-M2C dataset folder (image_sizes.tsv, labels/, splits).")
@click.option("--tag", default="fidelity_draws", show_default=True)
def main(**options):
    run(SimpleNamespace(**options))


if __name__ == "__main__":
    main()

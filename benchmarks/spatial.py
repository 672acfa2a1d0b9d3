"""Spatial statistics of class pairs (issue 28): what the ``spatial`` plug-ins
see that TopoKD and MMD do not, on BRCA-M2C test windows.

Real set (``--real half``, the default): test windows of half of the 30
bundled test images (sorted by name, every other image: set A), an evenly
spread subset of ``--n``; ``other images``: ``--n`` windows of the *other*
15 images (set B: real tissue, matched by nothing but the protocol).
``--real all``: the 1,550 test windows of all 30 images; ``other images``
is then the count-matched real set of the floor (``topofd baseline
matched-real`` from the 4,625 train-split windows).  The other sets are
the real windows themselves, perturbed (:func:`families.perturbed` where
named):

* ``swap <class>``: each window keeps its cells but takes the ``<class>``
  channel of the window half the set away (another image: windows of one
  image overlap, stride 32 < 256) — a derangement: per-class
  distributions stay exactly real, only the relation of that class to
  the others changes;
* ``label shuffle``: class labels permuted among the cells of a window;
* ``random``: every cell re-placed uniformly (matched counts);
* ``jitter σ``: every cell moved by rounded N(0, σ²) px, σ = 1, 2, 4, 8;
* ``thin <class>``: half of the ``<class>`` cells removed (seeded).

Each set is scored with ``topofd.compare(real, synth, metrics="spatial,topokd,mmd")``
(intervals on); the table lists the per-class cross-L distance, the
envelope p-value and flag of every pair, TopoKD and MMD.  ``--draws K``:
interval coverage — K synthetic sets, each ``--n`` windows drawn from the
set-B pool and jittered (σ = 2) with their own seed (windows of one image
overlap, so draws share cells: the spread over draws is a lower bound); the fraction of the
draws whose 95 % interval of the mean cross-L distance covers the mean over
the draws.  ``--time``: the time the ``spatial`` group adds to
``topofd.compare("brca-m2c:test", synth)`` (1,550 windows, the demo's
synthetic set), ``--jobs 2``.  ``--null K``: the calibration of the
envelope test on real tissue — K seeded splits of the 30 test images into
two halves of 15, all windows of one half against all windows of the
other; the share of pair tests with p ≤ 0.05 and of splits with a flagged
pair (family-wise, flag level 0.05/6).

Writes ``results/spatial/spatial.json`` and ``spatial.md``.

Usage::

    python -m benchmarks.spatial [--real half|all] [--n 300] [--draws 10] [--null 20] [--time]
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np

import topofd
from benchmarks.common import CLASSES
from benchmarks.families import image_of, perturbed, rng, test_windows, train_windows
from topofd.layouts.baselines import matched_real, perturb
from topofd.layouts.layout import Layout


def _spread(wins, n):
    keep = np.unique(np.linspace(0, len(wins) - 1, min(n, len(wins))).round().astype(int))
    return [wins[i] for i in keep]


def split_sets(n: int):
    wins = test_windows()
    images = sorted({image_of(l.name) for l in wins})
    a = set(images[0::2])
    A = [l for l in wins if image_of(l.name) in a]
    B = [l for l in wins if image_of(l.name) not in a]
    return _spread(A, n), B


def _renamed(ls, tag):
    return [Layout(l.points, l.classes, l.shape, f"{l.name}_{tag}") for l in ls]


def swapped(ls, k):
    n = len(ls)
    return [
        Layout(
            tuple(ls[(i + n // 2) % n].points[c] if c == k else p for c, p in enumerate(l.points)),
            l.classes,
            l.shape,
            l.name,
        )
        for i, l in enumerate(ls)
    ]


def thinned(ls, k):
    out = []
    for l in ls:
        g = rng("thin", k, l.name)
        pts = tuple(p[g.random(len(p)) < 0.5] if c == k else p for c, p in enumerate(l.points))
        out.append(Layout(pts, l.classes, l.shape, l.name))
    return out


def generators(real, fresh, label):
    yield label, fresh
    base = _renamed(real, "gen")
    for k, c in enumerate(CLASSES):
        yield f"swap {c}", swapped(base, k)
    yield "label shuffle", [perturb(l, "shuffle", seed=0) for l in base]
    yield "random", [perturbed(l, "replace", 1.0) for l in base]
    for s in (1, 2, 4, 8):
        yield f"jitter {s}", [perturbed(l, "jitter", float(s)) for l in base]
    for k, c in enumerate(CLASSES):
        yield f"thin {c}", thinned(base, k)


def _section(rep, metric):
    s = rep.meta["sections"][metric][0]
    return s if isinstance(s, dict) else s.to_dict()


def summarise(rep) -> dict:
    t = rep.table
    pairs = {
        r["pair"]: {
            "L_dist_px": r["L_dist_px"],
            "p": r["envelope_p"],
            "flagged": r["flagged"],
            "max_dL_px": r.get("max_dL_px"),
        }
        for r in _section(rep, "spatial_l")["table"]
    }
    per = {
        col: {c: (None if not np.isfinite(t.at[c, col]) else float(t.at[c, col])) for c in (*CLASSES, "mean")}
        for col in ("spatial_l", "spatial_cin", "topokd", "mmd")
        if col in t.columns
    }
    se = {c: float(t.at[c, "spatial_l_se"]) for c in (*CLASSES, "mean") if "spatial_l_se" in t.columns}
    return {"pairs": pairs, "per_class": per, "spatial_l_se": se, "sentences": _section(rep, "spatial_l")["sentences"]}


def coverage(real, pool, n, draws):
    vals = []
    for d in range(draws):
        g = np.random.default_rng([7, d])
        pick = sorted(g.choice(len(pool), size=min(n, len(pool)), replace=False))
        synth = _renamed([perturbed(pool[i], "jitter", 2.0, draw=d) for i in pick], f"d{d}")
        rep = topofd.compare(real, synth, metrics="spatial_l", seed=d)
        t = rep.table
        vals.append(
            (float(t.at["mean", "spatial_l"]), float(t.at["mean", "spatial_l_lo"]), float(t.at["mean", "spatial_l_hi"]))
        )
    v = np.array(vals)
    mean = v[:, 0].mean()
    return {
        "draws": draws,
        "generator": f"{n} windows drawn from the set-B pool ({len(pool)}), jitter 2 px",
        "values": v[:, 0].tolist(),
        "mean": float(mean),
        "sd_over_draws": float(v[:, 0].std(ddof=1)),
        "mean_half_width_over_1.96": float(((v[:, 2] - v[:, 1]) / 2 / 1.96).mean()),
        "coverage": float(((v[:, 1] <= mean) & (mean <= v[:, 2])).mean()),
    }


def null_calibration(splits: int, per_set: int = 0) -> dict:
    """Real tissue against real tissue of other images (module docstring);
    ``per_set`` images in each set (0: the two halves of the 30)."""
    wins = test_windows()
    images = sorted({image_of(l.name) for l in wins})
    k = per_set or len(images) // 2
    ps, flagged = [], 0
    for d in range(splits):
        order = np.random.default_rng([11, d]).permutation(images).tolist()
        a, b = set(order[:k]), set(order[k : 2 * k])
        A = [l for l in wins if image_of(l.name) in a]
        B = [l for l in wins if image_of(l.name) in b]
        rep = topofd.compare(A, B, metrics="spatial_l", uncertainty=False, seed=d)
        rows = _section(rep, "spatial_l")["table"]
        ps += [r["envelope_p"] for r in rows]
        flagged += any(r["flagged"] for r in rows)
        print("null split", d, [r["envelope_p"] for r in rows], flush=True)
    p = np.array(ps, float)
    return {
        "splits": splits,
        "images_per_set": k,
        "tests": len(p),
        "share_p_le_0.05": float((p <= 0.05).mean()),
        "share_p_le_flag_level": float((p <= 0.05 / 6).mean()),
        "splits_with_a_flag": flagged,
        "p_values": p.tolist(),
    }


def memory(n: int) -> dict:
    """Peak memory of the spatial_l sums over ``n`` layouts (uniform cells,
    40 per class, 256 px, 199 relabellings, 20 jackknife groups): the
    layouts themselves, the bin matrix and the sums; nothing per pair of layouts."""
    import resource

    from topofd.metrics.spatial_l import Units, members
    from topofd.spatial.ripley import accumulate, radius_grid

    g = np.random.default_rng(0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pts = [tuple(g.uniform(0, 256, (40, 2)) for _ in range(3)) for _ in range(n)]
    wins = [(256.0, 256.0)] * n
    u = Units(np.arange(n) // 50, np.arange(n) // 50, "images", "images of 50 layouts")
    MR, _ = members(u, None, 199, 0)
    MR = np.vstack([MR, (np.arange(n) % 20 == np.arange(20)[:, None]).astype(np.int8)])
    t = time.perf_counter()
    sums = accumulate(pts, wins, radius_grid(wins, 32), MR, 1)
    secs = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "layouts": n,
        "bins": int(MR.shape[0]),
        "seconds": secs,
        "peak_rss_mb": peak,
        "rss_before_mb": before,
        "sums_mb": sum(a.nbytes for a in (sums.k_num, sums.k_den, sums.g_num, sums.g_den)) / 2**20,
    }


def paper_topofd() -> dict:
    """The paper TopoFD (no interval) of the class swaps and of 1 px jitter
    against all 1,550 test windows: what a per-class score sees of them."""
    real = list(test_windows())
    base = _renamed(real, "gen")
    sets = {f"swap {c}": swapped(base, k) for k, c in enumerate(CLASSES)}
    sets["jitter 1"] = [perturbed(l, "jitter", 1.0) for l in base]
    out = {}
    for name, synth in sets.items():
        t = topofd.compare(real, synth, metrics="topofd", uncertainty=False).table
        out[name] = {c: float(t.at[c, "topofd"]) for c in (*CLASSES, "mean")}
        print(name, {c: round(v, 2) for c, v in out[name].items()}, flush=True)
    return out


def timing():
    from topofd.layouts.brca_m2c import demo_sets

    _, synth = demo_sets(None, seed=0, n_jobs=2)
    out = {}
    for what in ("topokd", "topokd,spatial", "topokd", "topokd,spatial"):
        t = time.perf_counter()
        topofd.compare("brca-m2c:test", synth, metrics=what, n_jobs=2)
        out.setdefault(what, []).append(time.perf_counter() - t)
    base, with_sp = min(out["topokd"]), min(out["topokd,spatial"])
    return {"runs_s": out, "added_s": with_sp - base, "windows": len(synth)}


def _trio(r, col):
    d = r["per_class"].get(col, {})
    return "/".join("–" if d.get(c) is None else f"{d[c]:.3g}" for c in CLASSES)


def markdown(rows: dict) -> str:
    pairs = list(next(iter(rows.values()))["pairs"])
    head = (
        "| generator | "
        + " | ".join(f"{p} ΔL px (p)" for p in pairs)
        + " | cross-L lym/epi/stro | CIN log-ratio lym/epi/stro | TopoKD lym/epi/stro | MMD lym/epi/stro |"
    )
    lines = [head, "|" + "---|" * (len(pairs) + 5)]
    for name, r in rows.items():
        cells = []
        for p in pairs:
            e = r["pairs"][p]
            star = " **⚑**" if e["flagged"] else ""
            cells.append(f"{e['L_dist_px']:.2f} ({e['p']:.3f}){star}")

        lines.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {_trio(r, 'spatial_l')} | {_trio(r, 'spatial_cin')} | {_trio(r, 'topokd')} | {_trio(r, 'mmd')} |"
        )
    return "\n".join(lines)


@click.command()
@click.option("--real", "which", type=click.Choice(["half", "all"]), default="half", show_default=True)
@click.option("--n", default=300, show_default=True, help="windows per set (--real half)")
@click.option("--null", "null", default=0, show_default=True, help="image splits for the null calibration (0: skip)")
@click.option("--null-images", default=0, show_default=True, help="images per set of the null (0: halves of the 30)")
@click.option("--draws", default=0, show_default=True, help="draws for the interval coverage (0: skip)")
@click.option("--time", "do_time", is_flag=True, help="measure the time the spatial group adds at 1,550 windows")
@click.option("--paper-topofd", "paper", is_flag=True, help="only the paper TopoFD of the swaps at 1,550 windows")
@click.option("--memory", "mem", default=0, show_default=True, help="peak memory of the sums over this many layouts")
@click.option("--markdown-only", is_flag=True, help="rewrite spatial.md from spatial.json")
@click.option("--out", default=str(Path(__file__).parent / "results" / "spatial"), show_default=True)
def main(which, n, null, null_images, draws, do_time, paper, mem, markdown_only, out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if paper:
        (out / "paper_topofd_swaps.json").write_text(json.dumps(paper_topofd(), indent=1))
        return
    if mem:
        res = memory(mem)
        print(res)
        (out / f"memory_{mem}.json").write_text(json.dumps(res, indent=1))
        return
    if null_images:  # the null alone, at this many images per set
        res = null_calibration(null or 20, null_images)
        print({k: v for k, v in res.items() if k != "p_values"})
        (out / f"null_{null_images}_images.json").write_text(json.dumps(res, indent=1))
        return
    stem = "spatial" if which == "half" else "spatial_all"
    if markdown_only:
        (out / f"{stem}.md").write_text(markdown(json.loads((out / f"{stem}.json").read_text())["rows"]) + "\n")
        return
    if which == "half":
        real, pool = split_sets(n)
        fresh, label = _renamed(_spread(pool, n), "gen"), "other images (set B)"
        what = f"{len(real)} windows of 15 test images (set A)"
    else:
        real, pool = list(test_windows()), train_windows()
        fresh, info = matched_real(real, pool)
        label = f"count-matched real (train split, |Δcount| {info['mean_abs_delta_total']:.1f})"
        what = f"all {len(real)} test windows (30 images)"
    rows, secs = {}, {}
    for name, synth in generators(real, fresh, label):
        t = time.perf_counter()
        rep = topofd.compare(real, synth, metrics="spatial,topokd,mmd")
        secs[name] = time.perf_counter() - t
        rows[name] = summarise(rep)
        print(
            name,
            f"{secs[name]:.1f} s",
            {p: (round(e["L_dist_px"], 2), e["p"]) for p, e in rows[name]["pairs"].items()},
            flush=True,
        )
    res: dict = {"n": len(real), "real": what, "rows": rows, "seconds": secs}
    if null:
        res["null"] = null_calibration(null)
        print("null", {k: v for k, v in res["null"].items() if k != "p_values"}, flush=True)
    if draws:
        res["coverage"] = coverage(real, pool, n, draws)
        print("coverage", res["coverage"], flush=True)
    if do_time:
        res["timing"] = timing()
        print("timing", res["timing"], flush=True)
    (out / f"{stem}.json").write_text(json.dumps(res, indent=1))
    (out / f"{stem}.md").write_text(markdown(rows) + "\n")
    print(markdown(rows))


if __name__ == "__main__":
    main()

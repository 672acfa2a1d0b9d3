"""Validity study at full size: does each score measure what it claims, and
which protocol should be recommended?

Real set: the BRCA-M2C test protocol (1,550 windows).  Synthetic sets: the
perturbation families of :mod:`families` (≥ 5 strengths each, several
independent draws per strength), built and stored by ``draws.py``.  Every
candidate of :mod:`candidates` is scored on every stored set, plus the
``paper`` TopoFD (draw 0 of each strength: its barycenters are the
expensive part), MMD (W1 Gaussian kernel, on a seeded subset) and TCE.

Then, per score and family:

* (a) monotone: Spearman ρ of the mean over draws with the strength;
* (b) resolving: every pair of adjacent strengths differs by more than two
  across-draw standard deviations; matched-count random's CV across its
  draws (≤ 3 % wanted);
* (c) nearly free of sample-size bias: from ``sample_size.py``;

and the literature's tests: a real-vs-real null (test windows split by
image; permutation p over random image splits), a mixture ladder and mode
dropping (families ``mixture``, ``modedrop``), and memorisation (synthetic
set = train-split windows).  Also the dependence of ``paper`` TopoFD on the
order of the input (the barycenter starts from the first diagram).

Results are checkpointed (``--out``/rows.json) after every set: a rerun
resumes.  Usage::

    python -m benchmarks.draws --out /tmp/topofd_draws --jobs 2     # phase 1
    python -m benchmarks.validity --draws /tmp/topofd_draws --jobs 2  # phase 2
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
import numpy as np
from scipy.stats import spearmanr

import topofd
from benchmarks.candidates import CANDIDATES, derived, score
from benchmarks.common import CLASSES, RESULTS, tag_of
from benchmarks.families import FAMILIES, GENERATORS, image_of, load_set, set_path
from topofd.layouts.matching import pair_names

MMD_SAMPLES = 200


def evaluator_scores(real, synth, metrics, protocol="paper", jobs=1, seed=0, pairing="prefix"):
    """Per-class and mean values of ``metrics`` through topofd's Evaluator."""
    ev = topofd.Evaluator(metrics=metrics, protocol=protocol, n_jobs=jobs, seed=seed, uncertainty=False,
                          mmd_samples=MMD_SAMPLES, pairing=pairing)
    for side, is_real in ((real, True), (synth, False)):
        ev.update_diagrams(side["diagrams"], side["counts"], names=side["names"], keys=side["keys"],
                           classes=CLASSES, real=is_real)
    t = ev.compute().table
    out = {}
    for m in ("topofd", "mmd", "tce"):
        if m in t:
            out[m] = {c: float(t.at[c, m]) for c in t.index if np.isfinite(t.at[c, m])}
    return out


def candidate_scores(real, synth, pairs, names=CANDIDATES, seed=0) -> dict:
    out = {}
    for name in names:
        vals = {}
        for k, c in enumerate(CLASSES):
            vals[c] = float(score(name, [d[k] for d in real["diagrams"]], [d[k] for d in synth["diagrams"]],
                                  pairs, seed))
        vals["mean"] = float(np.mean([vals[c] for c in CLASSES]))
        out[name] = vals
    return out


def _pairs(real, synth):
    return pair_names(real["names"], synth["names"]).pairs


# ------------------------------------------------------------------ scoring
def score_all(draws: Path, out: Path, jobs: int, paper_draws: int, families, seed=0, mmd_draws: int = 2,
              paper_families=None):
    rows_path = out / "rows.json"
    rows = json.loads(rows_path.read_text()) if rows_path.exists() else {}
    real = load_set(set_path(draws, "real"))
    t0 = time.perf_counter()

    def do(tag, synth_fn, with_paper, pairing="prefix", with_mmd=True):
        have = rows.get(tag, {})
        need_cand = [c for c in CANDIDATES if c not in have]
        # count errors need pairs: an unpaired set (memorisation) never gets a tce
        need_ev = [m for m in ("mmd", "tce") if m not in have and (m != "mmd" or with_mmd)
                   and (m != "tce" or pairing == "prefix")] + (
            ["paper"] if with_paper and "paper" not in have else [])
        if not need_cand and not need_ev:
            return
        synth = synth_fn()
        if synth is None:
            return
        pairs = _pairs(real, synth) if pairing == "prefix" else None
        have.update(candidate_scores(real, synth, pairs or None, need_cand, seed))
        ms = tuple(m for m in ("mmd",) if m in need_ev) + (("counts",) if "tce" in need_ev and pairs else ())
        if ms:
            r = evaluator_scores(real, synth, ms, "grid", jobs, seed, pairing)
            have.update({k: v for k, v in r.items() if k in ("mmd", "tce")})
        if "paper" in need_ev:
            r = evaluator_scores(real, synth, ("topofd",), "paper", jobs, seed, pairing)
            have["paper"] = r["topofd"]
        for v in have.values():
            if isinstance(v, dict) and "mean" not in v:
                vals = [v[c] for c in CLASSES if c in v]
                v["mean"] = float(np.mean(vals)) if vals else float("nan")
        rows[tag] = have
        rows_path.write_text(json.dumps(rows, indent=0))
        click.echo(f"{tag:24s} " + "  ".join(f"{k} {v['mean']:.4g}" for k, v in have.items())
                   + f"  ({time.perf_counter() - t0:.0f} s)", err=True)

    def stored(tag):
        p = set_path(draws, tag)
        return (lambda: load_set(p)) if p.exists() else (lambda: None)

    # cheap scores of every set first, then the paper protocol (its barycenters are the cost)
    for with_paper in (False, True):
        for fam in families:
            for d in range(64):
                if not any(set_path(draws, tag_of(fam, s, d)).exists() for s in FAMILIES[fam]):
                    break
                for s in FAMILIES[fam]:
                    do(tag_of(fam, s, d), stored(tag_of(fam, s, d)),
                       with_paper and d < paper_draws and (paper_families is None or fam in paper_families),
                       with_mmd=d < mmd_draws)
        for fam, s in GENERATORS.values():
            for d in range(64):
                tag = tag_of(fam, s, d)
                if not set_path(draws, tag).exists():
                    break
                do(tag, stored(tag), with_paper and d < paper_draws, with_mmd=d < mmd_draws)
        if set_path(draws, "train").exists():
            do("memorise_train", stored("train"), with_paper, pairing="none")
    return rows


def null_study(draws: Path, n_splits: int, seed=0) -> dict:
    """Real vs real: test windows split by image into two halves; the
    alternate-image split is 'observed', ``n_splits`` seeded random image
    splits give the permutation distribution."""
    real = load_set(set_path(draws, "real"))
    img = np.array([image_of(n) for n in real["names"]])
    stems = sorted(set(img))
    rng = np.random.default_rng(seed)

    def half(sel, suffix):
        idx = np.flatnonzero(sel)
        return {"names": [real["names"][i] + suffix for i in idx], "keys": [real["keys"][i] for i in idx],
                "counts": real["counts"][idx], "diagrams": [real["diagrams"][i] for i in idx]}

    def split_scores(side_a):
        a = np.isin(img, list(side_a))
        A, B = half(a, ""), half(~a, "_other")
        out = {k: v["mean"] for k, v in candidate_scores(A, B, None).items()}
        ev = evaluator_scores(A, B, ("topofd", "mmd"), "paper", 2, seed, pairing="none")
        out["paper"] = float(np.mean(list(ev["topofd"].values())))
        out["mmd"] = float(np.mean(list(ev["mmd"].values())))
        return out

    observed = split_scores(stems[::2])
    perms = [split_scores(rng.choice(stems, len(stems) // 2, replace=False)) for _ in range(n_splits)]
    res = {}
    for k, v in observed.items():
        null = np.array([p[k] for p in perms])
        res[k] = {"observed": v, "null_mean": float(null.mean()), "null_sd": float(null.std(ddof=1)),
                  "p": float((1 + (null >= v).sum()) / (1 + len(null)))}
    return res


def order_study(draws: Path, n_orders: int, jobs: int) -> dict:
    """``paper`` TopoFD of one stored synthetic set under ``n_orders`` seeded
    permutations of the synthetic input order (real side fixed)."""
    real = load_set(set_path(draws, "real"))
    out = {}
    for g in ("random", "jitter"):
        fam, s = GENERATORS[g]
        synth = load_set(set_path(draws, tag_of(fam, s, 0)))
        vals = []
        for o in range(n_orders + 1):
            perm = np.arange(len(synth["names"])) if o == 0 else np.random.default_rng([7, o]).permutation(
                len(synth["names"]))
            # unnamed layouts keep the given order: the permutation is the input order
            sp = {"names": None, "keys": [synth["keys"][i] for i in perm], "counts": synth["counts"][perm],
                  "diagrams": [synth["diagrams"][i] for i in perm]}
            ev = topofd.Evaluator(metrics=("topofd",), protocol="paper", n_jobs=jobs, uncertainty=False, pairing="none")
            ev.update_diagrams(real["diagrams"], real["counts"], names=real["names"], keys=real["keys"],
                               classes=CLASSES, real=True)
            ev.update_diagrams(sp["diagrams"], sp["counts"], keys=sp["keys"], classes=CLASSES, real=False)
            t = ev.compute().table
            vals.append({c: float(t.at[c, "topofd"]) for c in t.index})
            click.echo(f"order {g} {o}: {vals[-1]['mean']:.2f}", err=True)
        out[g] = vals
    return out


# ------------------------------------------------------------------ summary
def summarise(rows: dict, families) -> dict:
    rows = {t: {**r, **derived(r)} for t, r in rows.items()}
    scores = sorted({k for r in rows.values() for k in r})
    summ = {}
    for fam in families:
        for sc in scores:
            levels, means, sds, ns = [], [], [], []
            for s in FAMILIES[fam]:
                vals = [rows[t][sc]["mean"] for t in rows if t.startswith(f"{fam}_{s:g}_d") and sc in rows[t]]
                if not vals:
                    continue
                levels.append(s)
                means.append(float(np.mean(vals)))
                sds.append(float(np.std(vals, ddof=1)) if len(vals) > 1 else float("nan"))
                ns.append(len(vals))
            if len(levels) < 2:
                continue
            rho = float(spearmanr(levels, means).statistic) if np.ptp(means) > 0 else float("nan")
            gaps = [(means[i + 1] - means[i]) / max(sds[i], sds[i + 1]) if max(sds[i], sds[i + 1]) > 0
                    else float("inf") * np.sign(means[i + 1] - means[i]) for i in range(len(levels) - 1)]
            summ.setdefault(fam, {})[sc] = dict(levels=levels, means=means, sds=sds, n=ns, rho=rho,
                                                gaps=[float(g) for g in gaps],
                                                resolved=bool(all(g > 2 for g in gaps)) if min(ns) > 1 else None)
    cv = {}
    for g, (fam, s) in GENERATORS.items():
        for sc in scores:
            vals = [rows[t][sc]["mean"] for t in rows if t.startswith(f"{fam}_{s:g}_d") and sc in rows[t]]
            if len(vals) > 1:
                cv.setdefault(g, {})[sc] = dict(mean=float(np.mean(vals)), sd=float(np.std(vals, ddof=1)),
                                                cv=float(np.std(vals, ddof=1) / abs(np.mean(vals))), n=len(vals))
    return {"families": summ, "generators": cv}


def markdown(summary: dict, extra: dict) -> str:
    fams = summary["families"]
    scores = sorted({sc for f in fams.values() for sc in f})
    lines = ["### (a) monotone and (b) resolving, per family", "",
             "Spearman ρ of the mean over draws with the strength; ✓ = every adjacent pair of strengths differs "
             "by > 2 across-draw sd (✗ otherwise, · = one draw only).", "",
             "| score | " + " | ".join(fams) + " |", "|---|" + "---:|" * len(fams)]
    for sc in scores:
        cells = []
        for fam in fams:
            r = fams[fam].get(sc)
            if r is None:
                cells.append("—")
                continue
            mark = "·" if r["resolved"] is None else ("✓" if r["resolved"] else "✗")
            cells.append(f"{r['rho']:.2f} {mark}")
        lines.append(f"| {sc} | " + " | ".join(cells) + " |")
    gens = summary["generators"]
    lines += ["", "### Spread across independent draws (1,550 windows)", "",
              "| score | " + " | ".join(f"{g}: mean ± sd (CV)" for g in gens) + " |", "|---|" + "---:|" * len(gens)]
    for sc in scores:
        cells = []
        for g in gens:
            r = gens[g].get(sc)
            cells.append("—" if r is None else f"{r['mean']:.4g} ± {r['sd']:.2g} ({100 * r['cv']:.1f} %)")
        lines.append(f"| {sc} | " + " | ".join(cells) + " |")
    if extra.get("null"):
        lines += ["", "### Real vs real (test windows split by image)", "",
                  "| score | alternate-image split | random image splits: mean ± sd | permutation p |",
                  "|---|---:|---:|---:|"]
        for k, v in extra["null"].items():
            lines.append(f"| {k} | {v['observed']:.4g} | {v['null_mean']:.4g} ± {v['null_sd']:.2g} | {v['p']:.2f} |")
    if extra.get("memorise"):
        lines += ["", "### Memorisation (synthetic set = 1,550 train-split windows, unpaired)", "",
                  "| score | value | matched-count random (mean over draws) |", "|---|---:|---:|"]
        for k, (v, ref) in extra["memorise"].items():
            lines.append(f"| {k} | {v:.4g} | {ref:.4g} |")
    if extra.get("order"):
        lines += ["", "### `paper` TopoFD under permutations of the synthetic input order (draw 0)", "",
                  "| set | sorted order | permuted: mean ± sd | min – max | sd / value |", "|---|---:|---:|---:|---:|"]
        for g, vals in extra["order"].items():
            v0 = vals[0]["mean"]
            p = np.array([v["mean"] for v in vals[1:]])
            lines.append(f"| {g} | {v0:.2f} | {p.mean():.2f} ± {p.std(ddof=1):.2f} | {p.min():.2f} – {p.max():.2f} | "
                         f"{100 * p.std(ddof=1) / v0:.1f} % |")
    return "\n".join(lines) + "\n"


def figure(summary: dict, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fams = summary["families"]
    scores = sorted({sc for f in fams.values() for sc in f})
    fig, axes = plt.subplots(len(scores), len(fams), figsize=(2.4 * len(fams), 1.9 * len(scores)), squeeze=False)
    for i, sc in enumerate(scores):
        for j, fam in enumerate(fams):
            ax = axes[i, j]
            r = fams[fam].get(sc)
            if r:
                sd = np.nan_to_num(np.array(r["sds"]))
                ax.errorbar(r["levels"], r["means"], yerr=2 * sd, marker="o", ms=3, capsize=2)
            if i == 0:
                ax.set_title(fam, fontsize=9)
            if j == 0:
                ax.set_ylabel(sc, fontsize=8)
            ax.tick_params(labelsize=6)
    fig.suptitle("mean over draws ± 2 across-draw sd, vs strength", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


@click.command()
@click.option("--draws", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=RESULTS / "validity", show_default=True)
@click.option("--jobs", type=int, default=2, show_default=True)
@click.option("--paper-draws", type=int, default=1, show_default=True, help="Draws per strength scored with paper.")
@click.option("--mmd-draws", type=int, default=2, show_default=True,
              help="Draws per strength scored with MMD (pairwise W1: the cheap pass's largest cost).")
@click.option("--families", default=",".join(FAMILIES), show_default=True)
@click.option("--paper-families", default=None,
              help="Families whose levels get the paper pass (default: all; its barycenters are the cost).")
@click.option("--null-splits", type=int, default=20, show_default=True)
@click.option("--orders", type=int, default=8, show_default=True, help="Input-order permutations (0: skip).")
def main(draws, out, jobs, paper_draws, mmd_draws, families, paper_families, null_splits, orders):
    out.mkdir(parents=True, exist_ok=True)
    fams = [f.strip() for f in families.split(",") if f.strip()]
    t0 = time.perf_counter()
    pfams = None if paper_families is None else {f.strip() for f in paper_families.split(",") if f.strip()}
    rows = score_all(draws, out, jobs, paper_draws, fams, mmd_draws=mmd_draws, paper_families=pfams)
    extra_path = out / "extra.json"
    extra = json.loads(extra_path.read_text()) if extra_path.exists() else {}
    if null_splits and "null" not in extra:
        extra["null"] = null_study(draws, null_splits)
        extra_path.write_text(json.dumps(extra, indent=1))
    if orders and "order" not in extra:
        extra["order"] = order_study(draws, orders, jobs)
        extra_path.write_text(json.dumps(extra, indent=1))
    summary = summarise(rows, fams)
    if "memorise_train" in rows:
        rnd = summary["generators"].get("random", {})
        extra["memorise"] = {k: (v["mean"], rnd.get(k, {}).get("mean", float("nan")))
                             for k, v in rows["memorise_train"].items()}
    (out / "summary.json").write_text(json.dumps(dict(summary=summary, extra=extra), indent=1))
    md = markdown(summary, extra)
    cmd = "python -m benchmarks.validity " + " ".join(sys.argv[1:])
    (out / "summary.md").write_text(f"Produced by `{cmd}` ({time.perf_counter() - t0:.0f} s this run; "
                                    "stored sets from `python -m benchmarks.draws`).\n\n" + md)
    figure(summary, out / "validity.png")
    click.echo(md)


if __name__ == "__main__":
    main()

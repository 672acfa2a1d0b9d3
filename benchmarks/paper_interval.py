"""Could the `paper` TopoFD interval be nearly free?  Measured answers for
issue 19's target 4 (split halves cost ~1.7x the value).

Part ``jackknife`` (not adopted): the delete-a-group jackknife at the
barycenter's fixed point with the matchings held fixed.  At gudhi's fixed
point every diagram point is matched and each barycenter point is the mean
of its matched points (the diagonal projection standing in for the diagrams
that skip it), so leaving a group of synthetic diagrams out is, to first
order (matchings unchanged), one closed-form update of the same means: no
new barycenter.  Each replicate then takes that barycenter's landscape and
the covariance of the remaining landscapes; se from the G replicates as for
TopoKD.  What it cannot see: the variability of the barycenter's start (the
first diagram) and of re-matching, which split halves do see.

Part ``subsamples`` (adopted: B = 1 split, G = 8): B seeded splits of the
synthetic set into G disjoint groups, each group's barycenter from its own
first diagram with ties broken by any optimal matching
(``published_ties=False``), ``se² = mean_b Var_j(θ_bj) / G``,
t_{B(G-1)} interval (:func:`topofd.stats.uncertainty.subsamples`).  Several
(B, G) are compared, and 3 x 2 (split halves) with the fast ties.

Calibration: K independent draws of matched-count random layouts (1,550
windows each, seeds 0..K-1) against the bundled real statistics; coverage of
each draw's 95 % t interval around the mean over draws, and mean se over the
across-draw sd.  The draws' exact values come from part ``jackknife`` (the
published barycenters); the draws run on ``--jobs`` processes.

    python -m benchmarks.paper_interval --draws 20 --jobs 2 --out benchmarks/results/paper_interval.json
    python -m benchmarks.paper_interval --part subsamples --draws 20 --jobs 2 \
        --values benchmarks/results/paper_interval.json --out benchmarks/results/paper_interval_subsamples.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import click
import numpy as np

G = 20


def fixed_matching(Y: np.ndarray, X: list[np.ndarray]):
    """Barycenter point of each diagram point (``-1``: none) for the matching
    the iteration uses at ``Y``."""
    from topofd.tda.barycenter_matching import DiagramMatcher

    matcher = DiagramMatcher(X)
    mx, my = matcher(Y)
    owner = np.full(len(matcher.P), -1)
    owner[mx] = my
    return matcher.P, matcher.diag_of_x, owner


def leave_out_barycenter(Y, P, diag_of_x, owner, m, drop):
    """Alg. 1's update with the diagrams in ``drop`` left out, matchings fixed."""
    keep = ~np.isin(diag_of_x, drop) & (owner >= 0)
    mm = m - len(drop)
    K = len(Y)
    k = np.bincount(owner[keep], minlength=K).astype(float)
    sb = np.bincount(owner[keep], weights=P[keep, 0], minlength=K)
    sd = np.bincount(owner[keep], weights=P[keep, 1], minlength=K)
    with np.errstate(invalid="ignore", divide="ignore"):
        wb, wd = sb / k, sd / k
    wdel = (wb + wd) / 2
    nb, nd = (k * wb + (mm - k) * wdel) / mm, (k * wd + (mm - k) * wdel) / mm
    ok = (k > 0) & ~((nb == 0) & (nd == 0))
    return np.stack([nb[ok], nd[ok]], axis=1)


def one_draw(seed: int) -> dict:
    import topofd
    from topofd.diagrams import compute_diagrams
    from topofd.layouts.brca_m2c import demo_sets
    from topofd.tda.barycenter import lagrangian_barycenter
    from topofd.tda.landscapes import landscapes_own_range
    from topofd.tda.summaries import LandscapeStats, topofd_from_stats

    t0 = time.perf_counter()
    _, synth = demo_sets(None, seed=seed)
    synth = sorted(synth, key=lambda l: l.name)
    dg, _ = compute_diagrams(synth)
    ev = topofd.Evaluator()
    ev.load_reference("brca-m2c:test")
    labels = np.random.default_rng(1000 + seed).permutation(np.arange(len(synth)) % G)
    out: dict = {"seed": seed, "value": [], "reps": []}
    t_bary = 0.0
    for k in range(3):
        D = [d[k] for d in dg]
        sr = ev.real_paper_stats(k)
        L, _ = landscapes_own_range(D)
        t = time.perf_counter()
        Y, log = lagrangian_barycenter(D, 0, return_log=True)
        t_bary += time.perf_counter() - t
        t = time.perf_counter()
        mu = landscapes_own_range([Y])[0][0]
        value = topofd_from_stats(sr, LandscapeStats(mu, np.atleast_2d(np.cov(L, rowvar=False)), len(L)))
        P, diag_of_x, owner = fixed_matching(Y, D)
        reps = []
        for g in range(G):
            drop = np.flatnonzero(labels == g)
            Yg = leave_out_barycenter(Y, P, diag_of_x, owner, len(D), drop)
            mug = landscapes_own_range([Yg])[0][0]
            Lg = L[labels != g]
            reps.append(topofd_from_stats(sr, LandscapeStats(mug, np.atleast_2d(np.cov(Lg, rowvar=False)), len(Lg))))
        out.setdefault("estimator_s", 0.0)
        out["estimator_s"] += time.perf_counter() - t
        out["value"].append(value)
        out["reps"].append(reps)
        out.setdefault("converged", []).append(log["stopped"])
        out.setdefault("unmatched_at_fixed_point", []).append(int((owner < 0).sum()))
    out["barycenter_s"] = t_bary
    out["seconds"] = time.perf_counter() - t0
    return out


CONFIGS = ((1, 4), (1, 8), (2, 4), (2, 8), (1, 16), (3, 2))


def subsample_draw(seed: int) -> dict:
    """Group values of each (B, G) in :data:`CONFIGS` for draw ``seed``."""
    import topofd
    from topofd.diagrams import compute_diagrams
    from topofd.layouts.brca_m2c import demo_sets
    from topofd.stats.uncertainty import group_splits
    from topofd.tda.barycenter import lagrangian_barycenter
    from topofd.tda.summaries import landscape_stats, topofd_from_stats

    _, synth = demo_sets(None, seed=seed)
    dg, _ = compute_diagrams(sorted(synth, key=lambda l: l.name))
    ev = topofd.Evaluator()
    ev.load_reference("brca-m2c:test")
    out: dict = {"seed": seed}
    for B, G in CONFIGS:
        t = time.perf_counter()
        vals = []
        # the splits topofd makes (unpaired sets), seeded per draw
        for groups in group_splits(len(dg), B, G, seed=1000 + seed):
            split = []
            for grp in groups:
                row = []
                for k in range(3):
                    D = [dg[i][k] for i in grp]
                    b = lagrangian_barycenter(D, 0, return_log=True, published_ties=False)
                    row.append(topofd_from_stats(ev.real_paper_stats(k), landscape_stats(D, "paper", barycenter=b)))
                split.append(row)
            vals.append(split)
        out[f"{B}x{G}"] = {"values": vals, "seconds": time.perf_counter() - t}
    return out


def subsample_rows(draws: list[dict], values: dict, barycenter_s: float) -> dict:
    """Coverage and se/sd of each configuration against the exact values."""
    from topofd.stats.uncertainty import subsamples

    v = np.array([values[d["seed"]] for d in draws])
    v = np.column_stack([v, v.mean(axis=1)])
    mu, sd = v.mean(axis=0), v.std(axis=0, ddof=1)
    rows = {}
    for B, G in CONFIGS:
        key = f"{B}x{G}"
        est = []
        for d in draws:
            a = np.array(d[key]["values"])  # B x G x 3
            a = np.concatenate([a, a.mean(axis=2, keepdims=True)], axis=2)
            est.append([subsamples(0.0, a[:, :, k]) for k in range(4)])
        se = np.array([[e.se for e in row] for row in est])
        half = np.array([[e.hi for e in row] for row in est])  # the interval's half-width (value 0)
        cost = float(np.mean([d[key]["seconds"] for d in draws]))
        rows[key] = {
            "df": B * (G - 1),
            "seconds_per_draw": cost,
            "cost_over_barycenters": cost / barycenter_s,
            **{
                name: {
                    "se_over_sd": float(se[:, k].mean() / sd[k]),
                    "coverage": float(np.mean(np.abs(v[:, k] - mu[k]) <= half[:, k])),
                }
                for k, name in enumerate(("lym", "epi", "stro", "mean"))
            },
        }
    return rows


def jackknife_se(reps) -> float:
    r = np.asarray(reps, float)
    return float(np.sqrt((len(r) - 1) / len(r) * ((r - r.mean()) ** 2).sum()))


def run(a) -> int:
    """The benchmark, given the options of :func:`main`."""
    from joblib import Parallel, delayed

    if a.part == "subsamples":
        ref = json.loads(Path(a.values).read_text())
        values = {d["seed"]: d["value"] for d in ref["draws"]}
        sub = Parallel(n_jobs=a.jobs)(delayed(subsample_draw)(s) for s in range(a.draws) if s in values)
        res = {
            "command": f"python -m benchmarks.paper_interval --part subsamples --draws {a.draws} --jobs {a.jobs}",
            "barycenter_s_per_draw": ref["cost"]["barycenter_s_per_draw"],
            "rows": subsample_rows(sub, values, ref["cost"]["barycenter_s_per_draw"]),
            "draws": sub,
        }
    else:
        res = jackknife_part(a.draws, a.jobs)
    text = json.dumps(res, indent=1)
    print(json.dumps(res["rows"], indent=1))
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0


def jackknife_part(n_draws: int, jobs: int) -> dict:
    """Part ``jackknife``: the exact values and the fixed-matching jackknife per draw."""
    from joblib import Parallel, delayed
    from scipy import stats

    draws = Parallel(n_jobs=jobs)(delayed(one_draw)(s) for s in range(n_draws))
    tq = stats.t.ppf(0.975, G - 1)
    res: dict = {"command": f"python -m benchmarks.paper_interval --draws {n_draws} --jobs {jobs}", "rows": {}}
    for k, name in enumerate(("lym", "epi", "stro", "mean")):
        if k < 3:
            v = np.array([d["value"][k] for d in draws])
            se = np.array([jackknife_se(d["reps"][k]) for d in draws])
        else:
            v = np.array([np.mean(d["value"]) for d in draws])
            se = np.array([jackknife_se(np.mean(d["reps"], axis=0)) for d in draws])
        sd = float(v.std(ddof=1))
        cover = float(np.mean(np.abs(v - v.mean()) <= tq * se))
        res["rows"][name] = {
            "mean": float(v.mean()),
            "sd": sd,
            "mean_se": float(se.mean()),
            "se_over_sd": float(se.mean() / sd),
            "coverage": cover,
        }
    res["cost"] = {
        "barycenter_s_per_draw": float(np.mean([d["barycenter_s"] for d in draws])),
        "estimator_s_per_draw": float(np.mean([d["estimator_s"] for d in draws])),
    }
    res["cost"]["ratio"] = res["cost"]["estimator_s_per_draw"] / res["cost"]["barycenter_s_per_draw"]
    res["draws"] = [{"seed": d["seed"], "value": d["value"], "se": [jackknife_se(r) for r in d["reps"]]} for d in draws]
    res["unmatched_at_fixed_point"] = [d["unmatched_at_fixed_point"] for d in draws]
    res["stopped"] = [d["converged"] for d in draws]
    return res


@click.command(help=__doc__.split("\n\n")[0])
@click.option("--draws", type=int, default=20, show_default=True)
@click.option("--jobs", type=int, default=2, show_default=True)
@click.option("--out")
@click.option("--part", type=click.Choice(("jackknife", "subsamples")), default="jackknife", show_default=True)
@click.option("--values", help="part subsamples: the JSON of part jackknife (exact values per draw)")
def main(**options):
    sys.exit(run(SimpleNamespace(**options)))


if __name__ == "__main__":
    main()

"""TopoFD (TopoCellGen, CVPR 2025, Sec. 3.4, Eqs. 11–12), per class and mean,
with its interval and, on request, TopoFD∞.

Per class, each set's H1 diagrams are summarised by a Gaussian of their
persistence landscapes (:func:`topofd.tda.summaries.landscape_stats`: the
``paper`` protocol's barycenter landscape and own-range sampling, or the
``grid`` protocol's shared sampling) and TopoFD is the Fréchet distance
between the two Gaussians (Eq. 12).

Intervals over another draw of the synthetic set, real set fixed
(:mod:`topofd.stats.uncertainty`): disjoint subsamples for ``paper`` (each
group's barycenter from its own first diagram), delete-a-group jackknife for
``grid``.  TopoFD∞ (:mod:`topofd.stats.extrapolate`): the least-squares fit
of TopoFD against 1/n on nested subsets, read at 1/n = 0.
"""

from __future__ import annotations

import math

import numpy as np

from topofd.metrics.base import (
    Column,
    Context,
    Metric,
    MetricResult,
    jackknife_method,
    no_interval_reason,
    nonnegative,
    one_to_one,
    per_class_column,
    unmeasured_classes,
)
from topofd.parallel import map_tasks, resolve_jobs
from topofd.state import SetView
from topofd.stats.extrapolate import FRACTIONS, extrapolated
from topofd.stats.uncertainty import MIN_LAYOUTS
from topofd.tda.barycenter import lagrangian_barycenter
from topofd.tda.frechet import FrechetTo
from topofd.tda.landscapes import landscapes_on, shared_sampling
from topofd.tda.summaries import gaussian, landscape_stats, topofd_from_stats

__all__ = ["TopoFD", "METRIC"]


class TopoFD(Metric):
    name = "topofd"
    summary = (
        "Fréchet distance of per-class persistence-landscape Gaussians (TopoCellGen Eqs. 11-12), under --protocol; "
        "with --extrapolate also TopoFD∞"
    )
    default = True
    columns = (
        Column("topofd", "TopoFD", "lower", range=(0.0, math.inf), rank=True, help="TopoFD, per class and mean"),
        Column("topofd_inf", "TopoFD∞", "lower", help="TopoFD extrapolated to infinitely many layouts (--extrapolate)"),
    )

    def score(self, real: SetView, synth: SetView, ctx: Context) -> MetricResult:
        o = ctx.options
        nR, nS = len(real), len(synth)
        if nR < 2 or nS < 2:
            raise ValueError(f"TopoFD needs at least 2 layouts per set (real {nR}, synthetic {nS})")
        want_se = ctx.want_se and nS >= MIN_LAYOUTS
        pairs = one_to_one(ctx.pairs, nR, nS)
        skip, skip_notes = unmeasured_classes(real, synth, ctx)
        out = MetricResult(artifacts={c: {} for c in ctx.names}, notes=skip_notes)
        splits, lab, method = _resampling(ctx, want_se)
        batch = _paper_batch(real, synth, ctx, skip, splits) if o.protocol == "paper" else {}
        values, inf_vals = [], []
        reps: list[list | None] = []
        inf_reps: list[list | None] = []
        for k, c in enumerate(ctx.names):
            if skip[k]:
                values.append(np.nan)
                inf_vals.append(np.nan)
                reps.append(None)
                inf_reps.append(None)
                continue
            if o.protocol == "paper":
                v, r, inf, inf_r = _paper_class(
                    real.cls(k), synth.cls(k), c, batch, k, ctx.real_paper_stats, splits, pairs, o, out
                )
            else:
                v, r, inf, inf_r = _grid_class(real.cls(k), synth.cls(k), c, lab, pairs, o, out)
            values.append(v)
            reps.append(r)
            inf_vals.append(inf)
            inf_reps.append(inf_r)
        combine = ctx.plan.subsamples if o.protocol == "paper" else ctx.plan.jackknife
        out.cells["topofd"] = per_class_column(ctx.names, values, reps, combine, want_se and bool(method))
        if method:
            out.uncertainty["topofd"] = method
        elif ctx.want_se:
            why = no_interval_reason(nS) if nS < MIN_LAYOUTS else "paper_se_splits=0"
            out.uncertainty["topofd"] = f"none ({why})"
            out.notes.append(f"TopoFD: no interval ({why})")
        if o.extrapolate:
            self._infinity(out, ctx, inf_vals, inf_reps, lab, nR, nS)
        nonnegative(out, ("topofd",), "TopoFD")
        return out

    @staticmethod
    def _infinity(out, ctx, inf_vals, inf_reps, lab, nR, nS) -> None:
        if ctx.options.protocol == "grid":
            out.cells["topofd_inf"] = per_class_column(
                ctx.names, inf_vals, inf_reps, ctx.plan.jackknife, lab is not None
            )
            out.uncertainty["topofd_inf"] = (
                "delete-a-group jackknife of the whole extrapolation" if lab is not None else "none"
            )
        else:
            out.cells["topofd_inf"] = per_class_column(ctx.names, inf_vals, inf_reps, None, False)
            out.uncertainty["topofd_inf"] = (
                "none: each jackknife replicate would recompute 2 x 8 barycenters "
                "per class; use the grid protocol for an extrapolated value with an "
                "interval"
            )
        out.notes.append(
            f"TopoFD∞: least-squares fit of TopoFD against 1/n on nested subsets of "
            f"{', '.join(f'{f:.0%}' for f in FRACTIONS)} of both sets (n real {nR}, synthetic {nS}), "
            "value at 1/n = 0"
        )


def _resampling(ctx: Context, want_se: bool):
    """``(subsample splits, jackknife groups, how the interval is made)`` of the protocol."""
    o = ctx.options
    if o.protocol == "paper":
        n = ctx.plan.n
        # groups of at least MIN_LAYOUTS // 2 layouts (a 10-layout set: halves)
        G = min(o.paper_se_groups, max(2, n // (MIN_LAYOUTS // 2)))
        splits = ctx.plan.splits(o.paper_se_splits, G) if want_se and o.paper_se_splits else []
        if not splits:
            return [], None, None
        G = len(splits[0])
        df = ctx.plan.subsample_df(len(splits), G)
        method = (
            f"disjoint subsamples: {len(splits)} seeded split(s) of the synthetic set into {G} groups of "
            f"~{n // G} layouts, each group's barycenter from its own first diagram (ties: any optimal "
            f"matching); se² = mean over splits of Var(group values)/{G}, t_{df} interval"
        )
        return splits, None, method
    lab = ctx.plan.groups(o.se_groups) if want_se else None
    return [], lab, (jackknife_method(lab) if lab is not None else None)


def _barycenter(diagrams, n_threads: int, published_ties: bool):
    return lagrangian_barycenter(diagrams, init=0, n_threads=n_threads, return_log=True, published_ties=published_ties)


def _paper_batch(real: SetView, synth: SetView, ctx: Context, skip, splits) -> dict:
    """Every barycenter the paper protocol needs -- per measured class the
    synthetic set, each group of each subsample split, and the real set
    unless a reference or the cache holds it -- as independent tasks over
    ``--jobs`` worker processes (each its own deterministic iteration, so
    the numbers do not depend on the number of workers).  Keys: ``("real",
    k)``, ``("synth", k)``, ``("group", k, split, group)``.  Only the
    groups break ties by any optimal matching: they estimate a spread, not
    the published value."""
    o = ctx.options
    keys: list[tuple] = []
    sets: list[tuple[list, str, bool]] = []
    for k, c in enumerate(ctx.names):
        if skip[k]:
            continue
        if ctx.real_paper_stats.known(k) is None:
            keys.append(("real", k))
            sets.append((real.cls(k), f"class {k} (real)", True))
        ds = synth.cls(k)
        keys.append(("synth", k))
        sets.append((ds, f"{c} (synthetic)", True))
        for s, groups in enumerate(splits):
            for j, idx in enumerate(groups):
                keys.append(("group", k, s, j))
                sets.append(([ds[i] for i in idx], "set", False))
    # a barycenter's cost grows with its number of diagrams and of points;
    # without the published tie replay it is ~4x cheaper (measured on Rips diagrams)
    costs = [len(d) * (1 + sum(len(x) for x in d)) * (1.0 if pub else 0.25) for d, _, pub in sets]
    # the tied matchings inside one barycenter use threads only when it runs
    # alone most of the time (the other tasks together cost less)
    jobs = resolve_jobs(o.n_jobs)
    threads = [jobs if 2 * c >= sum(costs) else 1 for c in costs]
    # Only the barycenters travel: landscapes and covariances are made here,
    # where BLAS runs with the same threads whatever --jobs (a worker's
    # single-threaded BLAS sums in another order: different last bits).
    found = map_tasks(_barycenter, [(d, t, pub) for (d, _, pub), t in zip(sets, threads)], o.n_jobs, costs=costs)
    out = {
        key: landscape_stats(d, "paper", what=what, barycenter=b, n_bins=o.n_bins, n_layers=o.n_layers)
        for key, (d, what, _), b in zip(keys, sets, found)
    }
    for key, stats in out.items():
        if key[0] == "real":
            ctx.real_paper_stats.keep(key[1], stats)
    return out


def _paper_class(dr, ds, c, batch, k, ctx_real, splits, pairs, o, out):
    """One class under the paper protocol (Eqs. 11–12 with barycenter
    landscapes), from the batch's statistics: value, the groups' values per
    split, TopoFD∞ (no replicates)."""
    sr = batch[("real", k)] if ("real", k) in batch else ctx_real(k)
    ss = batch[("synth", k)]
    value = topofd_from_stats(sr, ss, o.fd_method)
    reps = [
        tuple(topofd_from_stats(sr, batch[("group", k, s, j)], o.fd_method) for j in range(len(groups)))
        for s, groups in enumerate(splits)
    ]
    out.artifacts[c].update(barycenter_real=sr.barycenter, barycenter_synth=ss.barycenter)
    out.notes += [f"{c} ({side}): {st.note}" for side, st in (("real", sr), ("synthetic", ss)) if st.note]
    inf = _paper_infinity(dr, ds, pairs, o) if o.extrapolate else np.nan
    _landscape_artifacts(out, c, sr, ss)
    return value, reps, inf, None


def _grid_class(dr, ds, c, lab, pairs, o, out):
    """One class under the grid protocol (mean landscapes on a shared
    sampling): value, jackknife replicates, TopoFD∞ and its replicates."""
    sampling = shared_sampling([*dr, *ds], o.n_bins)
    Lr = landscapes_on(dr, sampling, o.n_layers)
    Ls = landscapes_on(ds, sampling, o.n_layers)
    sr = landscape_stats(dr, "grid", sampling=sampling, n_layers=o.n_layers, what=f"{c} (real)")
    ss = landscape_stats(ds, "grid", sampling=sampling, n_layers=o.n_layers, what=f"{c} (synthetic)")
    fd = FrechetTo(sr.mu, sr.sigma)
    reps = [fd(*gaussian(Ls[lab != g])) for g in range(lab.max() + 1)] if lab is not None else []
    inf, inf_reps = _grid_infinity(Lr, Ls, lab, pairs, o.seed) if o.extrapolate else (np.nan, None)
    _landscape_artifacts(out, c, sr, ss)
    return topofd_from_stats(sr, ss, o.fd_method), reps, inf, inf_reps


def _landscape_artifacts(out, c, sr, ss) -> None:
    out.artifacts[c].update(
        landscape_real=sr.mu, landscape_synth=ss.mu, landscape_x_real=sr.mu_x, landscape_x_synth=ss.mu_x
    )


def _grid_infinity(Lr, Ls, lab, pairs, seed):
    """TopoFD∞ and its jackknife replicates.  Paired sets are subsampled
    by pairs (the same windows on both sides); a replicate leaves out a
    group of synthetic layouts and, when paired, their real partners."""

    def score(ir, js):
        mu_r, s_r = gaussian(Lr[ir])
        return FrechetTo(mu_r, s_r)(*gaussian(Ls[js]))

    def value(keep):
        js = np.flatnonzero(keep)
        if pairs is None:
            return extrapolated(lambda ir, jj: score(ir, js[jj]), len(Lr), len(js), FRACTIONS, seed=seed)[0]
        sub = [(i, j) for i, j in pairs if keep[j]]
        return extrapolated(score, len(Lr), len(Ls), FRACTIONS, seed=seed, pairs=sub)[0]

    v = value(np.ones(len(Ls), dtype=bool))
    reps = [value(lab != g) for g in range(lab.max() + 1)] if lab is not None else []
    return v, reps


def _paper_infinity(dr, ds, pairs, o):
    kw = dict(n_bins=o.n_bins, n_layers=o.n_layers, n_threads=o.n_jobs)

    def score(ir, js):
        sr = landscape_stats([dr[i] for i in ir], "paper", **kw)
        ss = landscape_stats([ds[j] for j in js], "paper", **kw)
        return topofd_from_stats(sr, ss, o.fd_method)

    return extrapolated(score, len(dr), len(ds), FRACTIONS, seed=o.seed, pairs=pairs)[0]


METRIC = TopoFD()

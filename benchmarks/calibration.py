"""Calibration of topofd's intervals: do they describe another draw of the
synthetic set from the same generator, with the real set fixed?

For each known generator (matched-count random placement, jitter σ = 4 px,
label shuffle; :mod:`families`), K independent synthetic sets of the full
BRCA-M2C test protocol (1,550 windows) are scored against the fixed real set
exactly as ``topofd compare`` scores them (``topofd.Evaluator``, default
intervals).  Reported per metric, protocol and class: how often a single
draw's 95 % interval covers the mean over the K draws (target 90–98 %), and
the ratio of the mean reported standard error to the standard deviation
across draws (1 = right on average).

Stored sets come from ``draws.py``; results are checkpointed per draw in
``--out``/calibration_rows.json, so a rerun resumes.  Usage::

    python -m benchmarks.calibration --draws /tmp/topofd_draws --jobs 2 [--paper-draws 20] [--draws-per-generator 30]
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
import numpy as np

import topofd
from benchmarks.common import CLASSES, RESULTS, tag_of
from benchmarks.families import GENERATORS, load_set, set_path

MMD_SAMPLES = 300
# (label, Evaluator options): what is calibrated
SETTINGS = {
    "grid": dict(metrics=("topofd", "mmd", "counts"), protocol="grid", mmd_samples=MMD_SAMPLES),
    "topokd": dict(metrics=("topokd",), protocol="grid"),
    "paper": dict(metrics=("topofd",), protocol="paper"),
}


def score(real, synth, opts, jobs, seed=0) -> dict:
    ev = topofd.Evaluator(n_jobs=jobs, seed=seed, **opts)
    for side, is_real in ((real, True), (synth, False)):
        ev.update_diagrams(side["diagrams"], side["counts"], names=side["names"], keys=side["keys"],
                           classes=CLASSES, real=is_real)
    rep = ev.compute()
    t = rep.table
    out = {}
    for m in [c for c in t.columns if f"{c}_se" in t.columns]:
        out[m] = {c: [float(t.at[c, x]) for x in (m, f"{m}_se", f"{m}_lo", f"{m}_hi")] for c in t.index
                  if np.isfinite(t.at[c, m])}
    return out


def coverage(rows: dict) -> list[dict]:
    """Per (generator, setting, metric, class): coverage of the mean over draws."""
    out = []
    for g, by_setting in rows.items():
        for setting, draws in by_setting.items():
            if len(draws) < 2:
                continue
            metrics = sorted({m for d in draws.values() for m in d})
            for m in metrics:
                for c in (*CLASSES, "mean"):
                    v = np.array([d[m][c] for d in draws.values() if m in d and c in d[m]])
                    if len(v) < 2:
                        continue
                    target = v[:, 0].mean()
                    sd = v[:, 0].std(ddof=1)
                    cov = float(np.mean((v[:, 2] <= target) & (target <= v[:, 3])))
                    out.append(dict(generator=g, setting=setting, metric=m, cls=c, K=len(v), mean=float(target),
                                    sd=float(sd), mean_se=float(v[:, 1].mean()),
                                    se_ratio=float(v[:, 1].mean() / sd) if sd > 0 else float("nan"), coverage=cov))
    return out


def markdown(cov: list[dict], cmd: str) -> str:
    lines = [f"Produced by `{cmd}`.", "",
             "Coverage: fraction of the K single-draw 95 % intervals that contain the mean over the K draws "
             "(target 90–98 %); se / sd: mean reported standard error over the across-draw standard deviation.",
             "", "| generator | metric (protocol) | K | class mean: value ± sd | coverage, class mean | "
             "coverage, pooled over classes | se / sd (mean row) |", "|---|---|---:|---:|---:|---:|---:|"]
    keys = sorted({(r["generator"], r["setting"], r["metric"]) for r in cov})
    for g, s, m in keys:
        rs = [r for r in cov if (r["generator"], r["setting"], r["metric"]) == (g, s, m)]
        mean = next((r for r in rs if r["cls"] == "mean"), None)
        per = [r for r in rs if r["cls"] != "mean"]
        pooled = np.mean([r["coverage"] for r in per]) if per else float("nan")
        label = f"{m} ({s})" if m.startswith("topofd") else m
        if mean:
            few = " (K too small to judge)" if mean["K"] < 20 else ""
            pooled_s = "—" if not np.isfinite(pooled) else f"{100 * pooled:.0f} %"
            ratio = "—" if not np.isfinite(mean["se_ratio"]) else f"{mean['se_ratio']:.2f}"
            lines.append(f"| {g} | {label} | {mean['K']}{few} | {mean['mean']:.4g} ± {mean['sd']:.2g} | "
                         f"{100 * mean['coverage']:.0f} % | {pooled_s} | {ratio} |")
    allc = [r["coverage"] for r in cov]
    lines += ["", f"All {len(allc)} (generator, metric, class) cells: median coverage "
                  f"{100 * np.median(allc):.0f} %, range {100 * min(allc):.0f}–{100 * max(allc):.0f} %."]
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--draws", "draws_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=RESULTS / "calibration", show_default=True)
@click.option("--jobs", type=int, default=2, show_default=True)
@click.option("--draws-per-generator", type=int, default=30, show_default=True)
@click.option("--paper-draws", type=int, default=20, show_default=True)
@click.option("--settings", default=",".join(SETTINGS), show_default=True)
@click.option("--generators", default=",".join(GENERATORS), show_default=True)
def main(draws_dir, out, jobs, draws_per_generator, paper_draws, settings, generators):
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / "calibration_rows.json"
    rows = json.loads(rows_path.read_text()) if rows_path.exists() else {}
    real = load_set(set_path(draws_dir, "real"))
    t0 = time.perf_counter()
    wanted = [s.strip() for s in settings.split(",") if s.strip()]
    for d in range(draws_per_generator):
        for g, (fam, s) in GENERATORS.items():
            if g not in generators.split(","):
                continue
            p = set_path(draws_dir, tag_of(fam, s, d))
            if not p.exists():
                continue
            synth = None
            for setting in wanted:
                if setting == "paper" and d >= paper_draws:
                    continue
                done = rows.setdefault(g, {}).setdefault(setting, {})
                if str(d) in done:
                    continue
                synth = synth or load_set(p)
                t = time.perf_counter()
                done[str(d)] = score(real, synth, SETTINGS[setting], jobs)
                rows_path.write_text(json.dumps(rows))
                m = done[str(d)]
                click.echo(f"{g:8s} {setting:6s} draw {d:2d}: " + "  ".join(
                    f"{k} {v['mean'][0]:.4g}±{v['mean'][1]:.2g}" for k, v in m.items() if "mean" in v)
                    + f"  ({time.perf_counter() - t:.0f} s, total {time.perf_counter() - t0:.0f} s)", err=True)
    cov = coverage(rows)
    (out / "coverage.json").write_text(json.dumps(cov, indent=1))
    md = markdown(cov, "python -m benchmarks.calibration " + " ".join(sys.argv[1:]))
    (out / "coverage.md").write_text(md)
    click.echo(md)


if __name__ == "__main__":
    main()

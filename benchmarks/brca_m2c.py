"""Reference rows anyone can recompute on the BRCA-M2C test protocol.

One command builds the real test patches (the paper's protocol on the bundled
30 test images: 1,550 windows of 256x256, stride 32, read back from the
published 3x3-square rasters, :mod:`topofd.layouts.brca_m2c`), and scores against them,
under both protocols (``paper``, ``grid``):

* ``train-split``: windows of the 80 train images (same protocol, from
  ``../shared/datasets/brca-m2c``; an evenly spread subset of as many windows
  as there are test windows).  The data's own variability: the floor a
  generator can reasonably reach.  Unpaired, so no count errors.
* ``random``: every cell re-placed uniformly (matched counts);
* ``jitter σ=1, 2, 4, 8``: every cell moved by rounded N(0, σ²) px;
* ``shuffle``: class labels permuted within each patch;

(:mod:`topofd.layouts.baselines`, each rasterised and read back like the files
``topofd baseline`` writes), writes one JSON report per (protocol, method)
(``Report.to_dict()``, ``meta["method"]`` set) and regenerates the
leaderboard between the ``<!-- leaderboard:start -->`` / ``end`` markers of
``benchmarks/README.md``.

Layout FID and KID (issue 17; shipped BRCA-M2C encoder, needs torch) of
every row go into the same reports (``mean["layout_fid"]``, ...) and into
their own table between ``<!-- layout-fid:start -->`` / ``end``: the
leaderboard keeps the *published* FID as a quoted column and never ranks
these against it (another, unpublished encoder: not comparable).  They do
not depend on the protocol.  ``--fid-only`` computes just them, at full
size, from the same inputs (same seed), and adds them to the stored reports
of a previous run (``--out``) without recomputing the other columns.

Usage::

    python -m benchmarks.brca_m2c [--n-patches N] [--jobs J] [--mmd-samples M]
    python -m benchmarks.brca_m2c --fid-only        # add Layout FID / KID to the stored rows
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from benchmarks.common import RESULTS, ROOT
from topofd import compare
from topofd.layouts.baselines import perturb
from topofd.layouts.brca_m2c import bundled_root, label_file, read_back, real_patches
from topofd.layouts.layout import Layout
from topofd.layouts.patches import read_sizes, read_split, window_layouts
from topofd.layouts.readers import brca
from topofd.output.leaderboard import build_tables, load_reports, to_markdown

START, END = "<!-- leaderboard:start -->", "<!-- leaderboard:end -->"
FID_START, FID_END = "<!-- layout-fid:start -->", "<!-- layout-fid:end -->"
JITTERS = (1, 2, 4, 8)
FID_KEYS = [f"layout_{m}{s}" for m in ("fid", "kid") for s in ("", "_se", "_lo", "_hi")]


def json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o) if np.isfinite(o) else None
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def evenly(items: list, n: int | None) -> list:
    if n is None or n >= len(items):
        return items
    keep = np.unique(np.linspace(0, len(items) - 1, n).round().astype(int))
    return [items[i] for i in keep]


def train_patches(shared: Path, n: int | None) -> list[Layout]:
    """Windows of the train images (same protocol as the test set)."""
    sizes = read_sizes(shared / "image_sizes.tsv")
    wins = []
    for stem in read_split(shared / "brca_ds_train.txt"):
        im = brca.read_image(label_file(shared / "labels", stem), sizes[stem])
        wins.extend(window_layouts(im, brca.CLASSES))
    # prefix keeps train names from pairing with test names
    wins = [Layout(l.points, l.classes, l.shape, f"train_{l.name}") for l in evenly(wins, n)]
    return read_back(wins)


def baseline_set(real: list[Layout], kind: str, sigma: float = 4.0, seed: int = 0) -> list[Layout]:
    """``<patch>_gen`` counterparts as ``topofd baseline`` would write and
    ``topofd compare`` read them back."""
    out = [perturb(l, kind, sigma=sigma, seed=seed) for l in real]
    return read_back([Layout(p.points, p.classes, p.shape, f"{p.name}_gen") for p in out])


def methods(real, shared: Path | None, seed: int):
    """``(method, synthetic layouts, pairing)`` in run order (lazy)."""
    if shared is not None:
        yield "train-split (data floor)", train_patches(shared, len(real)), "none"
    yield "random (matched counts)", baseline_set(real, "random", seed=seed), "prefix"
    for s in JITTERS:
        yield f"jitter σ={s}", baseline_set(real, "jitter", sigma=s, seed=seed), "prefix"
    yield "shuffle labels", baseline_set(real, "shuffle", seed=seed), "prefix"


def slug(method: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in method.split(" (")[0]).replace("σ", "s").strip("_")


def fid_columns(real, synth, pairing: str, seed: int, cache: Path) -> tuple[dict, dict]:
    """``(mean columns, extractor meta)`` of Layout FID and KID (shipped encoder)."""
    rep = compare(real, synth, metrics="fid,kid", pairing=pairing, seed=seed, cache_dir=cache).to_dict()
    return {k: rep["mean"].get(k) for k in FID_KEYS}, rep["meta"].get("layout_fid", {})


def add_fid(path: Path, cols: dict, info: dict) -> None:
    """Put the Layout FID / KID columns into a stored report (the other columns untouched)."""
    d = json.loads(path.read_text())
    d["mean"].update(cols)
    d["meta"]["layout_fid"] = {**info, "extractor": Path(info.get("extractor", "")).name}
    path.write_text(json.dumps(d, indent=1, default=json_default))


def replace_section(readme: Path, start: str, end: str, section: str, heading: str) -> None:
    text = readme.read_text() if readme.exists() else ""
    if start in text and end in text:
        a, b = text.index(start), text.index(end) + len(end)
        text = text[:a] + section + text[b:]
    else:
        text = text + ("\n" if text else "") + f"{heading}\n\n" + section + "\n"
    readme.write_text(text)


def write_fid_table(paths: list[Path], readme: Path, command: str, test_set: str) -> str:
    """The Layout FID / KID table of the rows (one per method: the protocol does not enter)."""
    rows = {}
    for p in paths:
        d = json.loads(p.read_text())
        if d["mean"].get("layout_fid") is not None:
            rows.setdefault(d["meta"]["method"], d)
    if not rows:
        return ""
    sha = next(iter(rows.values()))["meta"].get("layout_fid", {}).get("sha256") or "?"
    lines = [
        FID_START,
        "",
        f"Produced by `{command}`; test set: {test_set}; shipped BRCA-M2C layout encoder (sha256 {sha[:12]}); "
        "± delete-a-group jackknife se over the synthetic set.",
        "**Not the paper's FID**: TopoCellGen's FID uses an encoder that was never published; these numbers are "
        "comparable only with Layout FID / KID of the same encoder.  The leaderboard above keeps the published "
        "FID as a quoted column (`FID`) and never ranks these against it.",
        "",
        "| method | Layout FID | Layout KID | n_real | n_synth |",
        "|---|---:|---:|---:|---:|",
    ]
    for method, d in sorted(rows.items(), key=lambda kv: kv[1]["mean"]["layout_fid"]):
        m = d["mean"]
        cell = [f"{m[c]:.4g} ± {m[c + '_se']:.2g}" if m.get(c + "_se") is not None else f"{m[c]:.4g}"
                for c in ("layout_fid", "layout_kid")]
        lines.append(f"| {method} | {cell[0]} | {cell[1]} | {d['meta']['n_real']} | {d['meta']['n_synth']} |")
    section = "\n".join(lines) + "\n\n" + FID_END
    replace_section(readme, FID_START, FID_END, section, "### Layout FID and KID of the reference rows")
    return section


def write_leaderboard(paths: list[Path], readme: Path, command: str, test_set: str, subset: bool) -> str:
    reports = load_reports(paths)
    tables = build_tables(reports)
    v = reports[0]["meta"].get("versions", {})
    head = [
        START,
        "",
        f"Produced by `{command}`"
        + (" — **an evenly spread subset of the test patches, not the full 1,550-patch protocol**" if subset else "")
        + ".",
        "Versions: topofd " + str(reports[0]["meta"].get("topofd_version", "?")) + ", "
        + ", ".join(f"{k} {x}" for k, x in v.items()) + ".",
        "Lower is better for every column; `—`: not defined (unpaired sets have no count errors).",
        "",
    ]
    body = "\n".join(to_markdown(df) for df in tables.values())
    section = "\n".join(head) + "\n" + body + "\n" + END
    replace_section(readme, START, END, section, "## Leaderboard")
    return body


@click.command()
@click.option("--n-patches", type=int, default=None,
              help="Evenly spread subset of the 1,550 test patches (quick runs).")
@click.option("--jobs", type=int, default=1, show_default=True)
@click.option("--mmd-samples", type=int, default=300, show_default=True,
              help="MMD on a seeded subset of this many layouts per set (its cost is quadratic).")
@click.option("--protocols", default="paper,grid", show_default=True)
@click.option("--shared", type=click.Path(file_okay=False, path_type=Path),
              default=ROOT.parent / "shared" / "datasets" / "brca-m2c", show_default=True,
              help="BRCA-M2C with the train split (skipped with a note if absent).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=RESULTS / "brca_m2c", show_default=True)
@click.option("--readme", type=click.Path(dir_okay=False, path_type=Path),
              default=ROOT / "benchmarks" / "README.md", show_default=True)
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Diagram cache folder (default: a temporary one).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--no-fid", is_flag=True, help="No Layout FID / KID columns (they need torch).")
@click.option("--fid-only", is_flag=True, help="Only Layout FID / KID, added to the stored reports in --out.")
def main(n_patches, jobs, mmd_samples, protocols, shared, out, readme, cache, seed, no_fid, fid_only):
    """Score the reference rows on BRCA-M2C and regenerate the leaderboard."""
    t0 = time.perf_counter()
    protocols = [p.strip() for p in protocols.split(",") if p.strip()]
    with bundled_root() as root:
        real = real_patches(root, n_patches)
    subset = n_patches is not None and n_patches < 1550
    test_set = f"BRCA-M2C test, {len(real)} patches" + (" (evenly spread subset)" if subset else "")
    if not (shared / "brca_ds_train.txt").is_file():
        click.echo(f"note: {shared} not found: no train-split row", err=True)
        shared = None
    tmp, written = None, []
    if cache is None:
        tmp = cache = Path(tempfile.mkdtemp(prefix="topofd_bench_"))
    try:
        for method, synth, pairing in methods(real, shared, seed):
            fid = None if no_fid else fid_columns(real, synth, pairing, seed, cache)
            if fid is not None:
                click.echo(f"      {method:26s} Layout FID {fid[0]['layout_fid']:9.4f}", err=True)
            if fid_only:
                for protocol in protocols:
                    path = out / protocol / f"{slug(method)}.json"
                    add_fid(path, *fid)
                    written.append(path)
                continue
            for protocol in protocols:
                t = time.perf_counter()
                rep = compare(real, synth, protocol=protocol, pairing=pairing, n_jobs=jobs, seed=seed,
                              mmd_samples=mmd_samples, cache_dir=cache)
                d = rep.to_dict()
                d["meta"].update(method=method, dataset="brca-m2c", test_set=test_set, cache=None)
                d["meta"].pop("real", None)  # a "<N layouts>" placeholder here; test_set says it
                (out / protocol).mkdir(parents=True, exist_ok=True)
                path = out / protocol / f"{slug(method)}.json"
                path.write_text(json.dumps(d, indent=1, default=json_default))
                if fid is not None:
                    add_fid(path, *fid)
                written.append(path)
                click.echo(f"{protocol:5s} {method:26s} TopoFD {d['mean'].get('topofd', float('nan')):9.3f}  "
                           f"({time.perf_counter() - t:.1f} s)", err=True)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    command = " ".join(["python -m benchmarks.brca_m2c", *sys.argv[1:]])
    if not fid_only:
        click.echo(write_leaderboard(written, readme, command, test_set, subset))
    click.echo(write_fid_table(written, readme, command, test_set))
    click.echo(f"total {time.perf_counter() - t0:.0f} s", err=True)


if __name__ == "__main__":
    main()

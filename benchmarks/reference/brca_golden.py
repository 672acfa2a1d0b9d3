"""Golden TopoFD values for the BRCA-M2C test protocol from the published computation.

Runs ``published_topofd`` for one real folder against several synthetic
folders, computing the real side (diagrams, barycenters, landscapes) once and
reusing it.  The seconds of one full published comparison are reported per
synthetic set as real side + synthetic side + FD, the same work
``published_topofd.py REAL SYNTH`` does.

Usage (reference environment, see ``setup_env.sh``)::

    python brca_golden.py REAL_DIR --synth random=DIR --synth jitter=DIR \
        [--classes 3] [--first 20] [--cache DIR] --out tests/golden/brca_m2c_paper.json
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

# run as a script, its own folder is on the import path: the published steps beside it
import published_topofd as ref


def folder_digest(d):
    """SHA-256 of the bytes of every ``.npy`` file of ``d``, concatenated in
    sorted file-name order, and the file count."""
    h = hashlib.sha256()
    files = sorted(p for p in Path(d).iterdir() if p.name.endswith(".npy"))
    for p in files:
        h.update(p.read_bytes())
    return h.hexdigest(), len(files)


def side(paths, n_classes, label, cache):
    """Diagrams and summaries of one set, timed; cached as a pickle if asked."""
    t0 = time.perf_counter()
    dgms = ref.diagrams_of(paths, n_classes)
    t_pers = time.perf_counter() - t0
    print(f"[{label}] persistence {t_pers:.1f} s", flush=True)
    summ, t = ref.summarise(dgms)
    print(f"[{label}] barycenters {t['barycenters']:.1f} s, landscapes {t['landscapes']:.1f} s",
          flush=True)
    if cache:
        with open(Path(cache) / f"{label}.pkl", "wb") as f:
            pickle.dump({"paths": [str(p) for p in paths], "dgms": dgms, "summary": summ}, f)
    return dgms, summ, {"loading_persistence": t_pers, **t}


def per_class(summ, what):
    return [what(s) for s in summ]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("real_dir")
    ap.add_argument("--synth", action="append", required=True, metavar="NAME=DIR")
    ap.add_argument("--classes", type=int, default=3)
    ap.add_argument("--class-names", default="lym,epi,stro")
    ap.add_argument("--first", type=int, default=20, help="real diagrams kept per class")
    ap.add_argument("--cache", help="folder for pickled diagrams and summaries")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    synths = dict(s.split("=", 1) for s in a.synth)
    names = a.class_names.split(",")
    if len(names) != a.classes:
        raise ValueError(f"--class-names has {len(names)} names for {a.classes} classes")
    if a.cache:
        Path(a.cache).mkdir(parents=True, exist_ok=True)

    folders = {}
    for key, d in [("real", a.real_dir), *synths.items()]:
        digest, n = folder_digest(d)
        folders[key] = {"path": str(d), "n_files": n, "sha256": digest}
    print("digests done", flush=True)

    # pairing with every synthetic folder first: fail before the long work
    pairs = {k: ref.pair_files(a.real_dir, d) for k, d in synths.items()}
    real_paths = [p[0] for p in next(iter(pairs.values()))]

    real_dgms, real_sum, t_real = side(real_paths, a.classes, "real", a.cache)
    out = {
        "meta": {
            "what": "published TopoFD (paper protocol) on BRCA-M2C test patches",
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "versions": ref.versions(),
            "classes": names,
            "n_bins": ref.N_BINS,
            "order": "real files sorted by name; synthetic file i pairs with real file i "
                     "(name starts with the real stem); diagram points in gudhi "
                     "persistence() order",
        },
        "folders": folders,
        "real": {
            "barycenters": per_class(real_sum, lambda s: ref.diagram_list(s["barycenter"])),
            "nb_iter": per_class(real_sum, lambda s: s["nb_iter"]),
            "mu": per_class(real_sum, lambda s: [float(x) for x in s["mu"]]),
            "trace_sigma": per_class(real_sum, lambda s: float(np.trace(s["sigma"]))),
            "first_files": [p.name for p in real_paths[: a.first]],
            "first_diagrams": [[ref.diagram_list(d) for d in dg[: a.first]] for dg in real_dgms],
            "first_landscapes": per_class(
                real_sum, lambda s: [[float(x) for x in l] for l in s["landscapes"][: a.first]]),
            "n_points": [[int(np.asarray(d).reshape(-1, 2).shape[0]) for d in dg] for dg in real_dgms],
            "seconds": t_real,
        },
        "comparisons": {},
    }
    for key, prs in pairs.items():
        _, syn_sum, t_syn = side([p[1] for p in prs], a.classes, key, a.cache)
        t0 = time.perf_counter()
        vals, infos = ref.compare(real_sum, syn_sum)
        t_fd = time.perf_counter() - t0
        full = {
            "loading_persistence": t_real["loading_persistence"] + t_syn["loading_persistence"],
            "barycenters": t_real["barycenters"] + t_syn["barycenters"],
            "landscapes_fd": t_real["landscapes"] + t_syn["landscapes"] + t_fd,
        }
        full["total"] = sum(full.values())
        out["comparisons"][key] = {
            "synth_dir": synths[key],
            "topofd": [float(v) for v in vals],
            "mean": float(np.mean(vals)),
            "fd_info": infos,
            "barycenters": per_class(syn_sum, lambda s: ref.diagram_list(s["barycenter"])),
            "nb_iter": per_class(syn_sum, lambda s: s["nb_iter"]),
            "mu": per_class(syn_sum, lambda s: [float(x) for x in s["mu"]]),
            "trace_sigma": per_class(syn_sum, lambda s: float(np.trace(s["sigma"]))),
            "seconds_synth_side": {**t_syn, "fd": t_fd},
            "seconds_full_comparison": full,
        }
        print(f"[{key}] topofd {vals} mean {np.mean(vals)!r}", flush=True)
        Path(a.out).write_text(json.dumps(out) + "\n")
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

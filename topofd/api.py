"""``topofd.compare``: the one entry point, mirrored 1:1 by ``topofd compare``."""
from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .cache import Cache, digest
from .counts import count_errors
from .io import pair_by_prefix, read_layouts
from .layout import Layout
from .mmd import mmd_from_distances
from .parallel import map_chunks
from .persistence import diagrams as _diagrams
from .topo_fd import PROTOCOLS, LandscapeStats, landscape_stats, topofd_from_stats
from .landscapes import shared_sampling
from .wasserstein import pairwise_wasserstein

__all__ = ["compare", "Report", "METRICS", "compute_diagrams"]

METRICS = ("topofd", "mmd", "counts")
_CACHE_VERSION = 2  # 2: diagrams in gudhi persistence() order


@dataclass
class Report:
    """Result of :func:`compare`.

    ``table``: one row per class plus ``mean``; ``meta``: provenance;
    ``artifacts``: per-class arrays for plots; ``counts_real`` /
    ``counts_synth``: paired ``(n_pairs, C)`` counts (``None`` if unpaired).
    """

    protocol: str
    classes: tuple[str, ...]
    table: pd.DataFrame
    meta: dict
    artifacts: dict = field(default_factory=dict)
    counts_real: np.ndarray | None = None
    counts_synth: np.ndarray | None = None

    def to_dict(self) -> dict:
        """JSON-ready: ``{"protocol", "classes", "per_class", "mean", "meta"}``."""

        def num(v):
            return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)

        cols = [c for c in self.table.columns if c != "tce"]
        per_class = [
            {"class": c, **{k: num(self.table.at[c, k]) for k in cols}} for c in self.classes
        ]
        mean = {k: num(self.table.at["mean", k]) for k in self.table.columns if k != "cce"}
        return {"protocol": self.protocol, "classes": list(self.classes), "per_class": per_class, "mean": mean, "meta": self.meta}

    def __str__(self) -> str:
        t = self.table.copy()
        with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 120):
            body = t.to_string(na_rep="")
        m = self.meta
        lines = [body, "", f"protocol: {self.protocol}   real: {m['n_real']}   synthetic: {m['n_synth']}   pairs: {m.get('n_pairs')}"]
        if m.get("sigma"):
            lines.append("MMD sigma: " + ", ".join(f"{c}={s:.4g}" for c, s in m["sigma"].items()))
        lines.append(f"elapsed: {m['seconds']:.1f} s")
        lines += [f"note: {n}" for n in m.get("notes", [])]
        return "\n".join(lines)


# --------------------------------------------------------------------- inputs
def _load(x, what, *, format, classes, skip_bad, reader_options):
    if isinstance(x, (str, Path)):
        layouts, skipped = read_layouts(x, format=format, classes=classes, skip_bad=skip_bad, **(reader_options or {}))
        return layouts, skipped, str(x)
    layouts = list(x)
    if not all(isinstance(l, Layout) for l in layouts):
        raise ValueError(f"{what}: expected a folder or a sequence of Layout")
    return layouts, [], f"<{len(layouts)} layouts>"


def _check_classes(real, synth, classes):
    if not real:
        raise ValueError("real set: no layouts")
    if not synth:
        raise ValueError("synthetic set: no layouts")
    for what, ls in (("real", real), ("synthetic", synth)):
        ncs = {l.n_classes for l in ls}
        if len(ncs) > 1:
            bad = next(l for l in ls if l.n_classes != ls[0].n_classes)
            raise ValueError(f"{bad.source or bad.name}: {bad.n_classes} classes, other {what} layouts have {ls[0].n_classes}")
    cr, cs = real[0].n_classes, synth[0].n_classes
    if cr != cs:
        raise ValueError(f"class count mismatch: real layouts have {cr} classes, synthetic layouts have {cs}")
    names = tuple(classes) if classes is not None else real[0].classes
    if len(names) != cr:
        raise ValueError(f"{len(names)} class names given for layouts with {cr} classes")
    return names


# ---------------------------------------------------------------- persistence
def _diagram_chunk(layouts, complex):
    return [[_diagrams(p, complex, maxdim=1)[1] for p in lay.points] for lay in layouts]


def stats_key(layout_keys: Sequence[str], protocol: str, k: int, n_bins: int, n_layers: int) -> str:
    """Cache key of one class's real-side landscape statistics: the ordered
    layout keys (the barycenter starts from the first diagram) and options."""
    return digest("stats", _CACHE_VERSION, protocol, k, n_bins, n_layers, *layout_keys)


def _layout_key(layout: Layout, complex: str) -> str:
    return digest("dgm", _CACHE_VERSION, complex, *[p.tobytes() for p in layout.points],
                  tuple(len(p) for p in layout.points))


class Diagrams:
    """H1 diagrams ``[layout][class]`` of a set, computed on first use (in
    parallel, through the cache) so that work a cached statistic makes
    unnecessary is never done."""

    def __init__(self, layouts: Sequence[Layout], complex: str = "rips", n_jobs: int = 1, cache: Cache | None = None,
                 progress=None):
        self.layouts, self.complex, self.n_jobs, self.cache, self.progress = layouts, complex, n_jobs, cache, progress
        self.keys = [_layout_key(l, complex) for l in layouts]
        self._d: list = [None] * len(layouts)

    def get(self, idx=None) -> list:
        idx = range(len(self.layouts)) if idx is None else idx
        todo = []
        for i in idx:
            if self._d[i] is None:
                v = self.cache.get(self.keys[i]) if self.cache is not None else None
                if v is None:
                    todo.append(i)
                else:
                    self._d[i] = v
        if todo:
            # Rips H1 cost grows ~cubically with the class size: balance on it
            weights = [sum(len(p) ** 3 for p in self.layouts[i].points) for i in todo]
            chunks = map_chunks(lambda ids: _diagram_chunk([self.layouts[i] for i in ids], self.complex), todo,
                                self.n_jobs, weights=weights)
            for i, d in zip(todo, (d for c in chunks for d in c)):
                self._d[i] = d
                if self.cache is not None:
                    self.cache.put(self.keys[i], d)
            if self.progress is not None:
                self.progress(len(todo))
        return [self._d[i] for i in idx]


def compute_diagrams(layouts: Sequence[Layout], *, complex: str = "rips", n_jobs: int = 1,
                     cache: Cache | None = None) -> tuple[list[list[np.ndarray]], list[str]]:
    """H1 diagrams ``[layout][class]`` of every layout and each layout's cache key."""
    d = Diagrams(layouts, complex, n_jobs, cache)
    return d.get(), d.keys


# ---------------------------------------------------------------------- API
def compare(
    real,
    synth,
    *,
    metrics: Sequence[str] = METRICS,
    protocol: str = "paper",
    classes: Sequence[str] | None = None,
    pairing: str = "prefix",
    format: str = "auto",
    complex: str = "rips",
    n_jobs: int = 1,
    seed: int = 0,
    cache_dir=None,
    bootstrap: int = 0,
    mmd_sigma: float | None = None,
    mmd_samples: int | None = None,
    mmd_estimator: str = "unbiased",
    permutations: int = 0,
    n_bins: int = 100,
    n_layers: int = 1,
    fd_method: str = "sqrtm",
    skip_bad: bool = False,
    progress: bool = False,
    reader_options: dict | None = None,
    use_bundled: bool = True,
) -> Report:
    """Compare a real and a synthetic set of cell layouts.

    ``real`` / ``synth``: folders (read with :func:`topofd.io.read_layouts`)
    or sequences of :class:`Layout`.  Metrics: ``topofd`` (TopoCellGen
    Eqs. 11–12, see :mod:`topofd.topo_fd`), ``mmd`` (W1 Gaussian-kernel MMD²,
    :mod:`topofd.mmd`), ``counts`` (CCE per class and TCE, :mod:`topofd.counts`;
    needs ``pairing="prefix"``).  ``protocol``: ``paper`` (the published
    computation) or ``grid``.  ``mmd_samples``: score MMD on a seeded random
    subset of that many layouts per set (its cost is quadratic).
    ``bootstrap``: number of patch resamples for 95 % percentile intervals of
    TopoFD and MMD.  ``use_bundled``: take the real-side statistics of the
    bundled BRCA-M2C test protocol from the package when the real set is
    exactly that one (``False`` recomputes them).  Results depend only on the
    inputs and ``seed``, never on ``n_jobs``.
    """
    t0 = time.perf_counter()
    metrics = tuple(metrics)
    for m in metrics:
        if m not in METRICS:
            raise ValueError(f"unknown metric {m!r}; choose from {', '.join(METRICS)}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    if pairing not in ("prefix", "none"):
        raise ValueError(f"unknown pairing {pairing!r}; choose 'prefix' or 'none'")
    opts = dict(format=format, classes=classes, skip_bad=skip_bad, reader_options=reader_options)
    R, skipped_r, src_r = _load(real, "real", **opts)
    S, skipped_s, src_s = _load(synth, "synthetic", **opts)
    names = _check_classes(R, S, classes)
    C = len(names)
    notes: list[str] = []
    cache = Cache(cache_dir, bundled=use_bundled)
    bar = _progress_bar(progress, total=len(R) + len(S))

    pairs = None
    if pairing == "prefix":
        pairs, un_r, un_s = pair_by_prefix([l.name for l in R], [l.name for l in S])
        if "counts" in metrics and not pairs:
            raise ValueError("no real/synthetic pairs: no synthetic file name starts with a real file's stem (use --pairing none)")
        if un_s:
            notes.append(f"{len(un_s)} synthetic layouts match no real layout")
        if un_r:
            notes.append(f"{len(un_r)} real layouts have no synthetic counterpart")
    elif "counts" in metrics:
        notes.append("count errors need paired layouts: skipped (pairing 'none')")

    table = pd.DataFrame(index=[*names, "mean"], dtype=float)
    artifacts: dict = {c: {} for c in names}
    meta_sigma = {}
    counts_real = counts_synth = None

    if "counts" in metrics and pairs:
        counts_real = np.array([R[i].counts for i, _ in pairs])
        counts_synth = np.array([S[j].counts for _, j in pairs])
        cce, tce = count_errors(counts_real, counts_synth)
        table["cce"] = [*cce, np.nan]
        table.loc["mean", "tce"] = tce

    if "topofd" in metrics or "mmd" in metrics:
        upd = bar.update if bar is not None else None
        DR = Diagrams(R, complex, n_jobs, cache, upd)
        DS = Diagrams(S, complex, n_jobs, cache, upd)
        rng = np.random.default_rng(seed)
        boot_idx = [(rng.integers(0, len(R), len(R)), rng.integers(0, len(S), len(S))) for _ in range(bootstrap)]
        for k, cname in enumerate(names):
            dr = _ClassView(DR, k)
            ds = _ClassView(DS, k)
            if "topofd" in metrics:
                val, sr, ss = _topofd_class(dr, ds, DR.keys, k, protocol, n_bins, n_layers, fd_method, cache, cname, n_jobs)
                table.loc[cname, "topofd"] = val
                artifacts[cname].update(
                    barycenter_real=sr.barycenter, barycenter_synth=ss.barycenter,
                    landscape_real=sr.mu, landscape_synth=ss.mu, landscape_x_real=sr.mu_x, landscape_x_synth=ss.mu_x,
                )
                if bootstrap:
                    vals = [_topofd_class(dr.take(a), ds.take(b), None, k, protocol, n_bins, n_layers,
                                          fd_method, None, cname, n_jobs)[0] for a, b in boot_idx]
                    table.loc[cname, ["topofd_lo", "topofd_hi"]] = np.percentile(vals, [2.5, 97.5])
            if "mmd" in metrics:
                sub_r, sub_s = _subsample(len(R), mmd_samples, seed, 1), _subsample(len(S), mmd_samples, seed, 2)
                pooled = dr.take(sub_r) + ds.take(sub_s)
                W = pairwise_wasserstein(pooled, order=1.0, internal_p=np.inf, n_jobs=n_jobs)
                res = mmd_from_distances(W, len(sub_r), sigma=mmd_sigma, estimator=mmd_estimator,
                                         permutations=permutations, seed=seed)
                table.loc[cname, "mmd"] = res.mmd2
                meta_sigma[cname] = res.sigma
                if res.p_value is not None:
                    table.loc[cname, "mmd_p"] = res.p_value
                notes += [f"{cname}: {n}" for n in res.notes]
                if bootstrap:
                    from .mmd import _estimate

                    nr, ns = len(sub_r), len(sub_s)
                    K = np.exp(-W / res.sigma**2)
                    vals = []
                    for _ in range(bootstrap):
                        idx = np.concatenate([rng.integers(0, nr, nr), nr + rng.integers(0, ns, ns)])
                        vals.append(_estimate(K[np.ix_(idx, idx)], nr, mmd_estimator == "unbiased", origin=idx))
                    table.loc[cname, ["mmd_lo", "mmd_hi"]] = np.percentile(vals, [2.5, 97.5])
        if mmd_samples is not None and "mmd" in metrics:
            notes.append(f"MMD on a random subset of at most {mmd_samples} layouts per set (seed {seed})")
        if bootstrap:
            notes.append(f"95% percentile intervals from {bootstrap} resamples of the patches (same sigma; "
                         "copies of one patch never paired in the MMD U-statistic); the mean row averages "
                         "the per-class bounds")
    if bar is not None:
        bar.close()

    for col in table.columns:
        if col in ("tce",):
            continue
        table.loc["mean", col] = table.loc[list(names), col].mean() if col not in ("mmd_p",) else np.nan
    meta = {
        "topofd_version": _version(),
        "versions": _versions(),
        "protocol": protocol,
        "complex": complex,
        "metrics": list(metrics),
        "real": src_r,
        "synthetic": src_s,
        "n_real": len(R),
        "n_synth": len(S),
        "n_pairs": len(pairs) if pairs is not None else None,
        "skipped": skipped_r + skipped_s,
        "sigma": meta_sigma,
        "mmd_samples": mmd_samples,
        "mmd_estimator": mmd_estimator if "mmd" in metrics else None,
        "bootstrap": bootstrap,
        "seed": seed,
        "n_bins": n_bins,
        "n_layers": n_layers,
        "cache": {"dir": str(cache_dir), "hits": cache.hits, "misses": cache.misses} if cache_dir else None,
        "notes": notes,
        "seconds": time.perf_counter() - t0,
    }
    if skipped_r or skipped_s:
        notes.append(f"skipped {len(skipped_r) + len(skipped_s)} unreadable files")
    return Report(protocol, names, table, meta, artifacts, counts_real, counts_synth)


class _ClassView:
    """One class's diagrams of a lazily computed set."""

    def __init__(self, diagrams: Diagrams, k: int):
        self.diagrams, self.k = diagrams, k

    def take(self, idx) -> list:
        return [d[self.k] for d in self.diagrams.get(list(idx))]

    def all(self) -> list:
        return [d[self.k] for d in self.diagrams.get()]


def _topofd_class(dr, ds, keys_r, k, protocol, n_bins, n_layers, fd_method, cache, cname, n_jobs=1):
    """TopoFD of one class; ``dr``/``ds`` are diagram lists or :class:`_ClassView`."""
    dr_all = dr.all if isinstance(dr, _ClassView) else (lambda: dr)
    ds_list = ds.all() if isinstance(ds, _ClassView) else ds
    kw = dict(n_bins=n_bins, n_layers=n_layers)
    if protocol == "paper":
        kw["n_threads"] = n_jobs
    if protocol == "grid":
        real = dr_all()
        kw["sampling"] = shared_sampling([*real, *ds_list], n_bins)
        sr = landscape_stats(real, "grid", what=f"{cname} (real)", **kw)
    else:
        # the real side of the paper protocol depends on the real set only:
        # cached (and bundled for the BRCA-M2C test protocol)
        key = stats_key(keys_r, protocol, k, n_bins, n_layers) if (cache and keys_r) else None
        sr = cache.get(key) if key else None
        if sr is None:
            sr = landscape_stats(dr_all(), "paper", what=f"{cname} (real)", **kw)
            if key:
                cache.put(key, sr)
    ss = landscape_stats(ds_list, protocol, what=f"{cname} (synthetic)", **kw)
    return topofd_from_stats(sr, ss, fd_method), sr, ss


def _subsample(n, k, seed, stream):
    if k is None or k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, stream]).choice(n, size=k, replace=False))


def _progress_bar(enabled, total):
    if not enabled:
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, desc="diagrams", unit="layout", leave=False)
    return bar


def _version():
    from . import __version__

    return __version__


def _versions():
    import gudhi
    import scipy

    out = {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__, "gudhi": gudhi.__version__}
    try:
        import ripser

        out["ripser"] = getattr(ripser, "__version__", "?")
    except ImportError:  # pragma: no cover
        pass
    return out

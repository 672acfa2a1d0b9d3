"""``topofd.compare``: the one entry point, mirrored 1:1 by ``topofd compare``.

A thin wrapper over :class:`topofd.Evaluator`: read both sets, feed them,
compute — so every metric lands in the streaming metric and here at once.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

from topofd.storage.cache import Cache
from topofd.evaluator import METRICS, Evaluator, layout_key, stats_key
from topofd.layouts.sets import read_layouts
from topofd.layouts.layout import Layout
from topofd.storage.reference import is_reference
from topofd.output.report import Report

__all__ = ["compare", "Report", "METRICS", "compute_diagrams", "stats_key", "layout_key"]


def _load(x, what, *, format, classes, skip_bad, reader_options):
    if isinstance(x, (str, Path)):
        layouts, skipped = read_layouts(x, format=format, classes=classes, skip_bad=skip_bad, **(reader_options or {}))
        return layouts, skipped, str(x)
    if isinstance(x, Layout):
        x = [x]
    try:
        layouts = list(x)
    except TypeError:
        raise ValueError(f"{what} set: expected a folder, a file or a sequence of Layout, not "
                         f"{type(x).__name__}") from None
    if not all(isinstance(l, Layout) for l in layouts):
        raise ValueError(f"{what} set: expected a folder or a sequence of Layout")
    return layouts, [], f"<{len(layouts)} layouts>"


def compare(
    real,
    synth,
    *,
    metrics: Sequence[str] | str | None = None,
    protocol: str = "paper",
    classes: Sequence[str] | None = None,
    pairing: str = "prefix",
    format: str = "auto",
    complex: str = "rips",
    n_jobs: int = 1,
    seed: int = 0,
    cache_dir=None,
    mmd_sigma: float | None = None,
    mmd_samples: int | None = None,
    mmd_estimator: str = "unbiased",
    permutations: int = 0,
    n_bins: int = 100,
    n_layers: int = 1,
    fd_method: str = "sqrtm",
    uncertainty: bool = True,
    se_groups: int = 20,
    paper_se_splits: int = 3,
    extrapolate: bool = False,
    skip_bad: bool = False,
    progress: bool = False,
    reader_options: dict | None = None,
    use_bundled: bool = True,
) -> Report:
    """Compare a real and a synthetic set of cell layouts.

    ``real``: a folder or file (read with :func:`topofd.layouts.sets.read_layouts`), a
    sequence of :class:`Layout`, a reference file made by ``topofd stats``
    (``*.topofd``) or a named reference set (``"brca-m2c:test"``, see
    :func:`topofd.storage.reference.names`); ``synth``: a folder, file or sequence
    of :class:`Layout`.

    Metrics (default: all): ``topofd`` (TopoCellGen Eqs. 11–12,
    :mod:`topofd.metrics.landscape_fd`), ``mmd`` (W1 Gaussian-kernel MMD²,
    :mod:`topofd.metrics.diagram_mmd`), ``counts`` (CCE per class and TCE,
    :mod:`topofd.metrics.counts`; they need paired names — by default they are
    skipped with a note when names do not pair, an error only when asked
    for explicitly).  ``protocol``: ``paper`` (the published computation)
    or ``grid``.

    Uncertainty (``uncertainty=True``): every score gets a standard error and
    a 95 % interval over another draw of the synthetic set, real set fixed
    (:mod:`topofd.stats.uncertainty`): jackknife over ``se_groups`` groups for
    ``grid`` TopoFD and MMD, ``paper_se_splits`` split halves for ``paper``
    TopoFD (0: none; each split costs about one more synthetic barycenter),
    analytic for count errors.  ``extrapolate``: add ``topofd_inf``, TopoFD
    extrapolated to infinitely many layouts (:mod:`topofd.stats.extrapolate`).

    ``mmd_samples``: score MMD on a seeded random subset of that many layouts
    per set (its cost is quadratic).  ``use_bundled``: take diagrams and
    statistics of the bundled reference sets when the real set is exactly
    one of them (``False`` recomputes them).  Results depend only on the
    inputs and ``seed``, never on ``n_jobs``.
    """
    t0 = time.perf_counter()
    ev = Evaluator(metrics, protocol, classes=classes, complex=complex, pairing=pairing, n_jobs=n_jobs, seed=seed,
                   mmd_sigma=mmd_sigma, mmd_samples=mmd_samples, mmd_estimator=mmd_estimator,
                   permutations=permutations, n_bins=n_bins, n_layers=n_layers, fd_method=fd_method,
                   uncertainty=uncertainty, se_groups=se_groups, paper_se_splits=paper_se_splits,
                   extrapolate=extrapolate, cache_dir=cache_dir, use_bundled=use_bundled, progress=progress)
    opts = dict(format=format, classes=classes, skip_bad=skip_bad, reader_options=reader_options)
    if is_reference(real):
        ev.load_reference(real)
        skipped_r, src_r = [], str(real)
    else:
        R, skipped_r, src_r = _load(real, "real", **opts)
        if not R:
            raise ValueError("real set: no layouts")
        ev.update(R, real=True)
    S, skipped_s, src_s = _load(synth, "synthetic", **opts)
    if not S:
        raise ValueError("synthetic set: no layouts")
    ev.update(S, real=False)
    report = ev.compute()
    m = report.meta
    skipped = [*skipped_r, *skipped_s]
    m.update(real=src_r, synthetic=src_s, skipped=skipped,
             cache={"dir": str(cache_dir), "hits": ev._cache.hits, "misses": ev._cache.misses} if cache_dir else None)
    bad = [x for x in skipped if getattr(x, "unreadable", True)]
    if bad:
        m["notes"].append(f"skipped {len(bad)} unreadable files")
    if len(bad) < len(skipped):
        m["notes"].append(f"skipped {len(skipped) - len(bad)} files that are not layouts (listed in meta.skipped)")
    m["seconds"] = time.perf_counter() - t0
    return report


def compute_diagrams(layouts: Sequence[Layout], *, complex: str = "rips", n_jobs: int = 1,
                     cache: Cache | None = None) -> tuple[list[list], list[str]]:
    """H1 diagrams ``[layout][class]`` of every layout and each layout's key,
    in the given order."""
    ev = Evaluator(("topofd",), complex=complex, n_jobs=n_jobs, use_bundled=cache is None or cache.bundled)
    if cache is not None:
        ev._cache = cache
    keys = [layout_key(l, complex) for l in layouts]
    return ev._compute_diagrams(list(layouts), keys), keys

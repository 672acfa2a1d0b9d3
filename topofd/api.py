"""``topofd.compare``: read both sets, feed an :class:`~topofd.Evaluator`,
compute — the function behind ``topofd compare``, whose flags come from the
same :class:`~topofd.options.Options` table as its keywords."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from topofd.evaluator import Evaluator
from topofd.layouts.layout import Layout
from topofd.layouts.sets import duplicate_notes, read_layouts
from topofd.option_spec import signature_with_options
from topofd.options import Options, all_specs
from topofd.output.report import Report
from topofd.parallel import start_workers, wait_workers
from topofd.storage.reference import is_reference

__all__ = ["compare"]


def _load(x, what: str, options: Options):
    if isinstance(x, (str, Path)):
        layouts, skipped = read_layouts(x, **options.reader_kwargs())
        return layouts, skipped, str(x)
    if isinstance(x, Layout):
        x = [x]
    try:
        layouts = list(x)
    except TypeError:
        raise ValueError(
            f"{what} set: expected a folder, a file or a sequence of Layout, not {type(x).__name__}"
        ) from None
    if not all(isinstance(l, Layout) for l in layouts):
        raise ValueError(f"{what} set: expected a folder or a sequence of Layout")
    return layouts, [], f"<{len(layouts)} layouts>"


def _feed_train(ev: Evaluator, options: Options):
    """Give ``options.train`` (a folder, file, reference file or named set) to
    the Evaluator; ``(skipped files, source)``, ``([], None)`` without one."""
    train = options.train
    if train is None:
        return [], None
    if is_reference(train):
        ev.load_train_reference(train)
        return [], str(train)
    T, skipped, src = _load(train, "training", options)
    if not T:
        raise ValueError("training set: no layouts")
    ev.update_train(T)
    return skipped, src


def compare(real, synth, options: Options | None = None, **kwargs: Any) -> Report:
    """Compare a real and a synthetic set of cell layouts.

    ``real``: a folder or file (read with :func:`topofd.layouts.sets.read_layouts`),
    a sequence of :class:`Layout`, a reference file made by ``topofd stats``
    (``*.topofd``) or a named reference set (``"brca-m2c:test"``, see
    :func:`topofd.storage.reference.names`); ``synth``: a folder, file or
    sequence of :class:`Layout`.  ``train`` (an option): the generator's
    training layouts, for the memorisation metrics ``ct`` and ``near_copies``
    (added to the default metrics when given; ``real`` is then the held-out
    set and must differ from it).

    Options: an :class:`~topofd.options.Options`, and/or any of its fields
    as keywords (``metrics``, ``protocol``, ``complex``, ``n_jobs``,
    ``seed``, ``uncertainty``, the reader options ``format``, ``classes``,
    ``canvas``, …; ``help(topofd.Options)`` or ``topofd compare --help``
    lists them with their defaults).  List options take a sequence or one
    comma-separated string.

    Metrics (default: all registered, :mod:`topofd.metrics`): ``topofd``
    (TopoCellGen Eqs. 11–12), ``topokd`` (the recommended kernel distance of
    landscapes), ``mmd`` (W1 Gaussian-kernel MMD²), ``counts`` (CCE per class
    and TCE; they need paired names — by default skipped with a note when
    names do not pair, an error only when asked for explicitly).  Every
    score comes with a standard error and a 95 % interval over another draw
    of the synthetic set, real set fixed (:mod:`topofd.stats.uncertainty`).
    Results depend only on the inputs and ``seed``, never on ``n_jobs``.
    """
    t0 = time.perf_counter()
    opts = Options.from_kwargs(options, **kwargs)
    start_workers(opts.n_jobs)
    ev = Evaluator(opts)
    if is_reference(real):
        ev.load_reference(real)
        skipped_r, src_r = [], str(real)
    else:
        R, skipped_r, src_r = _load(real, "real", opts)
        if not R:
            raise ValueError("real set: no layouts")
        ev.update(R, real=True)
    skipped_t, src_t = _feed_train(ev, opts)
    S, skipped_s, src_s = _load(synth, "synthetic", opts)
    if not S:
        raise ValueError("synthetic set: no layouts")
    ev.update(S, real=False)
    report = ev.compute()
    wait_workers()  # when nothing ran in parallel
    m = report.meta
    m["notes"] += duplicate_notes([*(R if not is_reference(real) else []), *S])
    skipped = [*skipped_r, *skipped_s, *skipped_t]
    if src_t is not None:
        m["train"] = src_t
    m.update(
        real=src_r,
        synthetic=src_s,
        skipped=skipped,
        cache={"dir": str(opts.cache_dir), "hits": ev.cache.hits, "misses": ev.cache.misses}
        if opts.cache_dir
        else None,
    )
    bad = [x for x in skipped if getattr(x, "unreadable", True)]
    if bad:
        m["notes"].append(f"skipped {len(bad)} unreadable files")
    if len(bad) < len(skipped):
        m["notes"].append(f"skipped {len(skipped) - len(bad)} files that are not layouts (listed in meta.skipped)")
    m["seconds"] = time.perf_counter() - t0
    return report


compare.__signature__ = signature_with_options(["real", "synth"], {n: d for n, _, d in all_specs()})  # type: ignore[attr-defined]

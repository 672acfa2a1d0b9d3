"""Shared test helpers: scoring diagrams through the shipped pipeline."""
from __future__ import annotations

import numpy as np
import pytest

import topofd
from topofd import Layout


def score_diagrams(real, synth, metric: str, column: str | None = None, **options) -> float:
    """One class's ``metric`` between two lists of H1 diagrams, computed by
    the same Evaluator and plug-in that ``topofd compare`` runs (layouts
    given by their diagrams, unpaired, no interval unless asked)."""
    options.setdefault("uncertainty", False)
    ev = topofd.Evaluator(metrics=(metric,), pairing="none", use_bundled=False, **options)
    ev.update_diagrams([[np.asarray(d, float).reshape(-1, 2)] for d in real], np.ones((len(real), 1)), real=True)
    ev.update_diagrams([[np.asarray(d, float).reshape(-1, 2)] for d in synth], np.ones((len(synth), 1)), real=False)
    rep = ev.compute()
    score_diagrams.last_report = rep
    return float(rep.table.loc["class1", column or metric])


@pytest.fixture
def scorer():
    return score_diagrams


def random_layouts(
    n, seed, classes=("a", "b"), *, cells=(8, 20), fixed=None, low=0.0, high=60.0, shape=(64, 64),
    name="l{i:03d}", suffix="",
) -> list[Layout]:
    """``n`` layouts of uniform random points, the test sets of many files.

    ``seed``: an int, or a ``numpy`` Generator to go on drawing from.  Each
    class of each layout draws its cell count from ``rng.integers(*cells)``
    then its points from ``rng.uniform(low, high)``; ``fixed`` (one count, or
    one per class) draws no count.  ``name`` is formatted with ``i``; ``suffix``
    follows it."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if fixed is not None:
        fixed = [fixed] * len(classes) if np.ndim(fixed) == 0 else list(fixed)
    out = []
    for i in range(n):
        pts = tuple(
            rng.uniform(low, high, size=(int(rng.integers(*cells)) if fixed is None else fixed[k], 2))
            for k in range(len(classes))
        )
        out.append(Layout(pts, tuple(classes), tuple(shape), name.format(i=i) + suffix))
    return out


def layout_folder(d, layouts):
    """``layouts`` saved as published-format ``NAME.npy`` files in folder ``d``."""
    d.mkdir(parents=True, exist_ok=True)
    for lay in layouts:
        np.save(d / f"{lay.name}.npy", lay.to_array())
    return d


def benchmark_module(name: str):
    """Module ``benchmarks.<name>`` of the repository, imported without
    changing ``sys.path`` (the package is found by its file)."""
    import importlib
    import importlib.util
    import sys
    from pathlib import Path

    if "benchmarks" not in sys.modules:
        init = Path(__file__).resolve().parents[1] / "benchmarks" / "__init__.py"
        spec = importlib.util.spec_from_file_location("benchmarks", init, submodule_search_locations=[str(init.parent)])
        pkg = importlib.util.module_from_spec(spec)
        sys.modules["benchmarks"] = pkg
        spec.loader.exec_module(pkg)
    return importlib.import_module(f"benchmarks.{name}")

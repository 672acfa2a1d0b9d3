"""Shared test helpers: scoring diagrams through the shipped pipeline."""
from __future__ import annotations

import numpy as np
import pytest

import topofd


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


def benchmark_module(name: str):
    """A script of ``benchmarks/`` loaded as a module (no ``sys.path`` change)."""
    import importlib.util
    import sys
    from pathlib import Path

    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(mod)
    return mod

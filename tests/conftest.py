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

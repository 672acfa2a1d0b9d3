"""The fidelity plug-ins' per-layout features as the fidelity benchmarks read
them (``benchmarks.fidelity``, ``benchmarks.fidelity_draws``)."""

from __future__ import annotations

import topofd
from topofd.metrics.embedding import fidelity_features, layout_features
from topofd.metrics.manifold import manifold_scores


def cell_view(S, cache):
    """``S`` as a real set's view with its cells kept (a fidelity plug-in selected)."""
    ev = topofd.Evaluator(metrics="topokd,precision", pairing="none", cache_dir=cache)
    ev.update(S, real=True)
    return ev.real_view()


def k_sweep(real, synth: dict, names, ks=(5, 10, 20, 50), cache=None) -> dict:
    """Precision / recall / density / coverage at several k (no intervals),
    through the public per-layout features of the plug-ins (:func:`fidelity_features`)."""
    out = {}
    R = cell_view(real, cache)
    for name in names:
        (Fr, Fs), _, _ = fidelity_features(R, cell_view(synth[name], cache))
        out[name] = {k: {s: v[0] for s, v in manifold_scores(Fr, Fs, k).items()} for k in ks}
    return out


FEATURE_SPACES = ("H1 (before)", "H1 + H0", "H0 only (default)")


def space_features(R, V, space: str, *more):
    """The rows of ``R``, ``V`` (and ``more``) in one of :data:`FEATURE_SPACES`."""
    h1, h0 = space != "H0 only (default)", space != "H1 (before)"
    return layout_features(R, V, *more, h1=h1, h0=h0)

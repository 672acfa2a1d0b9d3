"""The real set's ``paper`` statistics (barycenter landscape and covariance,
TopoCellGen Eq. 11) as a metric plug-in sees them: from a loaded reference
file, the cache, or computed — one :class:`RealPaperStats` per
``Evaluator.compute`` (the :class:`topofd.metrics.base.PaperStatsSource` of
its context)."""

from __future__ import annotations

from topofd.state import SetView
from topofd.storage.cache import Cache
from topofd.storage.keys import stats_key
from topofd.storage.reference import Reference
from topofd.tda.summaries import LandscapeStats, landscape_stats

__all__ = ["RealPaperStats"]


class RealPaperStats:
    """``source(k)``: class ``k``'s statistics (computed and cached when
    neither the reference nor the cache holds them); ``known(k)``: only what
    they hold; ``keep(k, stats)``: cache statistics computed elsewhere (the
    TopoFD plug-in's parallel batch)."""

    def __init__(self, options, reference: Reference | None, cache: Cache, real: SetView):
        self.options, self.reference, self.cache, self.real = options, reference, cache, real

    def _key(self, k: int) -> str:
        o = self.options
        return stats_key(self.real.keys, "paper", k, o.n_bins, o.n_layers)

    def known(self, k: int) -> LandscapeStats | None:
        o = self.options
        if self.reference is not None:
            s = self.reference.stats.get(("paper", k, o.n_bins, o.n_layers))
            if s is not None:
                return s
        return self.cache.get_stats(self._key(k))

    def keep(self, k: int, stats: LandscapeStats) -> None:
        self.cache.put_stats(self._key(k), stats)

    def __call__(self, k: int) -> LandscapeStats:
        s = self.known(k)
        if s is None:
            o = self.options
            s = landscape_stats(
                self.real.cls(k),
                "paper",
                n_bins=o.n_bins,
                n_layers=o.n_layers,
                what=f"class {k} (real)",
                n_threads=o.n_jobs,
            )
            self.keep(k, s)
        return s

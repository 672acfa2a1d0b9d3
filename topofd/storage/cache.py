"""On-disk cache of per-layout diagrams and per-set landscape statistics.

Entries are keyed by content (layout coordinates) plus every option that
changes the value, so a changed file simply misses; scoring many synthetic
sets against one real set computes the real side once.  Entries are
``.npz`` arrays read with ``allow_pickle=False`` (:mod:`topofd.storage.arrays`): a
cache folder may be shared, and reading it must never run code.  Entries
that cannot be read are treated as misses.

The bundled reference sets (:mod:`topofd.storage.reference`) answer as read-only
entries: their diagrams by layout key, their statistics by statistics key,
so a folder holding exactly the bundled BRCA-M2C test patches is scored
without recomputing its side.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from topofd.storage.arrays import load_npz, pack_diagrams, save_npz, unpack_diagrams

__all__ = ["Cache"]


class Cache:
    """A folder of ``.npz`` entries, one file per key; ``None`` folder = no
    writable cache (the bundled reference sets are still consulted)."""

    def __init__(self, folder: str | os.PathLike | None, bundled: bool = True):
        self.bundled = bundled
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise ValueError(f"{self.folder}: cannot create cache folder ({e.strerror})") from None
            if not os.access(self.folder, os.W_OK | os.X_OK):
                raise ValueError(f"{self.folder}: cache folder is not writable")
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        assert self.folder is not None, "no cache folder"
        return self.folder / key[:2] / f"{key}.npz"

    def _read(self, key: str):
        if self.folder is None:
            return None
        try:
            return load_npz(self._path(key))
        except ValueError:
            return None

    def _write(self, key: str, arrays: dict, meta: dict) -> None:
        if self.folder is None:
            return
        p = self._path(key)
        p.parent.mkdir(exist_ok=True)
        save_npz(p, arrays, meta, fsync=False)  # a torn entry fails load_npz and is recomputed

    def _count(self, value):
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    # ---------------------------------------------------------- diagrams
    def get_diagrams(self, key: str):
        """Per-class H1 diagrams of one layout, or ``None``."""
        got = self._read(key)
        if got is not None and got[1].get("kind") == "diagrams":
            a = got[0]
            try:
                return self._count(unpack_diagrams(a["points"], a["sizes"])[0])
            except (KeyError, ValueError, IndexError):
                pass
        if self.bundled:
            from topofd.storage.reference import bundled_diagrams

            d = bundled_diagrams(key)
            if d is not None:
                return self._count(d)
        return self._count(None)

    def put_diagrams(self, key: str, diagrams) -> None:
        pts, sizes = pack_diagrams([diagrams])
        self._write(key, {"points": pts, "sizes": sizes}, {"kind": "diagrams"})

    # -------------------------------------------------------- statistics
    def get_stats(self, key: str):
        """Landscape statistics of one class of a set, or ``None``."""
        from topofd.tda.summaries import LandscapeStats

        got = self._read(key)
        if got is not None and got[1].get("kind") == "stats":
            a = got[0]
            try:
                note = got[1].get("note")  # entries written before notes existed have none
                return self._count(
                    LandscapeStats(
                        a["mu"],
                        a["sigma"],
                        int(a["n"]),
                        a["barycenter"],
                        a["mu_x"],
                        note if isinstance(note, str) else None,
                    )
                )
            except KeyError:
                pass
        if self.bundled:
            from topofd.storage.reference import bundled_stats

            s = bundled_stats(key)
            if s is not None:
                return self._count(s)
        return self._count(None)

    def put_stats(self, key: str, s) -> None:
        empty = np.zeros((0, 2))
        self._write(
            key,
            {
                "mu": s.mu,
                "sigma": s.sigma,
                "n": np.int64(s.n),
                "barycenter": s.barycenter if s.barycenter is not None else empty,
                "mu_x": s.mu_x if s.mu_x is not None else np.zeros(0),
            },
            {"kind": "stats"} if getattr(s, "note", None) is None else {"kind": "stats", "note": s.note},
        )

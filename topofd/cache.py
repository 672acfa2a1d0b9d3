"""On-disk cache of per-layout diagrams and per-set landscape statistics.

Entries are keyed by content (file bytes or layout coordinates) plus every
option that changes the value, so a changed file simply misses; scoring many
synthetic sets against one real set computes the real side once.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

__all__ = ["Cache", "digest"]


def digest(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, (bytes, bytearray, memoryview)):
            h.update(bytes(p))
        else:
            h.update(repr(p).encode())
        h.update(b"\x00")
    return h.hexdigest()


# Read-only entries shipped with the package: the real-side statistics of the
# bundled BRCA-M2C test protocol (what torch-fidelity calls cached reference
# statistics).  Keys are content digests, so they only ever answer for exactly
# those 1,550 layouts under exactly those options.
BUNDLED = Path(__file__).parent / "data" / "cache"


class Cache:
    """A folder of pickled values, one file per key; ``None`` folder = no
    writable cache (the bundled read-only entries are still consulted)."""

    def __init__(self, folder: str | os.PathLike | None, bundled: bool = True):
        self.bundled = BUNDLED if bundled else None
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise ValueError(f"{self.folder}: cannot create cache folder ({e.strerror})") from None
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _path_in(root: Path, key: str) -> Path:
        return root / key[:2] / f"{key}.pkl"

    def _path(self, key: str) -> Path:
        return self._path_in(self.folder, key)

    def get(self, key: str):
        for root in (self.folder, self.bundled):
            if root is None:
                continue
            try:
                with open(self._path_in(root, key), "rb") as fh:
                    value = pickle.load(fh)
            except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError):
                continue
            self.hits += 1
            return value
        self.misses += 1
        return None

    def put(self, key: str, value) -> None:
        if self.folder is None:
            return
        p = self._path(key)
        p.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, p)

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


class Cache:
    """A folder of pickled values, one file per key; ``None`` folder = no cache."""

    def __init__(self, folder: str | os.PathLike | None):
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise ValueError(f"{self.folder}: cannot create cache folder ({e.strerror})") from None
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pkl"

    def get(self, key: str):
        if self.folder is None:
            return None
        p = self._path(key)
        try:
            with open(p, "rb") as fh:
                value = pickle.load(fh)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, value) -> None:
        if self.folder is None:
            return
        p = self._path(key)
        p.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, p)

"""Layout arrays in ``.npy`` / ``.npz``: ``(H, W, C)`` channels-last (the
published format) or ``(C, H, W)``; binary or instance-labelled."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..layout import Layout

SUFFIXES = (".npy", ".npz")


def read(path: str | Path, classes=None, *, channels: str = "auto", threshold=None) -> Layout:
    path = Path(path)
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.keys())
                if not keys:
                    raise ValueError(f"{path}: empty .npz archive")
                arr = z["layout"] if "layout" in keys else z[keys[0]]
        else:
            arr = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise ValueError(f"{path}: not a readable numpy array ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: corrupt or unreadable numpy file ({e.__class__.__name__})") from None
    return Layout.from_array(arr, classes, channels=channels, threshold=threshold, name=path.stem, source=str(path))

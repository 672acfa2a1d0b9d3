"""Layout arrays in ``.npy`` / ``.npz`` (suffix in any case): ``(H, W, C)``
channels-last (the published format) or ``(C, H, W)``.

Values are read by :meth:`Layout.from_array`: binary masks by default (0/1,
0/255, 0/k or bool per channel), instance-label maps with
``labels="instance"``, grey levels with ``threshold``.  In an ``.npz`` the
array named ``layout`` is read, else the first one.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from topofd.layouts.layout import Layout

SUFFIXES = (".npy", ".npz")


def read(path: str | Path, classes=None, *, channels: str = "auto", threshold=None, labels: str = "mask") -> Layout:
    path = Path(path)
    try:
        # np.load tells a .npy from an .npz by content, whatever the suffix says
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded as z:
                keys = list(z.keys())
                if not keys:
                    raise ValueError("empty .npz archive")
                arr = z["layout"] if "layout" in keys else z[keys[0]]
        else:
            arr = loaded
    except ValueError as e:
        raise ValueError(f"{path}: not a readable numpy array ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: corrupt or unreadable numpy file ({e.__class__.__name__})") from None
    except MemoryError:
        raise ValueError(f"{path}: array too large to load (corrupt header?)") from None
    return Layout.from_array(
        arr, classes, channels=channels, threshold=threshold, labels=labels, name=path.stem, source=str(path)
    )

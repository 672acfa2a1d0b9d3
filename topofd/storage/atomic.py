"""Writing output files: checked before any computation, written under a
temporary name in the same folder and renamed, so that a failed or
interrupted run leaves nothing half-written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from topofd.errors import DataError

__all__ = ["check_writable_file", "check_writable_dir", "atomic_write", "atomic_write_bytes", "atomic_save_npy"]


def check_writable_file(path: Path | None, what: str) -> None:
    """Fail before any computation when an output file cannot be written."""
    if path is None:
        return
    if path.is_dir():
        raise DataError(f"{path}: {what} is a folder, expected a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise DataError(f"{path}: cannot write {what} (folder {parent} does not exist)")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise DataError(f"{path}: cannot write {what} (permission denied)")


def check_writable_dir(path: Path | None, what: str) -> None:
    if path is None:
        return
    if path.exists() and not path.is_dir():
        raise DataError(f"{path}: {what} exists and is not a folder")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise DataError(f"{path}: cannot write {what} (permission denied)")


def _new_file_mode(path: Path) -> int:
    """The mode of the file ``path`` replaces, or 0666 less the umask like any
    new file (mkstemp's own 0600 would hide outputs from other users)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object], *, fsync: bool = True) -> None:
    """The one way topofd (and its generator) writes a file: ``write(fh)``
    fills a temporary file beside ``path`` (binary, opened for writing),
    which is then renamed over ``path``, so that a failed or interrupted
    write never leaves a half-written file, and readers see the old file or
    the new one.

    A symbolic link is written through (its target is replaced, the link
    kept).  The file gets the mode of the file it replaces, or 0666 less the
    umask for a new one.  ``fsync``: flush the data to disk before the rename
    (a crash then cannot leave an empty file under the final name); off only
    for files that are checked when read and cheap to redo (cache entries).
    On any exception the temporary file is removed and the exception raised.
    """
    target = Path(os.path.realpath(path))
    mode = _new_file_mode(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with :func:`atomic_write`."""
    atomic_write(path, lambda fh: fh.write(data))


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    """``np.save`` to ``path`` with :func:`atomic_write`."""
    atomic_write(path, lambda fh: np.save(fh, array))

"""Writing output files: checked before any computation, written under a
temporary name in the same folder and renamed, so that a failed or
interrupted run leaves nothing half-written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from topofd.errors import DataError

__all__ = ["check_writable_file", "check_writable_dir", "atomic_write_bytes", "atomic_save_npy"]


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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` under a temporary name beside the file, then rename.
    A symlink is written through (its target is replaced, the link kept);
    the file gets the mode of the file it replaces, or 0666 less the umask
    like any new file (mkstemp's own 0600 would hide reports from others)."""
    path = Path(os.path.realpath(path))
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    """``np.save`` under a temporary name in the same folder, then rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.save(fh, array)
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise

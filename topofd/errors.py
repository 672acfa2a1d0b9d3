"""The error a data problem raises: one line for the user, no traceback.

The library raises :class:`DataError` (a ``ValueError``) for problems with
the data or the file system; ``topofd.cli`` prints it as one line with exit
status 1.  The library never imports click.
"""

from __future__ import annotations

__all__ = ["DataError", "one_line"]


class DataError(ValueError):
    """A problem with the data or the file system (exit status 1 on the command line)."""


def one_line(e: BaseException) -> str:
    """The message of ``e`` on one line, naming the file of an ``OSError``."""
    msg = " ".join(str(e).split()) or e.__class__.__name__
    if isinstance(e, OSError) and e.filename and str(e.filename) not in msg:
        msg = f"{e.filename}: {msg}"
    return msg

"""How the command lines report problems: one line on stderr, no traceback.

Exit status 1 for a data error (unreadable or corrupt file, empty folder, no
pairs, class mismatch, unwritable output), 2 for a usage error (click's
own), 130 on Ctrl-C.  ``TOPOFD_DEBUG=1`` re-raises with the traceback.
"""
from __future__ import annotations

import functools
import os

import click

__all__ = ["DataError", "one_line", "data_errors"]


class DataError(click.ClickException):
    """A problem with the data or the file system: exit 1, one line."""

    exit_code = 1

    def show(self, file=None):
        click.echo(f"topofd: error: {self.format_message()}", err=True)


def one_line(e: BaseException) -> str:
    msg = " ".join(str(e).split()) or e.__class__.__name__
    if isinstance(e, OSError) and e.filename and str(e.filename) not in msg:
        msg = f"{e.filename}: {msg}"
    return msg


def data_errors(f):
    """Turn ``ValueError``/``OSError`` raised by the data into :class:`DataError`,
    and Ctrl-C into exit status 130 with one line."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            if os.environ.get("TOPOFD_DEBUG"):
                raise
            click.echo("topofd: interrupted", err=True)
            raise SystemExit(130) from None
        except (ValueError, OSError, RecursionError, MemoryError) as e:
            if os.environ.get("TOPOFD_DEBUG"):
                raise
            raise DataError(one_line(e)) from None

    return wrapper

"""Readers: one module per file format, each producing :class:`topofd.Layout`.

A reader's ``read`` raises :class:`NotLayoutFile` (a ``ValueError``) for a
file that is not a layout of its format at all (a ``README.txt``, a
``run_config.json``, topofd's own ``report.csv``), and a plain
``ValueError`` for a layout file it cannot read; the folder reader
(:func:`topofd.layouts.sets.read_layouts`) skips and lists the former and stops on the
latter (unless ``skip_bad``).
"""


class NotLayoutFile(ValueError):
    """The file is not a layout file of the reader's format (the message says why)."""


def load_json(path, what: str = "JSON") -> object:
    """The parsed content of a JSON file; a one-line ``ValueError`` naming
    ``path`` when it cannot be read, is not JSON, or is too deep or large
    for the parser (``what``: how the nesting message names the format)."""
    import json
    from pathlib import Path

    path = Path(path)
    try:
        return json.loads(path.read_bytes())
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply{'' if what == 'JSON' else f' to be {what}'}") from None
    except MemoryError:
        raise ValueError(f"{path}: JSON too large to load") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError
        raise ValueError(f"{path}: corrupt or unreadable JSON ({e.__class__.__name__})") from None

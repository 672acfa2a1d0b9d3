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

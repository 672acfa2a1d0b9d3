"""``topofd``: the command line — the only part of topofd that imports click.

Each command's computation flags come from :class:`topofd.options.Options`
(:func:`topofd.cli.common.table_options`), so the CLI and the Python API
take the same options with the same defaults.  Output files are written
under a temporary name and renamed: an interrupted or failed run leaves none
half-written.
"""

from __future__ import annotations

from topofd.cli.compare import compare, refs, stats
from topofd.cli.datasets import baseline, demo, patches
from topofd.cli.encoder import train_encoder_command
from topofd.cli.group import cli
from topofd.cli.leaderboard import leaderboard

for _command in (compare, stats, refs, patches, baseline, demo, leaderboard, train_encoder_command):
    cli.add_command(_command)

__all__ = ["cli", "main"]


def main(argv=None) -> None:
    """Console-script entry point (``topofd``)."""
    cli.main(args=argv, prog_name="topofd")

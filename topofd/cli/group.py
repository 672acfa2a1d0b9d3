"""The ``topofd`` command group (its commands live beside it)."""

from __future__ import annotations

import click

from topofd.version import __version__

__all__ = ["cli"]


@click.group(name="topofd", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="topofd")
def cli():
    """Topological evaluation of generated multi-class cell layouts.

    \b
    topofd compare REAL SYNTH     score a synthetic set against a real one (value ± se)
    topofd stats REAL --out F     precompute a real set once (a .topofd reference file)
    topofd refs                   named reference sets shipped with topofd
    topofd patches LABELS ...     the paper's 256x256 / stride-32 patch protocol
    topofd baseline KIND REAL     matched-count reference sets (random/jitter/shuffle)
    topofd demo                   the whole thing on the bundled BRCA-M2C test split
    topofd leaderboard R.json...  rank compare reports in the paper's Table 1 layout
    topofd train-encoder DIR ...  a layout encoder for --metrics fid (needs torch)

    Run `topofd COMMAND --help` for a command's options.
    """

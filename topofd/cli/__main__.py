"""``python -m topofd.cli``: the ``topofd`` command."""

from topofd.cli import main

main()

"""TopoCellGen reference generator (needs the ``topofd[generator]`` extra: torch)."""

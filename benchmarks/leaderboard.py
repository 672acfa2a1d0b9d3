"""Leaderboard from JSON reports: ``python -m benchmarks.leaderboard RESULT.json ... [--md FILE] [--csv FILE]``.

The same command as ``topofd leaderboard`` (see :mod:`topofd.output.leaderboard`).
"""
from topofd.cli.leaderboard import leaderboard

if __name__ == "__main__":
    leaderboard(prog_name="python -m benchmarks.leaderboard")

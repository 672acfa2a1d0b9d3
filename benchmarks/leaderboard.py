"""Leaderboard from JSON reports: ``python benchmarks/leaderboard.py RESULT.json ... [--md FILE] [--csv FILE]``.

The same command as ``topofd leaderboard`` (see :mod:`topofd.output.leaderboard`).
"""
from topofd.output.leaderboard import leaderboard_command

if __name__ == "__main__":
    leaderboard_command(prog_name="leaderboard.py")

"""Output: the Report and its text table, the one-file HTML report,
figures and the leaderboard."""

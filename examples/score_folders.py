"""Score a folder of synthetic layouts against real ones and save the report.

    python examples/score_folders.py REAL_DIR SYNTH_DIR report.json
"""
import json
import sys

import topofd

real, synth, out = sys.argv[1:4]
report = topofd.compare(real, synth, classes=["lym", "epi", "stro"], n_jobs=2, mmd_samples=300)
print(report)
with open(out, "w") as fh:
    json.dump(report.to_dict(), fh, indent=2)

#!/usr/bin/env bash
# One command for the generator's GPU run (issue 11): benchmarks/gpu_run.py's
# stages, repeated until all are done.  On a machine without a per-command
# limit this runs everything (~40 minutes on one H200); under a 10-minute
# command limit pass --once and call it again while it exits 75.
#
#   bash benchmarks/gpu_run.sh --data ../shared/datasets/brca-m2c --work runs/gpu_run
#   bash benchmarks/gpu_run.sh --once --data DIR --work runs/gpu_run --json "$OUT/gpu_run.json"
#   bash benchmarks/gpu_run.sh --smoke --work /tmp/gpu_smoke      # CPU check, < 1 minute
set -uo pipefail
cd "$(dirname "$0")/.."
# The benchmarks package from a folder of its own, and no source folder first
# on the import path (PYTHONSAFEPATH): topofd must be the installed package,
# where topofd.generator exists; the source tree has only generator/.
PKG=$(mktemp -d)
trap 'rm -rf "$PKG"' EXIT
ln -s "$PWD/benchmarks" "$PKG/benchmarks"
export PYTHONSAFEPATH=1 PYTHONPATH="$PKG${PYTHONPATH:+:$PYTHONPATH}"
once=0
args=()
for a in "$@"; do
    if [ "$a" = "--once" ]; then once=1; else args+=("$a"); fi
done
while :; do
    python -m benchmarks.gpu_run "${args[@]}"
    rc=$?
    if [ $rc -ne 75 ] || [ $once -eq 1 ]; then exit $rc; fi
done

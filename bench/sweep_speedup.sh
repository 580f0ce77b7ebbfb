#!/usr/bin/env bash
# Wall time of a sweep with --jobs 1 and --jobs N (default 2), and the speedup: the figure
# in docs/sweeps.md. Prints figures, asserts nothing.
#   bench/sweep_speedup.sh [SPEC] [N] [EDGESIM]
# SPEC defaults to configs/sweeps/spine-200.json (200 points of the default experiment).
set -euo pipefail
cd "$(dirname "$0")/.."
spec=${1:-configs/sweeps/spine-200.json}
jobs=${2:-2}
edgesim=${3:-build/edgesim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
secs() {  # wall seconds of one sweep into a fresh folder
  local start end
  start=$(date +%s.%N)
  "$edgesim" sweep "$spec" --jobs "$1" --out "$tmp/j$1" >/dev/null
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}
points=$("$edgesim" sweep "$spec" --jobs "$jobs" --out "$tmp/warm" | sed -n 's/^sweep: \([0-9]*\) points.*/\1/p')
t1=$(secs 1)
tn=$(secs "$jobs")
printf 'sweep %s: %s points on %s cores\n' "$spec" "$points" "$(nproc)"
awk -v t1="$t1" -v tn="$tn" -v n="$points" -v j="$jobs" 'BEGIN {
  printf "  --jobs 1   %7.2f s  (%.1f ms per point)\n", t1, 1000 * t1 / n
  printf "  --jobs %-3d %7.2f s  (%.1f ms per point)\n", j, tn, 1000 * tn / n
  printf "  speedup    %7.2fx\n", t1 / tn
}'

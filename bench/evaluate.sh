#!/usr/bin/env bash
# Evaluation throughput and latency of one edge on one core, side by side with the
# edge's own /healthz (what hyper and the router cost on that core): a release control
# plane and edge on loopback, project `bench` with FLAGS flags, single-flag and
# all-flags requests. The edge is pinned to CPU 0; wrk (one thread) and the control
# plane to CPU 1. Figures go to docs/performance.md.
#
# Usage: bench/evaluate.sh [duration, default 20s] [connections, default 64] [flags, default 350]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20s}
connections=${2:-64}
flags=${3:-350}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
source bench/lib.sh

build_release
CONTROL_PLANE_CPU=1 start_control_plane "$flags"
EDGE_CPU=0 start_edge 18090 http://127.0.0.1:18080

results=$(mktemp)
measure() {
  local name=$1
  shift
  echo "== $name (${duration}, ${connections} connections, edge on CPU 0, wrk on CPU 1)"
  taskset -c 1 wrk --latency -t 1 -c "$connections" -d "$duration" "$@" | tee "$results.run"
  printf '%s\t%s\n' "$name" "$(awk '/^Requests\/sec:/ { print $2 }' "$results.run")" >> "$results"
}
measure "GET /healthz" http://127.0.0.1:18090/healthz
measure "one flag" -s bench/evaluate.lua \
  http://127.0.0.1:18090/api/v1/evaluate/bench/production/flag-00005 -- "$SDK_KEY"
measure "all ${flags} flags" -s bench/evaluate.lua \
  http://127.0.0.1:18090/api/v1/evaluate/bench/production -- "$SDK_KEY"
echo "== requests/s, and as a share of /healthz on the same core"
awk -F'\t' 'NR == 1 { base = $2 } { printf "%-16s %10.0f  %5.1f %%\n", $1, $2, 100 * $2 / base }' "$results"
echo "== edge RSS: $(rss_kib 18090) KiB"
rm -f "$results" "$results.run"

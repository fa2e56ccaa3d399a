#!/usr/bin/env bash
# Evaluation throughput and latency of one edge, measured with wrk on this machine:
# a release control plane and edge on loopback, project `bench` with 350 flags,
# single-flag and all-flags requests. Figures go to docs/performance.md.
#
# Usage: bench/evaluate.sh [duration, default 20s] [connections, default 64]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20s}
connections=${2:-64}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
source bench/lib.sh

build_release
start_control_plane 350
start_edge 18090 http://127.0.0.1:18080

for path in bench/production/flag-00005 bench/production; do
  echo "== POST /api/v1/evaluate/${path} (${duration}, ${connections} connections)"
  wrk --latency -t 2 -c "$connections" -d "$duration" -s bench/evaluate.lua \
    "http://127.0.0.1:18090/api/v1/evaluate/${path}" -- "$SDK_KEY"
done
echo "== edge RSS: $(rss_kib 18090) KiB"

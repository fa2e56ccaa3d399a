#!/usr/bin/env bash
# Instructions an edge executes per evaluation request, counted by callgrind: exact and
# repeatable on a shared machine whose timings swing by a fifth, so small differences
# between two builds show. Each edge binary serves N and then 2N requests (/healthz for
# reference, one flag, and all 350 flags; bench/requests.py, a different user each time); the difference over N
# is the cost of one request, start-up and shutdown cancelled out. User space only: the
# kernel's part of sending answers is not counted. Heartbeats, usage reports and polls
# are put off for the run: each would add thousands of instructions to one count only.
#
# Usage: bench/instructions.sh [N, default 1000] [edge binary ...]
# Default binary: this tree's release edge. Give two to compare builds.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
shift || true
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 1; }
source bench/lib.sh
build_release
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=(target/release/togglerino-edge)
CONTROL_PLANE_CPU=1 start_control_plane 350

count() {
  local binary=$1 path=$2 requests=$3 out="$bench_work/callgrind.out"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$binary" \
    --upstream-url http://127.0.0.1:18080 --edge-token "$EDGE_TOKEN" --listen 127.0.0.1:18091 \
    --heartbeat-interval 60m --usage-interval 60m --poll-interval 60m \
    > "$bench_work/valgrind.log" 2>&1 &
  local pid=$!
  until curl -sf http://127.0.0.1:18091/readyz >/dev/null; do sleep 0.5; done
  python3 bench/requests.py 18091 "$SDK_KEY" "$path" "$requests"
  kill -TERM $pid
  wait $pid || true
  awk '/^summary:/ { print $2 }' "$out"
}

echo "== instructions per request (callgrind, ${n} vs $((2 * n)) requests)"
for binary in "${binaries[@]}"; do
  for what in "/healthz:/healthz" "one flag:/api/v1/evaluate/bench/production/flag-00005" "all 350 flags:/api/v1/evaluate/bench/production"; do
    name=${what%%:*}
    path=${what#*:}
    once=$(count "$binary" "$path" "$n")
    twice=$(count "$binary" "$path" $((2 * n)))
    printf '%-40s %-14s %10d\n' "$binary" "$name" $(((twice - once) / n))
  done
done

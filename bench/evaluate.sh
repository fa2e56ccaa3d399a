#!/usr/bin/env bash
# Evaluation throughput and latency of one edge on one core, side by side with the
# edge's own /healthz (what hyper and the router cost on that core): a release control
# plane and edge on loopback, project `bench` with FLAGS flags, single-flag and
# all-flags requests. The edge is pinned to CPU 0; wrk (one thread) and the control
# plane to CPU 1. Figures go to docs/performance.md.
#
# A shared virtual machine's speed drifts by a fifth or more within minutes, so the
# three measurements take turns in ROUNDS short slices, each evaluation is set against
# the /healthz slice just before it, and the median of the rounds is reported.
#
# Usage: bench/evaluate.sh [slice, default 4s] [connections, default 64] [flags, default 350]
#        ROUNDS=5 (default); EDGE=path/to/togglerino-edge measures another build
set -euo pipefail
cd "$(dirname "$0")/.."
slice=${1:-4s}
connections=${2:-64}
flags=${3:-350}
rounds=${ROUNDS:-5}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
source bench/lib.sh

build_release
CONTROL_PLANE_CPU=1 start_control_plane "$flags"
EDGE_CPU=0 start_edge 18090 http://127.0.0.1:18080

results=$(mktemp)
# measure NAME WRK-ARGS...: one slice; appends "round name requests/s p99" to $results.
measure() {
  local name=$1
  shift
  taskset -c 1 wrk --latency -t 1 -c "$connections" -d "$slice" "$@" > "$results.run"
  awk -v round="$round" -v name="$name" '
    /^Requests\/sec:/ { rate = $2 }
    / 99%/ { p99 = $2 }
    END { printf "%s\t%s\t%s\t%s\n", round, name, rate, p99 }' "$results.run" >> "$results"
}
for ((round = 1; round <= rounds; round++)); do
  measure healthz http://127.0.0.1:18090/healthz
  measure one -s bench/evaluate.lua \
    http://127.0.0.1:18090/api/v1/evaluate/bench/production/flag-00005 -- "$SDK_KEY"
  measure healthz-again http://127.0.0.1:18090/healthz
  measure all -s bench/evaluate.lua \
    http://127.0.0.1:18090/api/v1/evaluate/bench/production -- "$SDK_KEY"
done
echo "== ${rounds} rounds of ${slice} slices, ${connections} connections, edge on CPU 0, wrk on CPU 1"
printf '%-6s %-14s %10s %10s %8s\n' round what requests/s "of healthz" p99
awk -F'\t' '
  $2 == "healthz" || $2 == "healthz-again" { base = $3 }
  { printf "%-6s %-14s %10.0f %9.1f%% %8s\n", $1, $2, $3, 100 * $3 / base, $4 }' "$results"
echo "== medians over the rounds (each evaluation against the /healthz slice before it)"
awk -F'\t' '
  $2 == "healthz" || $2 == "healthz-again" { base = $3; h[++nh] = $3; next }
  { rate[$2, ++n[$2]] = $3; share[$2, n[$2]] = 100 * $3 / base }
  function median(a, key, count,   i, j, t, v) {
    for (i = 1; i <= count; i++) v[i] = a[key, i]
    for (i = 1; i <= count; i++) for (j = i + 1; j <= count; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return count % 2 ? v[(count + 1) / 2] : (v[count / 2] + v[count / 2 + 1]) / 2
  }
  END {
    for (i = 1; i <= nh; i++) hh["h", i] = h[i]
    printf "/healthz     %10.0f requests/s\n", median(hh, "h", nh)
    printf "one flag     %10.0f requests/s, %5.1f %% of /healthz\n", median(rate, "one", n["one"]), median(share, "one", n["one"])
    printf "all flags    %10.0f requests/s, %5.1f %% of /healthz\n", median(rate, "all", n["all"]), median(share, "all", n["all"])
  }' "$results"
echo "== edge RSS: $(rss_kib 18090) KiB"
rm -f "$results" "$results.run"

#!/usr/bin/env bash
# Toggle-to-client propagation: CLIENTS SDK streams spread over EDGES edges, one toggle
# through the control plane, the delay until each client has its patch; then the
# edges' memory. Figures go to docs/performance.md.
#
# By default every stream is a different user, as browsers and apps are; CONTEXTS=N
# makes N users share the streams. The first edge is pinned to CPU 0 and the load
# generator and the control plane to CPU 1 (PIN=0 to leave scheduling alone). The toggled flag, flag-00004,
# is a 25 % rollout, so its answer depends on the user; it is toggled four times (off,
# on, off, on) and each toggle is reported, then the median and worst p99.
#
# The load generator is bench/sse_load.rs, built as an example of the edge crate;
# SPIN=1 (passed on to it) keeps it from sleeping between events while it measures.
# Usage: bench/propagation.sh [clients, default 10000] [flags, default 350] [edges, default 1]
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-10000}
flags=${2:-350}
edges=${3:-1}
contexts=${CONTEXTS:-0}
flag=${FLAG:-flag-00004}
pin=${PIN:-1}
ulimit -n "$(ulimit -Hn)"
source bench/lib.sh

build_release
if [ "$pin" = 1 ]; then CONTROL_PLANE_CPU=1 start_control_plane "$flags"; else start_control_plane "$flags"; fi
urls=()
for ((i = 0; i < edges; i++)); do
  port=$((18090 + i))
  if [ "$pin" = 1 ] && [ "$i" = 0 ]; then
    EDGE_CPU=0 start_edge "$port" http://127.0.0.1:18080
  else
    start_edge "$port" http://127.0.0.1:18080
  fi
  urls+=("http://127.0.0.1:$port")
done
report_memory() {
  for ((i = 0; i < edges; i++)); do
    echo "   edge :$((18090 + i)): RSS $(rss_kib $((18090 + i))) KiB, peak $(peak_rss_kib $((18090 + i))) KiB"
  done
}
echo "== idle edges with ${flags} flags"
report_memory
generator=(target/release/examples/sse-load http://127.0.0.1:18080 "$SDK_KEY" "$clients" "$contexts" "$flag" "${urls[@]}")
if [ "$pin" = 1 ]; then generator=(taskset -c 1 "${generator[@]}"); fi
"${generator[@]}"
echo "== edges with ${flags} flags after ${clients} streams and the toggle"
report_memory

#!/usr/bin/env bash
# Toggle-to-client propagation: CLIENTS SDK streams spread over two edges, one toggle
# through the control plane, the delay until each client has its patch. Then the edges'
# memory. Figures go to docs/performance.md.
#
# The load generator is bench/sse_load.rs, built as an example of the edge crate.
# Usage: bench/propagation.sh [clients, default 5000] [flags, default 350]
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-5000}
flags=${2:-350}
ulimit -n "$(ulimit -Hn)"
source bench/lib.sh

build_release
start_control_plane "$flags"
start_edge 18090 http://127.0.0.1:18080
start_edge 18091 http://127.0.0.1:18080
echo "== idle edges with ${flags} flags: RSS $(rss_kib 18090) KiB and $(rss_kib 18091) KiB"
target/release/examples/sse-load http://127.0.0.1:18080 "$SDK_KEY" "$clients" \
  http://127.0.0.1:18090 http://127.0.0.1:18091 &
probe=$!
# Memory with every client connected, read while they wait for the toggle.
sleep 20
echo "== edges with ${flags} flags and $((clients / 2)) clients each: RSS $(rss_kib 18090) KiB and $(rss_kib 18091) KiB"
wait "$probe"

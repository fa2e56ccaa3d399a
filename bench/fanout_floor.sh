#!/usr/bin/env bash
# The kernel's floor under the propagation benchmark: CLIENTS loopback connections, one
# chunk written to each in a plain loop on CPU 0, read on CPU 1 (bench/fanout_floor.rs).
# Figures go to docs/performance.md beside bench/propagation.sh's.
#
# Usage: bench/fanout_floor.sh [clients, default 10000]
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-10000}
ulimit -n "$(ulimit -Hn)"
cargo build --release --locked -p togglerino-edge-proxy --example fanout-floor
taskset -c 0 target/release/examples/fanout-floor write "$clients" 18099 &
writer=$!
trap 'kill $writer 2>/dev/null || true' EXIT
sleep 0.5
taskset -c 1 target/release/examples/fanout-floor read "$clients" 18099

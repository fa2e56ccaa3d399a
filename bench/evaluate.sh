#!/usr/bin/env bash
# Evaluation throughput and latency of one edge, measured with wrk on this machine:
# a release control plane and edge on loopback, project `bench` with 350 flags,
# single-flag and all-flags requests. Results go to docs/performance.md by hand.
#
# Usage: bench/evaluate.sh [duration, default 20s] [connections, default 64]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20s}
connections=${2:-64}

command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
./scripts/ensure-postgres
cargo build --release --locked -p togglerino-control-plane -p togglerino-edge-proxy

database=togglerino_bench
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS ${database}" -c "CREATE DATABASE ${database}"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

RUST_LOG=warn target/release/togglerino-control-plane --listen 127.0.0.1:18080 \
  --database-url "postgres://postgres@127.0.0.1:5432/${database}" > "$work/control-plane.log" 2>&1 &
until curl -sf http://127.0.0.1:18080/readyz >/dev/null; do sleep 0.2; done
read -r edge_token sdk_key < <(python3 bench/setup.py http://127.0.0.1:18080 350)

RUST_LOG=warn target/release/togglerino-edge --upstream-url http://127.0.0.1:18080 \
  --edge-token "$edge_token" --listen 127.0.0.1:18090 > "$work/edge.log" 2>&1 &
until curl -sf http://127.0.0.1:18090/readyz >/dev/null; do sleep 0.2; done

for path in bench/production/flag-00005 bench/production; do
  echo "== POST /api/v1/evaluate/${path} (${duration}, ${connections} connections)"
  wrk --latency -t 2 -c "$connections" -d "$duration" -s bench/evaluate.lua \
    "http://127.0.0.1:18090/api/v1/evaluate/${path}" -- "$sdk_key"
done
echo "== edge RSS: $(ps -o rss= -p "$(pgrep -f 'togglerino-edge --upstream-url http://127.0.0.1:18080')") KiB"

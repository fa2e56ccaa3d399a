# Shared by the benchmark scripts: release builds and a control plane with the `bench`
# project on loopback. Source it; it defines start_control_plane and start_edge.

bench_work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$bench_work"' EXIT

build_release() {
  cargo build --release --locked -p togglerino-control-plane -p togglerino-edge-proxy \
    --bins --example sse-load
}

# start_control_plane FLAGS: sets EDGE_TOKEN and SDK_KEY. Pinned to the CPU in
# CONTROL_PLANE_CPU, if set, to keep it off the core an edge is measured on.
start_control_plane() {
  ./scripts/ensure-postgres
  local database=togglerino_bench pin=()
  if [ -n "${CONTROL_PLANE_CPU:-}" ]; then pin=(taskset -c "$CONTROL_PLANE_CPU"); fi
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS ${database}" -c "CREATE DATABASE ${database}" 2>/dev/null
  RUST_LOG=warn "${pin[@]}" target/release/togglerino-control-plane --listen 127.0.0.1:18080 \
    --database-url "postgres://postgres@127.0.0.1:5432/${database}" > "$bench_work/control-plane.log" 2>&1 &
  until curl -sf http://127.0.0.1:18080/readyz >/dev/null; do sleep 0.2; done
  read -r EDGE_TOKEN SDK_KEY < <(python3 bench/setup.py http://127.0.0.1:18080 "$1")
}

# start_edge PORT UPSTREAM: an edge on 127.0.0.1:PORT, waited for until ready; pinned to
# the CPU in EDGE_CPU, if set. At the default log level, as operators run it.
start_edge() {
  local pin=()
  if [ -n "${EDGE_CPU:-}" ]; then pin=(taskset -c "$EDGE_CPU"); fi
  "${pin[@]}" "${EDGE:-target/release/togglerino-edge}" --upstream-url "$2" --edge-token "$EDGE_TOKEN" \
    --listen "127.0.0.1:$1" --max-sse-clients 20000 --max-sse-clients-per-key 20000 > "$bench_work/edge-$1.log" 2>&1 &
  until curl -sf "http://127.0.0.1:$1/readyz" >/dev/null; do sleep 0.2; done
}

# edge_pid PORT: the edge listening on PORT, whatever its binary is called (EDGE=...).
edge_pid() {
  pgrep -f -- "--listen 127.0.0.1:$1( |\$)"
}

# rss_kib PORT: resident memory of the edge listening on PORT.
rss_kib() {
  ps -o rss= -p "$(edge_pid "$1")" | tr -d ' '
}

# peak_rss_kib PORT: the most resident memory the edge on PORT has had.
peak_rss_kib() {
  awk '/^VmHWM:/ { print $2 }' "/proc/$(edge_pid "$1")/status"
}

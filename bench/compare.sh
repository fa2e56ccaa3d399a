#!/usr/bin/env bash
# Two or more edge builds side by side: throughput of /healthz and of one evaluation
# route, each build's edge on CPU 0 in turn, wrk (one thread) and the control plane on
# CPU 1. This machine's speed drifts by a fifth within minutes, so runs of one build
# after another cannot show a 10 % change; here the builds take turns within every
# round, each figure is set against the first build's in the same round, and the
# medians over the rounds are reported.
#
# Usage: bench/compare.sh [one|all] edge-binary edge-binary...
#        ROUNDS=9 SLICE=3s FLAGS=350 (defaults); the first binary is the reference.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:?one or all}
shift
[ $# -ge 2 ] || { echo "give two edge binaries or more" >&2; exit 1; }
rounds=${ROUNDS:-9}
slice=${SLICE:-3s}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
source bench/lib.sh

case $what in
  one) path=/api/v1/evaluate/bench/production/flag-00005 ;;
  all) path=/api/v1/evaluate/bench/production ;;
  *) echo "one or all, not $what" >&2; exit 1 ;;
esac
build_release
CONTROL_PLANE_CPU=1 start_control_plane "${FLAGS:-350}"
port=18100
for binary in "$@"; do
  EDGE_CPU=0 EDGE=$binary start_edge $port http://127.0.0.1:18080
  port=$((port + 1))
done

rate() {
  taskset -c 1 wrk -t 1 -c 64 -d "$slice" "$@" | awk '/^Requests\/sec:/ { print $2 }'
}
results=$bench_work/compare
for ((round = 1; round <= rounds; round++)); do
  port=18100
  for binary in "$@"; do
    healthz=$(rate "http://127.0.0.1:$port/healthz")
    evaluation=$(rate -s bench/evaluate.lua "http://127.0.0.1:$port$path" -- "$SDK_KEY")
    printf '%s\t%s\t%s\t%s\n' "$round" "$binary" "$healthz" "$evaluation" >> "$results"
    port=$((port + 1))
  done
done

echo "== ${rounds} rounds of ${slice} slices, 64 connections, ${FLAGS:-350} flags; evaluation: ${what} ($path)"
python3 - "$results" <<'EOF'
import statistics
import sys

rounds = {}
for line in open(sys.argv[1]):
    number, binary, healthz, evaluation = line.split("\t")
    rounds.setdefault(binary, []).append((float(healthz), float(evaluation)))
reference, *others = rounds
print(f"{'build':44} {'/healthz':>9} {'evaluation':>11} {'of /healthz':>12}")
for binary, runs in rounds.items():
    healthz = statistics.median(h for h, _ in runs)
    evaluation = statistics.median(e for _, e in runs)
    share = statistics.median(100 * e / h for h, e in runs)
    print(f"{binary:44} {healthz:9.0f} {evaluation:11.0f} {share:11.1f}%")
print(f"== against {reference}, round by round (medians)")
for binary in others:
    pairs = list(zip(rounds[binary], rounds[reference]))
    healthz = statistics.median(100 * b[0] / a[0] for b, a in pairs)
    evaluation = [100 * b[1] / a[1] for b, a in pairs]
    print(f"{binary:44} /healthz {healthz:5.1f}%  evaluation {statistics.median(evaluation):5.1f}%"
          f"  (rounds: {' '.join(f'{r:.0f}' for r in evaluation)})")
EOF

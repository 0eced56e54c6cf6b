#!/usr/bin/env bash
# Open-model accuracy: `faultline load --rate R` against nginx for several rates; prints requested
# vs achieved rate (completed requests / run duration), the error in percent, and the schedule's
# late/dropped/unsent counts (how far the connection pool fell behind).
# Usage: bench/loadgen_open_accuracy.sh [DURATION=10s] [CONNECTIONS=200] [THREADS=1] [RATES="1k 10k 25k 50k"]
# One client thread by default: on a 2-vCPU machine with a one-worker nginx, a second client
# thread makes three busy threads on two cores and measures CPU contention, not the generator.
set -euo pipefail
DURATION="${1:-10s}"; CONNECTIONS="${2:-200}"; THREADS="${3:-1}"; RATES="${4:-1k 10k 25k 50k}"
source "$(dirname "$0")/loadgen_common.sh"
echo "nginx workers=$NGINX_WORKERS connections=$CONNECTIONS threads=$THREADS duration=$DURATION"
out="$(mktemp)"
for r in $RATES; do
  "$FAULTLINE" load "$URL" --rate "$r" -t "$THREADS" -c "$CONNECTIONS" --duration "$DURATION" -q --out "$out" 2>/dev/null
  python3 - "$r" "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[2])); req = float(sys.argv[1].replace('k', 'e3'))
got = r['throughput_rps']; s = r['schedule']
print(f"rate {req:>8.0f}: achieved {got:>9.1f} req/s ({(got-req)/req*100:+.2f} %), ok {r['requests']['ok']}, "
      f"late {s['late']}, dropped {s['dropped']}, unsent {s['unsent']}, p99 {r['latency_seconds']['p99']*1e3:.2f} ms, "
      f"cpu-saturated {r['generator']['cpu_saturated_seconds']} s")
PY
done
rm -f "$out"

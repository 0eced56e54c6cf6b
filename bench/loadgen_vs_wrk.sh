#!/usr/bin/env bash
# Max-throughput comparison: wrk and `faultline load` (no --rate/--users: wrk's mode, with the
# CO-corrected histograms on — they always are) against the same nginx, same connections and
# threads, alternating rounds in one run so machine noise hits both alike. Prints each round and
# the medians. Usage: bench/loadgen_vs_wrk.sh [ROUNDS=5] [DURATION=5s] [CONNECTIONS=50] [THREADS=1]
set -euo pipefail
ROUNDS="${1:-5}"; DURATION="${2:-5s}"; CONNECTIONS="${3:-50}"; THREADS="${4:-1}"
source "$(dirname "$0")/loadgen_common.sh"
command -v wrk >/dev/null || { echo "wrk not installed (scripts/install-deps --bench)" >&2; exit 2; }
echo "nginx workers=$NGINX_WORKERS url=$URL connections=$CONNECTIONS threads=$THREADS duration=$DURATION rounds=$ROUNDS"
wrk_rps=(); fl_rps=()
out="$(mktemp)"
for i in $(seq "$ROUNDS"); do
  w=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$URL" | awk '/Requests\/sec/ {print $2}')
  "$FAULTLINE" load "$URL" -t "$THREADS" -c "$CONNECTIONS" --duration "$DURATION" -q --out "$out" --threshold "error_ratio<0.001" 2>/dev/null || { echo "faultline load: errors (see --out)" >&2; exit 1; }
  f=$(python3 -c "import json,sys; print(round(json.load(open('$out'))['throughput_rps'],1))")
  echo "round $i: wrk $w req/s   faultline $f req/s"
  wrk_rps+=("$w"); fl_rps+=("$f")
done
python3 - "${wrk_rps[*]}" "${fl_rps[*]}" <<'PY'
import statistics, sys
w = [float(x) for x in sys.argv[1].split()]; f = [float(x) for x in sys.argv[2].split()]
mw, mf = statistics.median(w), statistics.median(f)
print(f"median: wrk {mw:.0f} req/s, faultline {mf:.0f} req/s, ratio {mf/mw:.2f}x (target >= 1.20x)")
PY
rm -f "$out"

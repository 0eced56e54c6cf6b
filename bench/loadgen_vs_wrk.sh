#!/usr/bin/env bash
# Max-throughput comparison: wrk and `faultline load` (no --rate/--users: wrk's mode, with the
# CO-corrected histograms on — they always are) against the same nginx, same connections and
# threads, alternating rounds in one run so machine noise hits both alike. Prints each round with
# where the CPU went (client user+sys CPU per request, nginx workers' share of one core) and the
# medians. Usage: bench/loadgen_vs_wrk.sh [ROUNDS=5] [DURATION=5s] [CONNECTIONS=50] [THREADS=1]
set -euo pipefail
ROUNDS="${1:-5}"; DURATION="${2:-5s}"; CONNECTIONS="${3:-50}"; THREADS="${4:-1}"
source "$(dirname "$0")/loadgen_common.sh"
command -v wrk >/dev/null || { echo "wrk not installed (scripts/install-deps --bench)" >&2; exit 2; }
echo "nginx workers=$NGINX_WORKERS url=$URL connections=$CONNECTIONS threads=$THREADS duration=$DURATION rounds=$ROUNDS"
wrk_rps=(); fl_rps=()
out="$(mktemp)"; cpu="$(mktemp)"
# CPU seconds (user+sys) used so far by nginx's worker processes.
nginx_cpu() {
  local t=0 p
  for p in $(pgrep -P "$NGINX_PID" || true); do
    t=$(awk -v t="$t" -v hz="$(getconf CLK_TCK)" '{print t + ($14 + $15) / hz}' "/proc/$p/stat")
  done
  echo "$t"
}
# Runs "$@" and prints "<client cpu seconds> <nginx cpu seconds> <wall seconds>" to $cpu.
measure() {
  local n0 n1 s0 s1
  n0=$(nginx_cpu); s0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$cpu.time" "$@"
  n1=$(nginx_cpu); s1=$(date +%s.%N)
  echo "$(awk '{print $1 + $2}' "$cpu.time") $(echo "$n1 - $n0" | bc -l) $(echo "$s1 - $s0" | bc -l)" > "$cpu"
}
split() {  # requests/s -> "client X us/req, nginx Y % of a core"
  awk -v rps="$1" '{dur=$3; printf "client %.2f us CPU/req, nginx %.0f %% of a core", $1 / (rps * dur) * 1e6, $2 / dur * 100}' "$cpu"
}
for i in $(seq "$ROUNDS"); do
  measure wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$URL" > "$out.wrk"
  w=$(awk '/Requests\/sec/ {print $2}' "$out.wrk"); ws=$(split "$w")
  measure "$FAULTLINE" load "$URL" -t "$THREADS" -c "$CONNECTIONS" --duration "$DURATION" -q --out "$out" --threshold "error_ratio<0.001" 2>/dev/null || { echo "faultline load: errors (see --out)" >&2; exit 1; }
  f=$(python3 -c "import json,sys; print(round(json.load(open('$out'))['throughput_rps'],1))"); fs=$(split "$f")
  echo "round $i: wrk $w req/s ($ws)   faultline $f req/s ($fs)"
  wrk_rps+=("$w"); fl_rps+=("$f")
done
python3 - "${wrk_rps[*]}" "${fl_rps[*]}" <<'PY'
import statistics, sys
w = [float(x) for x in sys.argv[1].split()]; f = [float(x) for x in sys.argv[2].split()]
mw, mf = statistics.median(w), statistics.median(f)
print(f"median: wrk {mw:.0f} req/s, faultline {mf:.0f} req/s, ratio {mf/mw:.2f}x (target >= 1.20x)")
PY
rm -f "$out" "$out.wrk" "$cpu" "$cpu.time"

#!/usr/bin/env bash
# Max-throughput comparison: wrk and `faultline load` (no --rate/--users: wrk's mode, with the
# CO-corrected histograms on — they always are) against the same nginx, same connections and
# threads, alternating rounds in one run so machine noise hits both alike. Prints each round with
# where the CPU went (client user+sys CPU per request, nginx workers' share of one core) and the
# medians: requests/s (faultline/wrk) and client CPU per request side by side with its
# faultline/wrk ratio (issue #14's efficiency goal: <= 0.75x).
# Usage: bench/loadgen_vs_wrk.sh [ROUNDS=5] [DURATION=5s] [CONNECTIONS=50] [THREADS=1]
set -euo pipefail
ROUNDS="${1:-5}"; DURATION="${2:-5s}"; CONNECTIONS="${3:-50}"; THREADS="${4:-1}"
source "$(dirname "$0")/loadgen_common.sh"
command -v wrk >/dev/null || { echo "wrk not installed (scripts/install-deps --bench)" >&2; exit 2; }
echo "nginx workers=$NGINX_WORKERS url=$URL connections=$CONNECTIONS threads=$THREADS duration=$DURATION rounds=$ROUNDS"
wrk_rps=(); fl_rps=(); wrk_cpu=(); fl_cpu=()
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
cpu_per_req() {  # requests/s -> client user+sys microseconds per request
  awk -v rps="$1" '{printf "%.3f", $1 / (rps * $3) * 1e6}' "$cpu"
}
for i in $(seq "$ROUNDS"); do
  measure wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$URL" > "$out.wrk"
  w=$(awk '/Requests\/sec/ {print $2}' "$out.wrk"); ws=$(split "$w"); wc=$(cpu_per_req "$w")
  measure "$FAULTLINE" load "$URL" -t "$THREADS" -c "$CONNECTIONS" --duration "$DURATION" -q --out "$out" --threshold "error_ratio<0.001" 2>/dev/null || { echo "faultline load: errors (see --out)" >&2; exit 1; }
  f=$(python3 -c "import json,sys; print(round(json.load(open('$out'))['throughput_rps'],1))"); fs=$(split "$f"); fc=$(cpu_per_req "$f")
  echo "round $i: wrk $w req/s ($ws)   faultline $f req/s ($fs)   CPU/req ratio $(awk -v f="$fc" -v w="$wc" 'BEGIN {printf "%.2fx", f / w}')"
  wrk_rps+=("$w"); fl_rps+=("$f"); wrk_cpu+=("$wc"); fl_cpu+=("$fc")
done
python3 - "${wrk_rps[*]}" "${fl_rps[*]}" "${wrk_cpu[*]}" "${fl_cpu[*]}" <<'PY'
import statistics, sys
w, f, wc, fc = ([float(x) for x in a.split()] for a in sys.argv[1:5])
mw, mf = statistics.median(w), statistics.median(f)
print(f"median: wrk {mw:.0f} req/s, faultline {mf:.0f} req/s, ratio {mf/mw:.2f}x (target >= 1.20x)")
# Per-round ratios pair rounds that ran back to back (same machine noise); the median of those
# is the headline, the ratio of the two medians is printed next to it.
ratios = [b / a for a, b in zip(wc, fc)]
mwc, mfc = statistics.median(wc), statistics.median(fc)
print(f"median client CPU/req: wrk {mwc:.2f} us, faultline {mfc:.2f} us, faultline/wrk "
      f"{statistics.median(ratios):.2f}x (per round: {' '.join(f'{r:.2f}' for r in ratios)}; "
      f"ratio of medians {mfc/mwc:.2f}x; goal <= 0.75x)")
PY
rm -f "$out" "$out.wrk" "$cpu" "$cpu.time"

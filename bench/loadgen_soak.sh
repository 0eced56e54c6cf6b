#!/usr/bin/env bash
# Memory flatness: runs `faultline load --rate R` against nginx for DURATION and samples the load
# generator's RSS every 5 s; prints the samples and the growth from the first full minute on.
# Usage: bench/loadgen_soak.sh [DURATION=3m] [RATE=5k]
set -euo pipefail
DURATION="${1:-3m}"; RATE="${2:-5k}"
source "$(dirname "$0")/loadgen_common.sh"
series="$(mktemp)"
"$FAULTLINE" load "$URL" --rate "$RATE" -c 100 -t 1 --duration "$DURATION" -q \
  --intervals-out "$series" --out /dev/null 2>/dev/null &
pid=$!
t=0
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [ -n "$rss" ] && echo "t=${t}s rss_kib=$rss"
  sleep 5; t=$((t + 5))
done | tee "$series.rss"
wait "$pid" || true
python3 - "$series.rss" <<'PY'
import sys
pts = [(int(l.split()[0][2:-1]), int(l.split()[1].split('=')[1])) for l in open(sys.argv[1]) if l.startswith('t=')]
late = [p for p in pts if p[0] >= 60]
if len(late) >= 2:
    print(f"RSS from t=60s to t={late[-1][0]}s: {late[0][1]} KiB -> {late[-1][1]} KiB ({late[-1][1]-late[0][1]:+d} KiB)")
PY
rm -f "$series" "$series.rss"

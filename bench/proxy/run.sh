#!/usr/bin/env bash
# Pass-through benchmark of `faultline proxy` (no toxics) against HAProxy in TCP mode, same machine,
# same run: wrk → {nginx directly, haproxy → nginx, faultline proxy → nginx}.
#  1. Added latency without queueing: ROUNDS rounds of `wrk -t1 -c1` (one connection ping-pong, so
#     neither side saturates) against each target in turn; the median over rounds of each target's
#     p50, and the added median = proxied p50 - direct p50 of the same round.
#  2. Saturation: `wrk -tWRK_THREADS -cCONNECTIONS` against each target: requests/s, the ratio to
#     HAProxy, and the p50 each proxy adds there (mostly queueing on 2 shared CPUs).
# Memory per idle connection is bench/proxy/idle_memory.sh.
# usage: bench/proxy/run.sh FAULTLINE_BIN [DURATION=10s] [CONNECTIONS=100] [WRK_THREADS=2]
#        [PROXY_THREADS=2] [ROUNDS=5] [C1_DURATION=5s]
set -euo pipefail
BIN=${1:?usage: run.sh FAULTLINE_BIN [DURATION] [CONNECTIONS] [WRK_THREADS] [PROXY_THREADS] [ROUNDS] [C1_DURATION]}
DURATION=${2:-10s}
CONNS=${3:-100}
WRK_THREADS=${4:-2}
PROXY_THREADS=${5:-2}
ROUNDS=${6:-5}
C1_DURATION=${7:-5s}
# shellcheck source=bench/proxy/common.sh
source "$(dirname "$0")/common.sh"
NGINX_PORT=$(free_port); HA_PORT=$(free_port)

start_hello_nginx "$NGINX_PORT"

haproxy_tcp_config "$HA_PORT" 9500 > "$WORK/haproxy.cfg"
haproxy -f "$WORK/haproxy.cfg" -db & PIDS+=($!)

start_faultline_proxy bench "$WORK/proxy.out"
sleep 0.5

# Runs wrk (threads, connections, duration, address); prints "<requests/s> <p50 in µs>".
measure() {
  local out
  out=$(wrk -t"$1" -c"$2" -d"$3" --latency "http://$4/")
  python3 - "$out" <<'PY'
import re, sys
text = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", text)
p50 = float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
print(f"{rps:.0f} {p50:.1f}")
PY
}

TARGETS=("127.0.0.1:$NGINX_PORT" "127.0.0.1:$HA_PORT" "$FL")
NAMES=(nginx-direct haproxy-tcp faultline-proxy)

echo "== added latency, wrk -t1 -c1 -d$C1_DURATION, $ROUNDS rounds (proxies: $PROXY_THREADS threads, $(nproc) CPUs)"
C1=()
for r in $(seq "$ROUNDS"); do
  line="$r"
  for i in 0 1 2; do
    read -r rps p50 < <(measure 1 1 "$C1_DURATION" "${TARGETS[$i]}")
    line="$line $rps $p50"
  done
  C1+=("$line")
  echo "round $line" | awk '{printf "round %s: direct %s req/s p50 %s us | haproxy %s req/s p50 %s us | faultline %s req/s p50 %s us\n", $2, $3, $4, $5, $6, $7, $8}'
done
printf '%s\n' "${C1[@]}" | python3 -c '
import sys, statistics as st
rows = [list(map(float, l.split()[1:])) for l in sys.stdin if l.strip()]
d, h, f = [r[1] for r in rows], [r[3] for r in rows], [r[5] for r in rows]
ah = [r[3] - r[1] for r in rows]; af = [r[5] - r[1] for r in rows]
print(f"c1 medians over {len(rows)} rounds: p50 direct {st.median(d):.1f} us, haproxy {st.median(h):.1f} us, faultline {st.median(f):.1f} us")
print(f"c1 added median latency (median over rounds of proxied p50 - direct p50): haproxy {st.median(ah):.1f} us, faultline {st.median(af):.1f} us")
print(f"c1 requests/s (median): direct {st.median([r[0] for r in rows]):.0f}, haproxy {st.median([r[2] for r in rows]):.0f}, faultline {st.median([r[4] for r in rows]):.0f}")
'

echo "== saturation, wrk -t$WRK_THREADS -c$CONNS -d$DURATION"
read -r D_RPS D_P50 < <(measure "$WRK_THREADS" "$CONNS" "$DURATION" "${TARGETS[0]}")
read -r H_RPS H_P50 < <(measure "$WRK_THREADS" "$CONNS" "$DURATION" "${TARGETS[1]}")
read -r F_RPS F_P50 < <(measure "$WRK_THREADS" "$CONNS" "$DURATION" "${TARGETS[2]}")
printf '%-22s %12s %10s\n' target requests/s p50_us
printf '%-22s %12s %10s\n' nginx-direct "$D_RPS" "$D_P50"
printf '%-22s %12s %10s\n' haproxy-tcp "$H_RPS" "$H_P50"
printf '%-22s %12s %10s\n' faultline-proxy "$F_RPS" "$F_P50"
python3 -c "print(f'faultline/haproxy requests/s ratio: {$F_RPS/$H_RPS:.2f}');print(f'saturated added median latency: faultline {$F_P50-$D_P50:.0f} us, haproxy {$H_P50-$D_P50:.0f} us')"

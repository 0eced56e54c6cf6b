#!/usr/bin/env bash
# Streamed-body benchmark of an `http` proxy against HAProxy `mode http`, same machine, same run
# (issue #24: a streamed body through the proxy runs at >= 0.9x HAProxy's throughput, RSS flat).
# nginx serves one SIZE_MB file (Content-Length); curl downloads it ROUNDS times directly, through
# `faultline proxy` (a toxic-free "protocol": "http" proxy) and through HAProxy, the order of the
# two proxies alternating per round. Prints each download's speed, the median ratio, the SHA-256
# of one download through each proxy against the file's, and the proxy's peak RSS (VmHWM).
# usage: bench/proxy/stream.sh FAULTLINE_BIN [SIZE_MB=1024] [ROUNDS=3] [PROXY_THREADS=2]
set -euo pipefail
BIN=${1:?usage: stream.sh FAULTLINE_BIN [SIZE_MB] [ROUNDS] [PROXY_THREADS]}
SIZE_MB=${2:-1024}
ROUNDS=${3:-3}
PROXY_THREADS=${4:-2}
# shellcheck source=bench/proxy/common.sh
source "$(dirname "$0")/common.sh"
NGINX_PORT=$(free_port); HA_HTTP=$(free_port)

mkdir -p "$WORK/www"
chmod 755 "$WORK" "$WORK/www"  # nginx workers run as www-data
head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom > "$WORK/www/big.bin"
SUM=$(sha256sum "$WORK/www/big.bin" | cut -d' ' -f1)
start_nginx "$NGINX_PORT" 1024 "sendfile on;" "root $WORK/www;"

cat > "$WORK/haproxy.cfg" <<CONF
global
  maxconn 1000
  nbthread $PROXY_THREADS
defaults
  mode http
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend fe
  bind 127.0.0.1:$HA_HTTP
  default_backend be
backend be
  server nginx 127.0.0.1:$NGINX_PORT
CONF
haproxy -f "$WORK/haproxy.cfg" -db & PIDS+=($!)

start_faultline_proxy plain "$WORK/proxy.out"
FL_HTTP=$(curl -s -XPOST "http://$API/proxies" \
  -d "{\"name\":\"http\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:$NGINX_PORT\",\"protocol\":\"http\"}" |
  python3 -c 'import json,sys;print(json.load(sys.stdin)["listen"])')
sleep 0.5
echo "faultline http proxy $FL_HTTP, haproxy 127.0.0.1:$HA_HTTP, nginx 127.0.0.1:$NGINX_PORT"

# speed URL → bytes/s of one download (body discarded)
speed() { curl -s -o /dev/null -w '%{speed_download}' "$1"; }
for u in "http://$FL_HTTP/big.bin" "http://127.0.0.1:$HA_HTTP/big.bin"; do
  curl -s -o "$WORK/got.bin" "$u"
  got=$(sha256sum "$WORK/got.bin" | cut -d' ' -f1)
  [ "$got" = "$SUM" ] || {
    echo "byte mismatch through $u: $(stat -c %s "$WORK/got.bin") bytes, sha256 $got != $SUM" >&2
    cmp "$WORK/got.bin" "$WORK/www/big.bin" | head -3 >&2
    exit 1
  }
done
rm -f "$WORK/got.bin"
echo "sha256 through faultline and haproxy = the file's ($SUM)"
rss_before=$(sed -n 's/^VmRSS:[[:space:]]*//p' "/proc/$PROXY_PID/status")

echo "== $SIZE_MB MiB, $ROUNDS rounds, proxies with $PROXY_THREADS threads, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
PAIRS=""
direct=$(speed "http://127.0.0.1:$NGINX_PORT/big.bin")
for r in $(seq "$ROUNDS"); do
  if (( r % 2 )); then f=$(speed "http://$FL_HTTP/big.bin"); h=$(speed "http://127.0.0.1:$HA_HTTP/big.bin")
  else h=$(speed "http://127.0.0.1:$HA_HTTP/big.bin"); f=$(speed "http://$FL_HTTP/big.bin"); fi
  echo "round $r: faultline $f B/s, haproxy $h B/s"
  PAIRS+="$f $h,"
done
hwm=$(sed -n 's/^VmHWM:[[:space:]]*//p' "/proc/$PROXY_PID/status")
rss=$(sed -n 's/^VmRSS:[[:space:]]*//p' "/proc/$PROXY_PID/status")
python3 - "$PAIRS" "$direct" <<'PY'
import statistics as st, sys
pairs = [tuple(map(float, p.split())) for p in sys.argv[1].split(",") if p.strip()]
f = st.median(p[0] for p in pairs); h = st.median(p[1] for p in pairs)
ratios = [p[0] / p[1] for p in pairs]
print(f"direct {float(sys.argv[2]) / 1e6:.0f} MB/s; streamed body: faultline {f / 1e6:.0f} MB/s, "
      f"haproxy {h / 1e6:.0f} MB/s, ratio median {st.median(ratios):.2f}x "
      f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
PY
echo "faultline proxy RSS: $rss_before after the checks, $rss at the end, peak $hwm"

#!/usr/bin/env bash
# TLS and http-protocol benchmarks of `faultline proxy` against HAProxy, same machine, same run,
# each pair measured back to back ROUNDS times (the order alternating), the median ratio printed:
#  1. TLS-terminating pass-through: wrk over https, keep-alive, 1 thread, CONNECTIONS connections,
#     through a tcp proxy with "tls" to a plain nginx, vs HAProxy terminating the same certificate
#     (TCP mode, `bind ... ssl crt`, ALPN http/1.1). Both negotiate the same TLS version and cipher
#     (printed, from openssl s_client).
#  2. New handshakes per second: the same with `Connection: close` (each request a new TLS
#     connection and a full handshake: wrk does not resume sessions).
#  3. http-protocol pass-through, plain: a `"protocol": "http"` proxy vs HAProxy `mode http`.
# usage: bench/proxy/tls.sh FAULTLINE_BIN [DURATION=10s] [CONNECTIONS=50] [PROXY_THREADS=2]
#        [ROUNDS=3]
set -euo pipefail
BIN=${1:?usage: tls.sh FAULTLINE_BIN [DURATION] [CONNECTIONS] [PROXY_THREADS] [ROUNDS]}
DURATION=${2:-10s}
CONNS=${3:-50}
PROXY_THREADS=${4:-2}
ROUNDS=${5:-3}
# shellcheck source=bench/proxy/common.sh
source "$(dirname "$0")/common.sh"
NGINX_PORT=$(free_port); HA_TLS=$(free_port); HA_HTTP=$(free_port)

# One EC P-256 certificate for both proxies.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/key.pem" \
  -out "$WORK/cert.pem" -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
cat "$WORK/cert.pem" "$WORK/key.pem" > "$WORK/haproxy.pem"

start_hello_nginx "$NGINX_PORT"

cat > "$WORK/haproxy.cfg" <<CONF
global
  maxconn 9500
  nbthread $PROXY_THREADS
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend tls_fe
  mode tcp
  bind 127.0.0.1:$HA_TLS ssl crt $WORK/haproxy.pem alpn http/1.1
  default_backend be_tcp
backend be_tcp
  mode tcp
  server nginx 127.0.0.1:$NGINX_PORT
frontend http_fe
  mode http
  bind 127.0.0.1:$HA_HTTP
  default_backend be_http
backend be_http
  mode http
  server nginx 127.0.0.1:$NGINX_PORT
CONF
haproxy -f "$WORK/haproxy.cfg" -db & PIDS+=($!)

start_faultline_proxy plain "$WORK/proxy.out"
create() {
  curl -s -XPOST "http://$API/proxies" -d "$1" |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["listen"])'
}
FL_TLS=$(create "{\"name\":\"tls\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:$NGINX_PORT\",\"tls\":{\"cert\":\"$WORK/cert.pem\",\"key\":\"$WORK/key.pem\"}}")
FL_HTTP=$(create "{\"name\":\"http\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:$NGINX_PORT\",\"protocol\":\"http\"}")
sleep 0.5

negotiated() {
  openssl s_client -connect "$1" -servername localhost -alpn http/1.1 </dev/null 2>/dev/null |
    sed -n 's/^New, \(.*\)$/\1/p' | head -1
}
echo "negotiated: faultline: $(negotiated "$FL_TLS") | haproxy: $(negotiated "127.0.0.1:$HA_TLS")"
for u in "https://localhost:${FL_TLS#*:}/" "https://localhost:$HA_TLS/" "http://$FL_HTTP/" "http://127.0.0.1:$HA_HTTP/"; do
  [ "$(curl -sk "$u")" = "hello from nginx" ] || { echo "no answer from $u" >&2; exit 1; }
done

# wrk -t1 -cCONNS -dDURATION [extra...] URL → requests/s
rps() {
  local url=$1; shift
  wrk -t1 -c"$CONNS" -d"$DURATION" "$@" "$url" | sed -n 's/^Requests\/sec:[[:space:]]*//p'
}

declare -A RATIOS
# pair NAME FAULTLINE_URL HAPROXY_URL [wrk flags...]: one measurement of each, in the order of the
# round (odd rounds faultline first, even rounds HAProxy first, so drift on a shared machine falls
# on both alike); appends "f h," to RATIOS[NAME] and prints the round.
pair() {
  local name=$1 fu=$2 hu=$3 f h
  shift 3
  if (( r % 2 )); then f=$(rps "$fu" "$@"); h=$(rps "$hu" "$@")
  else h=$(rps "$hu" "$@"); f=$(rps "$fu" "$@"); fi
  echo "round $r $name: faultline $f/s, haproxy $h/s"
  RATIOS[$name]+="$f $h,"
}
echo "== wrk -t1 -c$CONNS -d$DURATION, $ROUNDS rounds, proxies with $PROXY_THREADS threads, $(nproc) CPUs"
for r in $(seq "$ROUNDS"); do
  pair keepalive "https://localhost:${FL_TLS#*:}/" "https://localhost:$HA_TLS/"
  pair handshakes "https://localhost:${FL_TLS#*:}/" "https://localhost:$HA_TLS/" \
    -H "Connection: close"
  pair http "http://$FL_HTTP/" "http://127.0.0.1:$HA_HTTP/"
done
for k in keepalive handshakes http; do
  python3 - "$k" "${RATIOS[$k]}" <<'PY'
import statistics as st, sys
pairs = [tuple(map(float, p.split())) for p in sys.argv[2].split(",") if p.strip()]
f = st.median(p[0] for p in pairs); h = st.median(p[1] for p in pairs)
ratios = [p[0] / p[1] for p in pairs]
names = {"keepalive": "TLS-terminating pass-through (keep-alive)",
         "handshakes": "new TLS handshakes/s (Connection: close)",
         "http": "http-protocol pass-through vs mode http (plain)"}
print(f"{names[sys.argv[1]]}: faultline {f:.0f}, haproxy {h:.0f}, "
      f"ratio median {st.median(ratios):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
PY
done

#!/usr/bin/env bash
# Pass-through benchmark of `faultline proxy` (no toxics) against HAProxy in TCP mode, same machine,
# same run: wrk → {nginx directly, haproxy → nginx, faultline proxy → nginx}. Prints requests/s and
# median latency of each, the ratio to HAProxy and the median latency each proxy adds, then the
# proxy's resident memory per idle connection.
# usage: bench/proxy/run.sh FAULTLINE_BIN [DURATION=10s] [CONNECTIONS=100] [WRK_THREADS=2]
#        [PROXY_THREADS=2] [IDLE_CONNECTIONS=9000]
set -euo pipefail
BIN=${1:?usage: run.sh FAULTLINE_BIN [DURATION] [CONNECTIONS] [WRK_THREADS] [PROXY_THREADS] [IDLE]}
DURATION=${2:-10s}
CONNS=${3:-100}
WRK_THREADS=${4:-2}
PROXY_THREADS=${5:-2}
IDLE=${6:-9000}
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
NGINX_PORT=$(free_port); HA_PORT=$(free_port)

mkdir -p "$WORK/nginx"
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 20000; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$NGINX_PORT; location / { return 200 "hello from nginx\n"; } }
}
CONF
nginx -c "$WORK/nginx.conf" -g 'daemon off;' & PIDS+=($!)

cat > "$WORK/haproxy.cfg" <<CONF
global
  maxconn 9500
  nbthread $PROXY_THREADS
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend fe
  bind 127.0.0.1:$HA_PORT
  default_backend be
backend be
  server nginx 127.0.0.1:$NGINX_PORT
CONF
haproxy -f "$WORK/haproxy.cfg" -db & PIDS+=($!)

"$BIN" --log-level warn proxy --api 127.0.0.1:0 --threads "$PROXY_THREADS" > "$WORK/proxy.out" &
PIDS+=($!)
PROXY_PID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/proxy.out" && break; sleep 0.05; done
API=$(sed -n 's/^listening on //p' "$WORK/proxy.out")
FL=$(curl -s -XPOST "http://$API/proxies" \
  -d "{\"name\":\"bench\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:$NGINX_PORT\"}" |
  python3 -c 'import json,sys;print(json.load(sys.stdin)["listen"])')
sleep 0.5

# Runs wrk; prints "<requests/s> <p50 in µs>".
measure() {
  local out
  out=$(wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency "http://$1/")
  python3 - "$out" <<'PY'
import re, sys
text = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", text)
p50 = float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
print(f"{rps:.0f} {p50:.0f}")
PY
}
read -r D_RPS D_P50 < <(measure "127.0.0.1:$NGINX_PORT")
read -r H_RPS H_P50 < <(measure "127.0.0.1:$HA_PORT")
read -r F_RPS F_P50 < <(measure "$FL")
echo "wrk -t$WRK_THREADS -c$CONNS -d$DURATION, proxies with $PROXY_THREADS threads, on $(nproc) CPUs"
printf '%-22s %12s %10s\n' target requests/s p50_us
printf '%-22s %12s %10s\n' nginx-direct "$D_RPS" "$D_P50"
printf '%-22s %12s %10s\n' haproxy-tcp "$H_RPS" "$H_P50"
printf '%-22s %12s %10s\n' faultline-proxy "$F_RPS" "$F_P50"
python3 -c "print(f'faultline/haproxy requests/s ratio: {$F_RPS/$H_RPS:.2f}');print(f'added median latency: faultline {$F_P50-$D_P50:.0f} us, haproxy {$H_P50-$D_P50:.0f} us')"

# Memory per idle connection: open IDLE client connections through the proxy (each also holds an
# upstream connection to nginx), then compare the proxy's RSS with the RSS before.
python3 - "$PROXY_PID" "$FL" "$IDLE" <<'PY'
import socket, sys, time, resource
pid, addr, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
host, port = addr.rsplit(":", 1)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
before = rss()
socks = []
for i in range(n):
    s = socket.create_connection((host, int(port)))
    socks.append(s)
time.sleep(2)
after = rss()
print(f"idle connections: {n}; proxy RSS {before/2**20:.1f} MiB -> {after/2**20:.1f} MiB; "
      f"{(after-before)/n/1024:.1f} KiB per idle connection (client + upstream side)")
PY

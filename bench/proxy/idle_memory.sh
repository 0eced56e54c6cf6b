#!/usr/bin/env bash
# Memory per idle proxied connection of `faultline proxy`: opens N (default 10,000) idle client
# connections through one toxic-free tcp proxy to an nginx upstream (so the proxy holds 2 N
# sockets), waits until the proxy holds every upstream connection, and prints the proxy's RSS
# (VmRSS from /proc/PID/status) before and after and the growth per connection.
# 10,000 connections need > 20,000 descriptors in the proxy and 10,000 in the client and in nginx,
# so the script raises its descriptor limit (inherited by all three) with `ulimit -n`. That needs
# CAP_SYS_RESOURCE when it is above the hard limit (root in a container may lack it); when the limit
# cannot be raised the script measures as many connections as the proxy's limit allows and says so.
# usage: bench/proxy/idle_memory.sh FAULTLINE_BIN [CONNECTIONS=10000] [PROXY_THREADS=2]
set -euo pipefail
BIN=${1:?usage: idle_memory.sh FAULTLINE_BIN [CONNECTIONS] [PROXY_THREADS]}
N=${2:-10000}
PROXY_THREADS=${3:-2}
NOFILE=$((2 * N + 1000))
if ! ulimit -n "$NOFILE" 2>/dev/null; then
  ulimit -n "$(ulimit -Hn)"
  echo "note: cannot raise the descriptor limit to $NOFILE (hard limit $(ulimit -Hn)," \
    "no CAP_SYS_RESOURCE); the proxy can hold about $(( ($(ulimit -n) - 30) / 2 )) connections" >&2
fi
NOFILE=$(ulimit -n)
# shellcheck source=bench/proxy/common.sh
source "$(dirname "$0")/common.sh"
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile $NOFILE;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections $NOFILE; }
http {
  access_log off;
  keepalive_timeout 600s;
  client_header_timeout 600s;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server { listen 127.0.0.1:$NGINX_PORT backlog=4096; location / { return 200 "hello\n"; } }
}
CONF
nginx -c "$WORK/nginx.conf" -g 'daemon off;' & PIDS+=($!)

start_faultline_proxy idle "$WORK/proxy.out"
# One request through the proxy first, so per-thread buffers and lazily created state exist
# before the baseline and are not charged to the idle connections.
curl -s -o /dev/null "http://$FL/"
sleep 0.5

python3 - "$PROXY_PID" "$FL" "$N" "$API" <<'PY'
import socket, sys, time, os, re, urllib.request
pid, addr, n, api = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
host, port = addr.rsplit(":", 1)

def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024

def active():
    text = urllib.request.urlopen(f"http://{api}/metrics").read().decode()
    m = re.search(r'^faultline_proxy_connections_active\{proxy="idle"\} ([\d.e+]+)', text, re.M)
    return int(float(m.group(1))) if m else -1

def fds():
    return len(os.listdir(f"/proc/{pid}/fd"))

before, fds_before = rss(), fds()
limit = int(open(f"/proc/{pid}/limits").read().split("Max open files")[1].split()[0])
if fds_before + 2 * n + 4 > limit:
    m = (limit - fds_before - 4) // 2
    print(f"note: {n} connections need {fds_before + 2 * n} descriptors in the proxy, its limit is "
          f"{limit}: measuring {m} connections instead")
    n = m
socks = []
for i in range(n):
    socks.append(socket.create_connection((host, int(port))))
# Wait until every client connection also has its upstream connection (2 descriptors each).
deadline = time.time() + 60
while time.time() < deadline and fds() < fds_before + 2 * n:
    time.sleep(0.2)
time.sleep(2)
after, fds_after, act = rss(), fds(), active()
print(f"idle connections: {n} (proxy descriptors {fds_before} -> {fds_after}, "
      f"connections_active {act})")
print(f"proxy RSS {before/2**20:.1f} MiB -> {after/2**20:.1f} MiB: "
      f"{(after-before)/n/1024:.2f} KiB per idle connection (client + upstream socket)")
if fds_after < fds_before + 2 * n:
    print("WARNING: not every connection reached the upstream; the number above is not valid")
    sys.exit(1)
for s in socks:
    s.close()
PY

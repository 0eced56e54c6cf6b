#!/usr/bin/env bash
# GET /p/<id> throughput of `faultline target` (memory store) against nginx serving the same bytes
# as a static file, with the same wrk settings, in one run; prints both rates and their ratio.
# Usage: bench/target_vs_nginx.sh [PATH/TO/faultline] [DURATION=10s] [CONNECTIONS=64]
#        [SERVER_THREADS=1] [WRK_THREADS=1] [PASTE_BYTES=1024]
# Needs wrk and nginx (bash scripts/install-deps --bench).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/release/bin/faultline}
DURATION=${2:-10s}
CONNECTIONS=${3:-64}
SERVER_THREADS=${4:-1}
WRK_THREADS=${5:-1}
PASTE_BYTES=${6:-1024}
for tool in wrk nginx curl; do
  command -v "$tool" > /dev/null || { echo "target_vs_nginx: $tool is required" >&2; exit 2; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The paste: PASTE_BYTES of printable bytes.
head -c "$PASTE_BYTES" < /dev/zero | tr '\0' 'x' > "$work/paste"

"$BIN" target --listen 127.0.0.1:0 --threads "$SERVER_THREADS" --solver-threads 1 \
  > "$work/target.out" 2> "$work/target.err" &
pids+=($!)
for _ in $(seq 1 100); do
  taddr=$(sed -n 's/^listening on //p' "$work/target.out" | head -n 1)
  [[ -n "$taddr" ]] && break
  sleep 0.1
done
[[ -n "${taddr:-}" ]] || { echo "target did not start" >&2; cat "$work/target.err" >&2; exit 1; }
id=$(curl -sS --data-binary @"$work/paste" "http://$taddr/pastes" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
[[ ${#id} == 32 ]] || { echo "could not create the paste" >&2; exit 1; }

# nginx: same bytes at the same path, one worker per target event loop, no access log, unlimited
# keep-alive (wrk's connections are never closed by either server).
mkdir -p "$work/www/p"
cp "$work/paste" "$work/www/p/$id"
chmod -R a+rX "$work"  # nginx workers may run as another user (nobody when started as root)
# A free port can be taken between the probe and nginx's bind (other benchmarks start servers
# too): try a few ports until nginx answers.
start_nginx() {  # PORT: writes the config, starts nginx, waits until it serves the paste
  cat > "$work/nginx.conf" <<CONF
worker_processes $SERVER_THREADS;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$1; root $work/www; }
}
CONF
  nginx -c "$work/nginx.conf" -p "$work" 2> "$work/nginx.start.err" &
  npid=$!
  for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$1/p/$id" && return 0
    kill -0 "$npid" 2> /dev/null || return 1  # exited: bind failed
    sleep 0.1
  done
  kill -TERM "$npid" 2> /dev/null || true
  return 1
}
nport=""
for p in $(shuf -i 20000-60000 -n 50); do
  if (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null; then continue; fi
  if start_nginx "$p"; then
    nport=$p
    pids+=("$npid")
    break
  fi
done
[[ -n "$nport" ]] || { echo "nginx did not start" >&2; cat "$work/nginx.start.err" >&2; exit 1; }
cmp -s <(curl -s "http://127.0.0.1:$nport/p/$id") <(curl -s "http://$taddr/p/$id") ||
  { echo "nginx and the target do not serve the same bytes" >&2; exit 1; }

rate() {  # URL → requests/second reported by wrk
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" "$1" | tee -a "$work/wrk.txt" |
    sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'
}
target_rps=$(rate "http://$taddr/p/$id")
nginx_rps=$(rate "http://127.0.0.1:$nport/p/$id")
ratio=$(awk -v a="$target_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')
echo "GET /p/<id> of a ${PASTE_BYTES}-byte paste, wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION," \
  "$SERVER_THREADS server thread(s), $(nproc) CPUs"
echo "faultline target: $target_rps requests/s"
echo "nginx (static):   $nginx_rps requests/s"
echo "ratio target/nginx: $ratio"

#!/usr/bin/env bash
# Bulk-transfer throughput through a toxic-free `faultline proxy`, to decide whether splice(2) is
# worth having: curl downloads a SIZE_MIB file from nginx (sendfile) directly, through HAProxy in
# TCP mode copying in user space, through HAProxy with `option splice-auto` (kernel splice(2)
# between the sockets: the same proxy with and without splice), through bench/proxy/relay.py in
# its `copy` and `splice` modes (one minimal relay loop, the two methods side by side), and through
# faultline with splice(2) (its default) and with --no-splice (user-space copy). ROUNDS rounds, each target in turn; prints each transfer's MiB/s and
# the median per target.
# usage: bench/proxy/bulk.sh FAULTLINE_BIN [SIZE_MIB=1024] [ROUNDS=3] [PROXY_THREADS=2]
set -euo pipefail
BIN=${1:?usage: bulk.sh FAULTLINE_BIN [SIZE_MIB] [ROUNDS] [PROXY_THREADS]}
SIZE=${2:-1024}
ROUNDS=${3:-3}
PROXY_THREADS=${4:-2}
# shellcheck source=bench/proxy/common.sh
source "$(dirname "$0")/common.sh"
NGINX_PORT=$(free_port); HA_PORT=$(free_port); HAS_PORT=$(free_port)
RC_PORT=$(free_port); RS_PORT=$(free_port)
mkdir -p "$WORK/www"
# Random bytes (not a sparse file) so that nothing along the path can shortcut zero pages.
head -c "$((SIZE * 1024 * 1024))" /dev/urandom > "$WORK/www/blob"
chmod -R a+rX "$WORK"  # nginx's workers run as an unprivileged user
start_nginx "$NGINX_PORT" 1000 "sendfile on;" "root $WORK/www;"

haproxy_tcp_config "$HA_PORT" 1000 > "$WORK/ha.cfg"
haproxy_tcp_config "$HAS_PORT" 1000 "option splice-auto" > "$WORK/ha-splice.cfg"
haproxy -f "$WORK/ha.cfg" -db & PIDS+=($!)
haproxy -f "$WORK/ha-splice.cfg" -db & PIDS+=($!)
HERE=$(cd "$(dirname "$0")" && pwd)
python3 "$HERE/relay.py" copy "$RC_PORT" "$NGINX_PORT" > "$WORK/rc.out" & PIDS+=($!)
python3 "$HERE/relay.py" splice "$RS_PORT" "$NGINX_PORT" > "$WORK/rs.out" & PIDS+=($!)

start_faultline_proxy bulk "$WORK/proxy-copy.out" --no-splice
FLC=$FL
start_faultline_proxy bulk "$WORK/proxy.out"
sleep 0.5
# Warm the page cache.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NGINX_PORT/blob")
[ "$code" = 200 ] || { echo "nginx answered $code" >&2; exit 1; }

TARGETS=("127.0.0.1:$NGINX_PORT" "127.0.0.1:$HA_PORT" "127.0.0.1:$HAS_PORT" "127.0.0.1:$RC_PORT"
  "127.0.0.1:$RS_PORT" "$FLC" "$FL")
NAMES=(nginx-direct haproxy-copy haproxy-splice relay.py-copy relay.py-splice faultline-copy
  faultline-splice)
: > "$WORK/results"
echo "curl of a $SIZE MiB file, $ROUNDS rounds, proxies with $PROXY_THREADS threads, $(nproc) CPUs"
for r in $(seq "$ROUNDS"); do
  for i in 0 1 2 3 4 5 6; do
    bps=$(curl -s -o /dev/null -w '%{speed_download}' "http://${TARGETS[$i]}/blob")
    mibs=$(python3 -c "print(f'{$bps/2**20:.0f}')")
    echo "round $r ${NAMES[$i]}: $mibs MiB/s"
    echo "${NAMES[$i]} $mibs" >> "$WORK/results"
  done
done
python3 - "$WORK/results" <<'PY'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    name, v = line.split()
    rows.setdefault(name, []).append(float(v))
for name, vs in rows.items():
    print(f"median {name:16s} {st.median(vs):8.0f} MiB/s")
PY

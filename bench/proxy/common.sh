# Shared set-up of the proxy benchmarks (sourced by run.sh, tls.sh, bulk.sh, idle_memory.sh): a scratch
# directory removed on exit together with every process started into PIDS, free loopback ports,
# HAProxy's TCP-mode configuration, nginx upstreams, and a faultline proxy with one toxic-free proxy to nginx.
# Needs BIN (the faultline binary) and PROXY_THREADS; the HAProxy config also NGINX_PORT.
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# haproxy_tcp_config PORT MAXCONN [EXTRA_DEFAULTS_LINE]: HAProxy in TCP mode, PORT -> nginx.
haproxy_tcp_config() {
  cat <<CONF
global
  maxconn $2
  nbthread $PROXY_THREADS
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
  ${3:-}
frontend fe
  bind 127.0.0.1:$1
  default_backend be
backend be
  server nginx 127.0.0.1:$NGINX_PORT
CONF
}

# start_nginx PORT WORKER_CONNECTIONS HTTP_DIRECTIVES SERVER_DIRECTIVES: one nginx worker on
# 127.0.0.1:PORT, no access log, its temporary files under $WORK/nginx.
start_nginx() {
  mkdir -p "$WORK/nginx"
  cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections $2; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  $3
  server { listen 127.0.0.1:$1; $4 }
}
CONF
  nginx -c "$WORK/nginx.conf" -g 'daemon off;' &
  PIDS+=($!)
}

# start_hello_nginx PORT: answers every request with 200 "hello from nginx", keep-alive without a
# request limit (the upstream of the pass-through runs).
start_hello_nginx() {
  start_nginx "$1" 20000 "keepalive_requests 1000000;" 'location / { return 200 "hello from nginx\n"; }'
}

# start_faultline_proxy NAME STDOUT_FILE [PROXY_FLAG...]: starts `faultline proxy` and creates the
# toxic-free proxy NAME -> nginx on a free port. Sets PROXY_PID, API (the control API) and FL (the
# proxy's listen address).
start_faultline_proxy() {
  local name=$1 out=$2
  shift 2
  "$BIN" --log-level warn proxy --api 127.0.0.1:0 --threads "$PROXY_THREADS" "$@" > "$out" &
  PROXY_PID=$!
  PIDS+=("$PROXY_PID")
  for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.05; done
  API=$(sed -n 's/^listening on //p' "$out")
  FL=$(curl -s -XPOST "http://$API/proxies" \
    -d "{\"name\":\"$name\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:$NGINX_PORT\"}" |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["listen"])')
}

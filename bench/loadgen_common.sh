# Shared by the loadgen benchmark scripts: a throwaway nginx (nginx-light) on a free loopback port
# serving a small static file. Sourced, not run.
FAULTLINE="${FAULTLINE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/release/bin/faultline}"
[ -x "$FAULTLINE" ] || { echo "faultline binary not found at $FAULTLINE (set FAULTLINE=...)" >&2; exit 2; }
command -v nginx >/dev/null || { echo "nginx not installed (scripts/install-deps --bench)" >&2; exit 2; }

NGINX_DIR="$(mktemp -d)"
NGINX_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
NGINX_WORKERS="${NGINX_WORKERS:-1}"
mkdir -p "$NGINX_DIR/html"
chmod 755 "$NGINX_DIR" "$NGINX_DIR/html"  # nginx workers run unprivileged
printf 'hello from nginx: a small static file for load benchmarks\n' > "$NGINX_DIR/html/index.html"
cat > "$NGINX_DIR/nginx.conf" <<CONF
worker_processes $NGINX_WORKERS;
daemon off;
error_log $NGINX_DIR/error.log;
pid $NGINX_DIR/nginx.pid;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  server { listen 127.0.0.1:$NGINX_PORT; root $NGINX_DIR/html; }
}
CONF
nginx -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR" &
NGINX_PID=$!
trap 'kill $NGINX_PID 2>/dev/null; wait $NGINX_PID 2>/dev/null; rm -rf "$NGINX_DIR"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$NGINX_PORT/index.html" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$NGINX_PORT/index.html" >/dev/null || { echo "nginx does not serve 200" >&2; exit 2; }
URL="http://127.0.0.1:$NGINX_PORT/index.html"

#!/usr/bin/python3
# A stand-in for "your service" in docs/own-system.md's smallest scenario (tests/runner/
# docs_scenarios_test.cpp runs that scenario as the page prints it): listens where PORT says,
# answers GET /healthz, serves http_requests_total{code} on /metrics, and answers every other
# GET by sending PING to the Redis at REDIS_ADDR (200 on +PONG, 503 when Redis fails or takes
# longer than 2 s).
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ["PORT"])
REDIS_HOST, REDIS_PORT = os.environ["REDIS_ADDR"].rsplit(":", 1)
counts = {"200": 0, "503": 0}
lock = threading.Lock()


def redis_ping():
    with socket.create_connection((REDIS_HOST, int(REDIS_PORT)), timeout=2) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        return s.recv(64).startswith(b"+PONG")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/healthz":
            return self.reply(200, b"ok\n")
        if self.path == "/metrics":
            with lock:
                lines = [f'http_requests_total{{code="{c}"}} {n}' for c, n in sorted(counts.items())]
            text = "# TYPE http_requests_total counter\n" + "\n".join(lines) + "\n"
            return self.reply(200, text.encode())
        try:
            ok = redis_ping()
        except OSError:
            ok = False
        code = 200 if ok else 503
        with lock:
            counts[str(code)] += 1
        self.reply(code, b"pong\n" if ok else b"redis unavailable\n")

    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()

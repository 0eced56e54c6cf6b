#!/usr/bin/env python3
"""A minimal TCP relay for bench/proxy/bulk.sh: the same loop moving bytes either through a user
space buffer (recv_into + send, as faultline does) or with splice(2) through a pipe, so the two
methods can be compared with everything else equal.
usage: relay.py copy|splice LISTEN_PORT UPSTREAM_PORT (prints "ready" once listening)"""
import os
import socket
import sys
import threading

CHUNK = 64 * 1024


def pump_copy(src, dst):
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        n = src.recv_into(buf)
        if n == 0:
            break
        dst.sendall(view[:n])


def pump_splice(src, dst):
    r, w = os.pipe()
    try:
        while True:
            n = os.splice(src.fileno(), w, CHUNK)
            if n == 0:
                break
            while n:
                n -= os.splice(r, dst.fileno(), n)
    finally:
        os.close(r)
        os.close(w)


def pump(method, src, dst):
    try:
        method(src, dst)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def main():
    mode, listen_port, upstream_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    method = pump_copy if mode == "copy" else pump_splice
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(64)
    print("ready", flush=True)
    while True:
        client, _ = ls.accept()
        up = socket.create_connection(("127.0.0.1", upstream_port))
        for s in (client, up):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pump, args=(method, client, up), daemon=True).start()
        threading.Thread(target=pump, args=(method, up, client), daemon=True).start()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""A WebSocket echo server for the proxy's WebSocket tests (python3-websockets, not Beast).

Prints "listening on 127.0.0.1:PORT", then one line per event the tests look for:
  "open PATH" (with "header NAME: VALUE" for each request header), "ping HEX" for each ping
  received, "closed CODE REASON" when a connection ends (the close code the server received).
Messages are echoed, except:
  "close CODE REASON"  the server closes with that code and reason;
  "push N"             the server sends "push-1" .. "push-N" (text);
  "binary N"           the server sends N bytes 0..255 repeated as one binary message.
GET /refuse is answered 403 with a body (an upgrade the upstream declines); GET /plain/N, 200
with N bytes (an ordinary HTTP request through the same proxy).
Options: --tls CERT KEY (wss).
"""
import asyncio
import http
import logging
import ssl
import sys

import websockets
import websockets.server


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class PingLog(logging.Handler):
    def emit(self, record):
        msg = record.getMessage()
        if msg.startswith("< PING"):
            out("ping " + msg)


async def process_request(path, headers):
    if path.startswith("/refuse"):
        return http.HTTPStatus.FORBIDDEN, [("Content-Type", "text/plain"), ("X-Why", "nope")], b"refused by upstream\n"
    if path.startswith("/plain/"):
        body = b"p" * int(path[len("/plain/"):])
        return http.HTTPStatus.OK, [("Content-Type", "application/octet-stream")], body
    return None


async def handler(ws, path):
    out("open " + path)
    for name, value in ws.request_headers.raw_items():
        out("header %s: %s" % (name.lower(), value))
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("close "):
                parts = message.split(" ", 2)
                await ws.close(int(parts[1]), parts[2] if len(parts) > 2 else "")
                break
            if isinstance(message, str) and message.startswith("push "):
                for i in range(int(message.split(" ")[1])):
                    await ws.send("push-%d" % (i + 1))
                continue
            if isinstance(message, str) and message.startswith("binary "):
                n = int(message.split(" ")[1])
                await ws.send(bytes(i % 256 for i in range(n)))
                continue
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    out("closed %s %s" % (ws.close_code, ws.close_reason))


async def main():
    logger = logging.getLogger("websockets.server")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(PingLog())
    context = None
    if len(sys.argv) >= 4 and sys.argv[1] == "--tls":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
    async with websockets.server.serve(
        handler, "127.0.0.1", 0, ssl=context, process_request=process_request,
        subprotocols=["chat", "superchat"], extra_headers=[("Set-Cookie", "session=abc")],
        compression=None, max_size=64 << 20, ping_interval=None,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        out("listening on 127.0.0.1:%d" % port)
        await asyncio.Future()


asyncio.run(main())

#!/usr/bin/python3
"""A WebSocket (and tiny SSE) peer for loadgen_websocket_test, on Debian's python3-websockets (not
Beast, unlike the target's echo). Prints "listening on 127.0.0.1:PORT", then serves by path:
  /echo                    echoes every message
  /close-after/N/CODE      echoes N messages, then closes with CODE ("restart")
  /close-at/MS/CODE        echoes, and closes with CODE MS milliseconds after the handshake
  /silent                  never answers
  /badutf8                 answers each message with a text frame that is not UTF-8
  /sse/N                   (plain HTTP) N events with ids, then the end of the body; prints the
                           Last-Event-ID header it got as "last-event-id: VALUE" (or "-")
"""
import asyncio
import http
import sys

import websockets


async def handler(ws, path=None):
    parts = ws.path.strip("/").split("/")
    kind = parts[0]
    if kind == "close-at":
        ms, code = int(parts[1]), int(parts[2])

        async def closer():
            await asyncio.sleep(ms / 1000)
            await ws.close(code=code, reason="bye")

        asyncio.ensure_future(closer())
    n = 0
    try:
        async for message in ws:
            if kind == "silent":
                continue
            if kind == "badutf8":
                # A raw, unmasked text frame (FIN, opcode 1) of 2 bytes that are not UTF-8.
                ws.transport.write(b"\x81\x02\xff\xfe")
                continue
            await ws.send(message)
            n += 1
            if kind == "close-after" and n >= int(parts[1]):
                await ws.close(code=int(parts[2]), reason="restart")
                return
    except websockets.ConnectionClosed:
        pass


async def process_request(path, headers):
    if not path.startswith("/sse/"):
        return None
    last = headers.get("Last-Event-ID", "-")
    print(f"last-event-id: {last}", flush=True)
    start = int(last) + 1 if last.isdigit() else 1
    count = int(path.split("/")[2])
    body = "".join(f"id: {i}\ndata: event {i}\n\n" for i in range(start, start + count))
    return (http.HTTPStatus.OK, [("Content-Type", "text/event-stream")], body.encode())


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0,
                                process_request=process_request) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening on 127.0.0.1:{port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)

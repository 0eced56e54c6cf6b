#!/usr/bin/python3
"""A WebSocket client for the proxy's WebSocket tests (python3-websockets, not Beast).

usage: ws_client.py URL STEPS_JSON [--subprotocol P] [--cacert FILE] [--header "Name: value"]

STEPS_JSON is a list of steps, run in order; each prints one line:
  {"send": "text"}             -> "sent"
  {"send_binary": N}           -> "sent"             (N bytes 0..255 repeated)
  {"send_fragments": [K, N]}   -> "sent"             (one binary message of K fragments of N bytes)
  {"recv": true}               -> "recv text PAYLOAD" | "recv binary N"  (or ends, see below)
  {"recv_many": N}             -> one "recv ..." line per message
  {"ping": "payload"}          -> "pong MS"          (round trip of the ping)
  {"rtt": "payload", "n": N}   -> "rtt MS" per echo  (send, wait for the reply)
  {"rtt_binary": N}            -> "rtt MS"           (N bytes sent, their echo received)
  {"sleep": MS}                -> "slept"
  {"close": [CODE, "reason"]}  -> the close handshake, then the closed line
  {"wait_close": true}         -> reads until the connection ends
Every step that ends with the connection prints "closed rcvd=CODE reason=REASON sent=CODE" and
stops the script. A refused handshake prints "status N" (and "header NAME: VALUE" lines, "body
TEXT"); a connection that cannot be made prints "error TEXT". "open SUBPROTOCOL" comes first.
"""
import asyncio
import json
import ssl
import sys
import time

import websockets
import websockets.client
import websockets.exceptions


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def closed_line(ws, exc=None):
    rcvd = exc.rcvd if exc is not None else ws.close_rcvd
    sent = exc.sent if exc is not None else ws.close_sent
    out("closed rcvd=%s reason=%s sent=%s" % (
        rcvd.code if rcvd else "none", rcvd.reason if rcvd else "",
        sent.code if sent else "none"))


def describe(message):
    if isinstance(message, str):
        return "recv text " + message
    return "recv binary %d" % len(message)


async def run(url, steps, subprotocol, cacert, headers):
    context = None
    if url.startswith("wss:"):
        context = ssl.create_default_context(cafile=cacert)
        context.check_hostname = False
    try:
        ws = await websockets.client.connect(
            url, ssl=context, subprotocols=[subprotocol] if subprotocol else None,
            extra_headers=headers, compression=None, max_size=64 << 20, ping_interval=None,
            open_timeout=10, close_timeout=5)
    except websockets.exceptions.InvalidStatusCode as e:
        out("status %d" % e.status_code)
        for name, value in e.headers.raw_items():
            out("header %s: %s" % (name.lower(), value))
        return
    except Exception as e:  # noqa: BLE001 - reported to the test
        out("error %s %s" % (type(e).__name__, e))
        return
    out("open %s" % (ws.subprotocol or "-"))
    for name, value in ws.response_headers.raw_items():
        out("header %s: %s" % (name.lower(), value))
    try:
        for step in steps:
            if "send" in step:
                await ws.send(step["send"])
                out("sent")
            elif "send_binary" in step:
                await ws.send(bytes(i % 256 for i in range(step["send_binary"])))
                out("sent")
            elif "send_fragments" in step:
                count, size = step["send_fragments"]
                piece = bytes(i % 256 for i in range(size))
                await ws.send(piece for _ in range(count))
                out("sent")
            elif "recv" in step:
                out(describe(await asyncio.wait_for(ws.recv(), 10)))
            elif "recv_many" in step:
                for _ in range(step["recv_many"]):
                    out(describe(await asyncio.wait_for(ws.recv(), 10)))
            elif "ping" in step:
                t0 = time.monotonic()
                waiter = await ws.ping(step["ping"])
                await asyncio.wait_for(waiter, 10)
                out("pong %.3f" % ((time.monotonic() - t0) * 1000))
            elif "rtt" in step:
                for _ in range(step.get("n", 1)):
                    t0 = time.monotonic()
                    await ws.send(step["rtt"])
                    await asyncio.wait_for(ws.recv(), 10)
                    out("rtt %.3f" % ((time.monotonic() - t0) * 1000))
            elif "rtt_binary" in step:
                payload = bytes(i % 256 for i in range(step["rtt_binary"]))
                t0 = time.monotonic()
                await ws.send(payload)
                reply = await asyncio.wait_for(ws.recv(), 30)
                out("rtt %.3f" % ((time.monotonic() - t0) * 1000))
                if reply != payload:
                    out("mismatch")
            elif "sleep" in step:
                await asyncio.sleep(step["sleep"] / 1000)
                out("slept")
            elif "close" in step:
                await ws.close(step["close"][0], step["close"][1])
                closed_line(ws)
                return
            elif "wait_close" in step:
                await asyncio.wait_for(ws.wait_closed(), 30)
                closed_line(ws)
                return
    except websockets.exceptions.ConnectionClosed as e:
        closed_line(ws, e)
        return
    except asyncio.TimeoutError:
        out("timeout")
        return
    await ws.close()
    closed_line(ws)


def main():
    url, steps = sys.argv[1], json.loads(sys.argv[2])
    subprotocol, cacert, headers = None, None, []
    args = sys.argv[3:]
    while args:
        if args[0] == "--subprotocol":
            subprotocol = args[1]
        elif args[0] == "--cacert":
            cacert = args[1]
        elif args[0] == "--header":
            name, value = args[1].split(":", 1)
            headers.append((name.strip(), value.strip()))
        args = args[2:]
    asyncio.run(run(url, steps, subprotocol, cacert, headers))


main()

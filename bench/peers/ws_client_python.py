#!/usr/bin/python3
"""Peer client for bench/run_clients: the WebSocket echo client of bench_ws_client
(ws_client.cpp) written on Python's `websockets` package (Debian's python3-websockets, asyncio),
with the same arguments, the same checks and the same JSON line.

usage: /usr/bin/python3 ws_client_python.py URL [--conns C] [--window W] [--size S]
                                            [--text|--binary] [--duration D] [--warmup SECONDS]

Opens C connections and keeps W messages of S bytes in flight on each: each connection's task
sends W, then receives an echo and sends one more, in a loop. Every echo's kind, length and
sequence number (its first 8 bytes) are checked, and every 64th echo byte for byte. After the
warm-up (counted from the moment all connections are open) it counts echoes and its own CPU
time (resource.getrusage(RUSAGE_SELF): user + system) over D seconds. Compression and
keepalive pings are off, as in the other clients; everything else is the library's default.
"""

import argparse
import asyncio
import json
import resource
import sys
import time

import websockets

SEQ_BYTES = 8


def parse_args():
    p = argparse.ArgumentParser(description="WebSocket echo client benchmark (websockets)")
    p.add_argument("url")
    p.add_argument("--conns", type=int, default=1)
    p.add_argument("--window", type=int, default=1)
    p.add_argument("--size", type=int, default=32)
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--text", dest="text", action="store_true", default=True)
    kind.add_argument("--binary", dest="text", action="store_false")
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("--warmup", type=float, default=1)
    a = p.parse_args()
    if a.conns < 1 or a.window < 1 or a.size < 1 or a.duration <= 0 or a.warmup < 0:
        p.error("conns, window and size must be >= 1, duration > 0, warmup >= 0")
    return a


class Bench:
    def __init__(self, args):
        self.args = args
        self.prefix = min(args.size, SEQ_BYTES)
        # Printable filler, so the same bytes are valid as text and as binary.
        body = "".join(chr(97 + i * 7 % 26) for i in range(args.size))
        self.body = body if args.text else body.encode("latin-1")
        self.tail = self.body[self.prefix :]
        self.total = 0
        self.errors = 0
        self.first_error = None

    def seq(self, n):
        s = "%08x" % (n & 0xFFFFFFFF)
        s = s[: self.prefix]
        return s if self.args.text else s.encode("latin-1")

    def fail(self, why):
        if self.errors == 0:
            print("ws_client_python: " + why, file=sys.stderr)
        self.errors += 1
        raise RuntimeError(why)

    async def link(self, ws):
        args = self.args
        kind = str if args.text else bytes
        sent = received = 0
        for _ in range(args.window):
            await ws.send(self.seq(sent) + self.tail)
            sent += 1
        while True:
            msg = await ws.recv()
            if type(msg) is not kind or len(msg) != args.size:
                self.fail("echo %d: %s of %d bytes" % (received, type(msg).__name__, len(msg)))
            ok = msg[: self.prefix] == self.seq(received)
            if ok and received % 64 == 0:
                ok = msg[self.prefix :] == self.tail
            if not ok:
                self.fail("echo %d: wrong bytes" % received)
            received += 1
            self.total += 1
            await ws.send(self.seq(sent) + self.tail)
            sent += 1

    async def run(self):
        args = self.args
        conns = await asyncio.gather(
            *(
                websockets.connect(
                    args.url, compression=None, ping_interval=None, max_size=64 * 1024 * 1024
                )
                for _ in range(args.conns)
            )
        )
        tasks = [asyncio.create_task(self.link(ws)) for ws in conns]
        stopped = asyncio.gather(*tasks)
        measured = None
        # The tasks run until cancelled: one that ends before the window does (a wrong
        # echo, a close) ends the run.
        if not await self.ended(stopped, args.warmup):
            start = self.snapshot()
            if not await self.ended(stopped, args.duration):
                measured = (start, self.snapshot())
        for t in tasks:
            t.cancel()
        try:
            await stopped
        except BaseException:  # noqa: BLE001: cancelled, or the failure already reported
            pass
        for ws in conns:
            ws.transport.abort()
        return measured

    async def ended(self, stopped, seconds):
        """Waits `seconds`; True if the connection tasks ended (failed) meanwhile."""
        try:
            await asyncio.wait_for(asyncio.shield(stopped), seconds)
        except asyncio.TimeoutError:
            return False
        except Exception as e:  # noqa: BLE001: reported in the JSON line
            if self.errors == 0:
                self.fail_quietly(e)
        return True

    def fail_quietly(self, e):
        print("ws_client_python: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        self.errors += 1

    def snapshot(self):
        r = resource.getrusage(resource.RUSAGE_SELF)
        return self.total, r.ru_utime, r.ru_stime, time.monotonic()


def main():
    args = parse_args()
    bench = Bench(args)
    try:
        measured = asyncio.run(bench.run())
    except Exception as e:  # noqa: BLE001: a failed connect is reported in the JSON line
        bench.fail_quietly(e)
        measured = None
    msgs = seconds = user = sys_s = 0.0
    if measured:
        (m0, u0, s0, t0), (m1, u1, s1, t1) = measured
        msgs, seconds, user, sys_s = m1 - m0, t1 - t0, u1 - u0, s1 - s0
    cpu = user + sys_s
    ok = measured is not None and bench.errors == 0 and msgs > 0
    print(
        json.dumps(
            {
                "client": "python-websockets",
                "url": args.url,
                "conns": args.conns,
                "window": args.window,
                "size": args.size,
                "kind": "text" if args.text else "binary",
                "warmup_s": args.warmup,
                "seconds": round(seconds, 3),
                "msgs": int(msgs),
                "msgs_per_s": round(msgs / seconds, 1) if seconds > 0 else 0,
                "cpu_user_s": round(user, 3),
                "cpu_sys_s": round(sys_s, 3),
                "cpu_s": round(cpu, 3),
                "cpu_us_per_msg": round(cpu * 1e6 / msgs, 3) if msgs > 0 else 0,
                "cpu_util": round(cpu / seconds, 3) if seconds > 0 else 0,
                "errors": bench.errors + (0 if ok or bench.errors else 1),
            },
            separators=(",", ":"),
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

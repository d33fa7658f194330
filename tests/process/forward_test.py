#!/usr/bin/python3
"""The built-in `forward` app in a real wman: a WebSocket client (python3-websockets) through a
ws:// forward worker to a text:// echo upstream keeps 10,000 messages whole and in order; an
upstream that cannot be reached closes the client with 1014, one that goes away with 1001; an
upstream that stops reading pauses the client, and the worker's memory stays bounded.

usage: forward_test.py WMAN_BINARY
"""
import asyncio
import os
import socket
import sys
import threading
import unittest

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wman_harness import Wman, free_port, wait_until  # noqa: E402

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


class Upstream:
    """A TCP server the test controls: it accepts, and reads (discarding) unless `read` is
    False; close() ends the listener and every accepted connection."""

    def __init__(self, read=True):
        self.read = read
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.accepted.set()
            if self.read:
                threading.Thread(target=self._drain, args=(c,), daemon=True).start()

    @staticmethod
    def _drain(c):
        try:
            while c.recv(65536):
                pass
        except OSError:
            pass

    def close(self):
        # shutdown() first: it sends the FIN and wakes a thread blocked in recv(), which a
        # bare close() from another thread does not.
        for s in [self.sock] + self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class Forward(unittest.TestCase):
    def setUp(self):
        self.w = Wman(WMAN, "echo")
        self.bridge_port = free_port()

    def tearDown(self):
        reports = self.w.cleanup()
        self.assertEqual(reports, "", "sanitizer reports:\n" + reports[:20000])

    def start(self, upstream, echo_port=None):
        lines = ["[daemon]", 'run_dir = "%s"' % self.w.dir, 'log_level = "info"',
                 'stop_timeout = "2s"']
        if echo_port:
            lines += ["", "[[worker]]", 'name = "upstream"',
                      'listen = "text://127.0.0.1:%d"' % echo_port, "count = 1", 'app = "echo"']
        lines += ["", "[[worker]]", 'name = "bridge"',
                  'listen = "ws://127.0.0.1:%d"' % self.bridge_port, "count = 1",
                  'app = "forward"', "[worker.options]", 'upstream = "%s"' % upstream]
        self.w.write_config([], raw="\n".join(lines) + "\n")
        self.w.start_daemon()
        if echo_port:
            self.w.wait_settled(1, name="upstream")
        doc = self.w.wait_settled(1, name="bridge")
        return next(r["pid"] for r in doc["workers"] if r["name"] == "bridge")

    def url(self):
        return "ws://127.0.0.1:%d/" % self.bridge_port

    def test_ten_thousand_messages_through_to_a_text_echo_arrive_whole_and_in_order(self):
        echo_port = free_port()
        self.start("text://127.0.0.1:%d" % echo_port, echo_port=echo_port)

        async def run():
            async with websockets.connect(self.url(), max_size=None) as ws:
                sent = ["message %d %s" % (i, "x" * (i % 300)) for i in range(10000)]

                async def send_all():
                    for m in sent:
                        await ws.send(m)
                sender = asyncio.ensure_future(send_all())
                got = [await asyncio.wait_for(ws.recv(), 20) for _ in range(len(sent))]
                await sender
                return sent, got
        sent, got = asyncio.run(run())
        self.assertEqual(len(got), 10000)
        self.assertEqual(got, sent)

    def test_an_unreachable_upstream_closes_the_client_with_1014(self):
        self.start("text://127.0.0.1:%d" % free_port())

        async def run():
            async with websockets.connect(self.url()) as ws:
                with self.assertRaises(websockets.ConnectionClosed) as caught:
                    await asyncio.wait_for(ws.recv(), 20)
                return caught.exception
        closed = asyncio.run(run())
        self.assertEqual(closed.code, 1014)
        self.assertEqual(closed.reason, "upstream unreachable")

    def test_an_upstream_that_goes_away_closes_the_client_with_1001(self):
        up = Upstream()
        try:
            self.start("text://127.0.0.1:%d" % up.port)

            async def run():
                async with websockets.connect(self.url()) as ws:
                    await ws.send("hello")
                    await asyncio.get_running_loop().run_in_executor(
                        None, up.accepted.wait, 20)
                    up.close()
                    with self.assertRaises(websockets.ConnectionClosed) as caught:
                        await asyncio.wait_for(ws.recv(), 20)
                    return caught.exception
            closed = asyncio.run(run())
            self.assertEqual(closed.code, 1001)
        finally:
            up.close()

    def test_an_upstream_that_stops_reading_pauses_the_client_and_memory_stays_bounded(self):
        up = Upstream(read=False)
        try:
            bridge = self.start("text://127.0.0.1:%d" % up.port)
            before = rss_kib(bridge)
            chunk = "y" * (64 * 1024)
            limit = 256 * 1024 * 1024  # what a relay without back-pressure would hold

            async def run():
                sent = 0
                async with websockets.connect(self.url(), max_size=None) as ws:
                    # Sends until the relay stops taking more: its send awaits the socket,
                    # which fills once wman stops reading this client.
                    while sent < limit:
                        try:
                            await asyncio.wait_for(ws.send(chunk), 3)
                        except asyncio.TimeoutError:
                            break
                        sent += len(chunk)
                    peak = rss_kib(bridge)
                    return sent, peak
            sent, peak = asyncio.run(run())
            print("stalled upstream: client pushed %d KiB, bridge RSS +%d KiB" %
                  (sent // 1024, peak - before))
            self.assertLess(sent, 64 * 1024 * 1024,
                            "the client could push %d bytes into a stalled upstream" % sent)
            self.assertLess(peak - before, 48 * 1024,
                            "bridge RSS grew by %d KiB" % (peak - before))
            wait_until(lambda: self.w.status(), what="status after the stall")
        finally:
            up.close()


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

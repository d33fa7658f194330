#!/usr/bin/python3
"""Interop: the python3-websockets client (asyncio API, websockets 10.4) against wman's
websocket echo worker: echo of text and binary across the frame-length encodings up to
max_message_size, 1009 one byte beyond it, fragmented messages (text split inside a UTF-8
character), ping/pong, close codes, 1007 for invalid UTF-8, and the [worker.websocket]
options max_message_size, permessage_deflate and ping_interval.

usage: websockets_client_test.py WMAN_BINARY [unittest args]
"""
import asyncio
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_support import (DEFAULT_MAX_MESSAGE, ECHO_SIZES, OP_BINARY, OP_CONT,  # noqa: E402
                             OP_PING, OP_PONG, OP_TEXT, WAIT, MiB, RawWs, binary_of_size,
                             start_echo_wman, stop_wman, text_of_size)

import websockets  # noqa: E402  (Debian's python3-websockets)
from websockets.exceptions import ConnectionClosed  # noqa: E402

WMAN = sys.argv[1] if len(sys.argv) > 1 else "build/bin/wman"
SMALL_LIMIT = MiB  # max_message_size of the "small" worker


def run(coro, timeout=4 * WAIT):
    """Runs one test coroutine, bounded."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def describe(data):
    return "%s of %d" % (type(data).__name__, len(data))


class WebsocketsClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        workers = [
            # All defaults: max_message_size 16 MiB, no compression, no server pings.
            {"name": "echo"},
            {"name": "small", "websocket": {"max_message_size": '"1MiB"',
                                            "permessage_deflate": "true"}},
            {"name": "pinger", "websocket": {"ping_interval": '"200ms"'}},
        ]
        cls.wman = start_echo_wman(WMAN, workers)  # fills in each worker's free port
        cls.port = {w["name"]: w["port"] for w in workers}

    @classmethod
    def tearDownClass(cls):
        stop_wman(cls.wman)

    def url(self, worker="echo"):
        return "ws://127.0.0.1:%d/" % self.port[worker]

    def connect(self, worker="echo", **kw):
        kw.setdefault("compression", None)
        return websockets.connect(self.url(worker), max_size=None, ping_interval=None,
                                  open_timeout=WAIT, close_timeout=WAIT, **kw)

    def assertEcho(self, sent, got):
        self.assertIs(type(got), type(sent), "kind changed: sent %s, got %s" % (
            describe(sent), describe(got)))
        if got != sent:
            first = next((i for i, (a, b) in enumerate(zip(sent, got)) if a != b),
                         min(len(sent), len(got)))
            self.fail("echo differs: sent %s, got %s, first difference at %d" % (
                describe(sent), describe(got), first))

    async def expect_close_code(self, ws, send, code):
        """Sends `send` (a message or a coroutine factory) and expects the server to close the
        connection with `code`; returns the ConnectionClosed exception."""
        try:
            await send()
            got = await ws.recv()
            self.fail("expected close %d, got a message (%s)" % (code, describe(got)))
        except ConnectionClosed as e:
            rcvd = e.rcvd.code if e.rcvd else None
            self.assertEqual(rcvd, code, "server closed with %r (exception: %r)" % (rcvd, e))
            return e

    # ---- echo ---------------------------------------------------------------------------
    def test_echo_text_and_binary_all_sizes(self):
        async def body():
            ws = await self.connect()
            try:
                for size in ECHO_SIZES:
                    for msg in (text_of_size(size), binary_of_size(size)):
                        with self.subTest(kind=type(msg).__name__, size=size):
                            if ws.closed:  # a failed case closed it; go on with a new one
                                ws = await self.connect()
                            await ws.send(msg)
                            self.assertEcho(msg, await ws.recv())
            finally:
                await ws.close()
        run(body())

    def test_one_byte_over_max_message_size_closes_1009(self):
        async def body():
            async with self.connect() as ws:
                big = binary_of_size(DEFAULT_MAX_MESSAGE + 1)
                await self.expect_close_code(ws, lambda: ws.send(big), 1009)
        run(body())

    def test_max_message_size_option(self):
        # The "small" worker's max_message_size = 1 MiB: exactly 1 MiB echoes, one byte more
        # closes with 1009 -- whole, or reassembled from fragments.
        async def body():
            async with self.connect("small") as ws:
                msg = binary_of_size(SMALL_LIMIT)
                await ws.send(msg)
                self.assertEcho(msg, await ws.recv())
                over = text_of_size(SMALL_LIMIT + 1)
                await self.expect_close_code(ws, lambda: ws.send(over), 1009)
            async with self.connect("small") as ws:
                parts = [binary_of_size(SMALL_LIMIT // 2, 1), binary_of_size(SMALL_LIMIT // 2, 2),
                         b"!"]
                await self.expect_close_code(ws, lambda: ws.send(parts), 1009)
        run(body())

    # ---- permessage-deflate (websockets' own implementation) ----------------------------
    def test_permessage_deflate_echo_and_decompressed_limit(self):
        async def body():
            async with self.connect("small", compression="deflate") as ws:
                names = [type(e).__name__ for e in ws.extensions]
                self.assertEqual(names, ["PerMessageDeflate"],
                                 "permessage_deflate = true, yet not negotiated; response "
                                 "headers: %s" % dict(ws.response_headers))
                for msg in (text_of_size(100000), bytes(SMALL_LIMIT), binary_of_size(70000)):
                    await ws.send(msg)
                    self.assertEcho(msg, await ws.recv())
                # 1 MiB + 1 zero bytes compress to ~1 KiB; the limit applies after inflating.
                await self.expect_close_code(ws, lambda: ws.send(bytes(SMALL_LIMIT + 1)), 1009)
            async with self.connect("echo", compression="deflate") as ws:
                self.assertEqual(ws.extensions, [],
                                 "negotiated although permessage_deflate is off")
                await ws.send("plain")
                self.assertEqual(await ws.recv(), "plain")
        run(body())

    # ---- fragmentation ------------------------------------------------------------------
    def test_fragmented_messages(self):
        async def body():
            async with self.connect() as ws:
                parts = [b"first", b"", binary_of_size(70000), b"last"]
                await ws.send(parts)
                self.assertEcho(b"".join(parts), await ws.recv())
                texts = ["h\u00e9llo ", "", "w\u00f6rld \u20ac", "\U0001F600" * 40000]
                await ws.send(texts)
                self.assertEcho("".join(texts), await ws.recv())

                async def agen():
                    for i in range(50):
                        yield "frag%d," % i
                await ws.send(agen())
                self.assertEcho("".join("frag%d," % i for i in range(50)), await ws.recv())
        run(body())

    def test_text_fragments_split_inside_utf8_characters(self):
        # websockets encodes each str fragment on its own, so write the frames directly:
        # "caf\u00e9 \U0001F600!" with the 2-byte and the 4-byte character cut across frames.
        whole = "caf\u00e9 \U0001F600!".encode()
        cuts = [b"caf\xc3", b"\xa9 \xf0", b"", b"\x9f", b"\x98\x80!"]
        self.assertEqual(b"".join(cuts), whole)

        async def body():
            async with self.connect() as ws:
                await ws.write_frame(False, OP_TEXT, cuts[0])
                for c in cuts[1:-1]:
                    await ws.write_frame(False, OP_CONT, c)
                await ws.write_frame(True, OP_CONT, cuts[-1])
                self.assertEcho(whole.decode(), await ws.recv())
        run(body())

    def test_ping_between_fragments(self):
        with RawWs(self.port["echo"]) as c:
            c.send_frame(OP_TEXT, b"part one, ", fin=False)
            c.send_frame(OP_PING, b"mid-message")
            c.send_frame(OP_CONT, b"part two", fin=True)
            self.assertEqual(c.read_frame(), (True, OP_PONG, b"mid-message"))
            self.assertEqual(c.read_frame(), (True, OP_TEXT, b"part one, part two"))

    # ---- ping / pong --------------------------------------------------------------------
    def test_ping_gets_pong_with_same_payload(self):
        async def body():
            async with self.connect() as ws:
                # websockets resolves a waiter only on a pong carrying that ping's payload.
                for payload in (b"ping-1", b"", bytes(range(125))):
                    waiter = await ws.ping(payload)
                    await asyncio.wait_for(waiter, WAIT)
                await ws.send("still open")
                self.assertEqual(await ws.recv(), "still open")
        run(body())
        with RawWs(self.port["echo"]) as c:
            for payload in (b"raw", bytes(range(125)), b""):
                c.send_frame(OP_PING, payload)
                self.assertEqual(c.read_frame(), (True, OP_PONG, payload))

    def test_server_pings_at_ping_interval(self):
        # "pinger": ping_interval = 200ms. Two pings must arrive; answering them keeps the
        # connection open and echoing.
        with RawWs(self.port["pinger"], timeout=5) as c:
            for _ in range(2):
                fin, op, payload = c.read_frame()
                self.assertEqual((fin, op), (True, OP_PING),
                                 "expected a server ping, got opcode %#x" % op)
                c.send_frame(OP_PONG, payload)
            c.send_frame(OP_BINARY, b"after pings")
            while True:
                fin, op, payload = c.read_frame()
                if op != OP_PING:
                    break
            self.assertEqual((fin, op, payload), (True, OP_BINARY, b"after pings"))

    # ---- close --------------------------------------------------------------------------
    def test_close_codes_echoed(self):
        async def body():
            for code, reason in ((1000, ""), (4000, "custom reason"), (4999, "\u00e9t\u00e9")):
                with self.subTest(code=code):
                    ws = await self.connect()
                    await ws.send("x")
                    self.assertEqual(await ws.recv(), "x")
                    await ws.close(code, reason)
                    # close() returns once the server answered and the TCP connection ended.
                    self.assertEqual(ws.close_code, code,
                                     "server answered Close(%d) with %r" % (code, ws.close_code))
        run(body())

    def test_invalid_utf8_closes_1007(self):
        cases = {
            "single frame": [(OP_TEXT, b"ok \xff\xfe", True)],
            "overlong": [(OP_TEXT, b"\xc0\xaf", True)],
            "surrogate": [(OP_TEXT, b"\xed\xa0\x80", True)],
            "truncated at end": [(OP_TEXT, b"abc\xe2\x82", True)],
            "across fragments": [(OP_TEXT, b"abc\xe2\x82", False), (OP_CONT, b"A", True)],
        }
        for name, frames in cases.items():
            with self.subTest(case=name), RawWs(self.port["echo"]) as c:
                for op, payload, fin in frames:
                    c.send_frame(op, payload, fin=fin)
                code, _ = c.read_close()
                self.assertEqual(code, 1007)
                self.assertTrue(c.closed_by_server(), "TCP connection left open after 1007")


class ReloadTest(unittest.TestCase):
    """A plain `wman reload` tells the old generation's sessions 1001 "server going away",
    and a client that reconnects is served by the new generation."""

    def setUp(self):
        spec = {"name": "echo"}
        self.wman = start_echo_wman(WMAN, [spec])  # fills in spec["port"]
        self.port = spec["port"]

    def tearDown(self):
        stop_wman(self.wman)

    def test_reload_closes_sessions_with_1001(self):
        url = "ws://127.0.0.1:%d/" % self.port

        async def body():
            old = [await websockets.connect(url, ping_interval=None, compression=None)
                   for _ in range(2)]
            for ws in old:
                await ws.send("before")
                self.assertEqual(await ws.recv(), "before")
            proc = await asyncio.create_subprocess_exec(
                self.wman.binary, "reload", "-c", self.wman.config_path,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=self.wman.env)
            out, err = await proc.communicate()
            self.assertEqual(proc.returncode, 0, (out + err).decode())
            for ws in old:
                with self.assertRaises(ConnectionClosed):
                    await ws.recv()
                self.assertEqual(ws.close_code, 1001)
                self.assertEqual(ws.close_reason, "server going away")
            async with websockets.connect(url, ping_interval=None) as ws:
                await ws.send("after")
                self.assertEqual(await ws.recv(), "after")
        run(body())


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])

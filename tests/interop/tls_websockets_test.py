#!/usr/bin/python3
"""Interop: the python3-websockets client over wss:// (an ssl context trusting only the test
CA from scripts/gen_test_certs) against wman's wss:// echo worker: text and binary echo up to
max_message_size, ping/pong, close codes; and the refusals: a client that does not trust the
CA, and a plain ws:// client on the TLS port (HTTP 400).

usage: tls_websockets_test.py WMAN_BINARY [unittest args]
"""
import asyncio
import os
import shutil
import ssl
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_support import (WAIT, MiB, binary_of_size, gen_test_certs,  # noqa: E402
                             start_echo_wman, stop_wman, text_of_size, tls_client_context, tls_table)
from websockets_client_test import describe, run  # noqa: E402

import websockets  # noqa: E402  (Debian's python3-websockets)
from websockets.exceptions import InvalidStatusCode  # noqa: E402

WMAN = sys.argv[1] if len(sys.argv) > 1 else "build/bin/wman"
WSS_ECHO_SIZES = [0, 125, 65536, MiB, 16 * MiB]  # 16 MiB = the default max_message_size


class TlsWebsocketsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="wman-tls-certs-")
        try:
            gen_test_certs(cls.certs)
            spec = {"name": "wss", "scheme": "wss", "tls": tls_table(cls.certs)}
            cls.wman = start_echo_wman(WMAN, [spec])
        except BaseException:
            shutil.rmtree(cls.certs, ignore_errors=True)
            raise
        cls.port = spec["port"]
        cls.ssl = tls_client_context(os.path.join(cls.certs, "ca.pem"))

    @classmethod
    def tearDownClass(cls):
        stop_wman(cls.wman, cls.certs)

    def connect(self, scheme="wss", **kw):
        kw.setdefault("ssl", self.ssl if scheme == "wss" else None)
        return websockets.connect("%s://127.0.0.1:%d/" % (scheme, self.port), max_size=None,
                                  ping_interval=None, compression=None, open_timeout=WAIT,
                                  close_timeout=WAIT, **kw)

    def assertEcho(self, sent, got):
        self.assertIs(type(got), type(sent), "kind changed: sent %s, got %s" % (
            describe(sent), describe(got)))
        if got != sent:
            first = next((i for i, (a, b) in enumerate(zip(sent, got)) if a != b),
                         min(len(sent), len(got)))
            self.fail("echo differs: sent %s, got %s, first difference at %d" % (
                describe(sent), describe(got), first))

    def test_echo_text_and_binary(self):
        async def body():
            ws = await self.connect()
            try:
                self.assertIsNotNone(ws.transport.get_extra_info("ssl_object"), "not TLS")
                for size in WSS_ECHO_SIZES:
                    for msg in (text_of_size(size), binary_of_size(size)):
                        with self.subTest(kind=type(msg).__name__, size=size):
                            if ws.closed:  # a failed case closed it; go on with a new one
                                ws = await self.connect()
                            await ws.send(msg)
                            self.assertEcho(msg, await ws.recv())
            finally:
                await ws.close()
        run(body())

    def test_ping_gets_pong(self):
        async def body():
            async with self.connect() as ws:
                for payload in (b"ping-1", b"", bytes(range(125))):
                    waiter = await ws.ping(payload)
                    await asyncio.wait_for(waiter, WAIT)
                await ws.send("still open")
                self.assertEqual(await ws.recv(), "still open")
        run(body())

    def test_close_codes_echoed(self):
        async def body():
            for code, reason in ((1000, ""), (4000, "custom reason"), (4999, "\u00e9t\u00e9")):
                with self.subTest(code=code):
                    ws = await self.connect()
                    await ws.send("x")
                    self.assertEqual(await ws.recv(), "x")
                    await ws.close(code, reason)  # wman echoes the code (not the reason)
                    self.assertEqual(ws.close_code, code,
                                     "server answered Close(%d) with %r" % (code, ws.close_code))
        run(body())

    def test_untrusted_ca_refused_by_client(self):
        async def body():
            with self.assertRaises(ssl.SSLCertVerificationError):
                async with self.connect(ssl=ssl.create_default_context()):
                    pass
        run(body())

    def test_plain_ws_client_gets_400(self):
        async def body():
            with self.assertRaises(InvalidStatusCode) as cm:
                async with self.connect("ws"):
                    pass
            self.assertEqual(cm.exception.status_code, 400)
            async with self.connect() as ws:  # the worker still serves wss://
                await ws.send("after ws://")
                self.assertEqual(await ws.recv(), "after ws://")
        run(body())


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])

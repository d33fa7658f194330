#!/usr/bin/python3
"""Interop: wman::AsyncConnection (build/bin/async_client_probe) as the client of real
servers: a python3-websockets echo server and a Node `ws` echo server, over ws:// and wss://
(certificates from scripts/gen_test_certs, verified with --ca), and build/bin/wman's own echo
workers (ws://, text://, frame://, tcp://).

Every run sends 100 messages and checks the echoes, in order: small ones, and 70 KB ones
(past the 16-bit WebSocket length, so the 64-bit form is used both ways). With
permessage-deflate negotiated, the compressible payload must cross the wire compressed both
ways; a subprotocol chosen by the server must be reported; and with no watchdog timer
(--timeout 0) the connection alone must keep the probe's loop running.

usage: async_client_interop_test.py WMAN_BINARY PROBE_BINARY [unittest args]
"""
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from interop_support import (free_port, gen_test_certs, require_node,  # noqa: E402
                             start_echo_wman, stop_wman)
from probe_support import node_ws_server, python_ws_server, run_probe  # noqa: E402

WMAN = sys.argv[1] if len(sys.argv) > 1 else "build/bin/wman"
PROBE = sys.argv[2] if len(sys.argv) > 2 else "build/bin/async_client_probe"
COUNT = 100
SMALL, LARGE = 32, 70 * 1000
SIZES = [SMALL, LARGE]
# The peers support chat.v2 and chat.v3; the probe offers chat.v1 then chat.v2.
SERVER_SUBPROTOCOLS = ("--subprotocol", "chat.v2", "--subprotocol", "chat.v3")
OFFERED = ("--subprotocol", "chat.v1", "--subprotocol", "chat.v2")


class ProbeAssertions:
    def probe(self, url, *flags):
        return run_probe(PROBE, url, *flags)

    def assertEchoed(self, r, count=COUNT):
        """The probe connected, got `count` matching echoes, closed, and exited 0."""
        self.assertEqual(r.names(), ["connect", "done", "close"], r.report())
        self.assertEqual(r.returncode, 0, r.report())
        self.assertEqual(r.first("done")["echoed"], count, r.report())
        return r.first("done")


class WebSocketPeerCases(ProbeAssertions):
    """What every WebSocket echo peer runs. setUpClass starts `cls.ws` and `cls.wss` (Peers
    with permessage-deflate on and SERVER_SUBPROTOCOLS) and sets `cls.certs`;
    start_peer(*flags), which each subclass gives, starts another one."""

    @classmethod
    def setUpClass(cls):
        cls.certs = start_cert_dir()
        cls.ws = cls.wss = None
        try:
            cls.ws = cls.start_peer("--deflate", *SERVER_SUBPROTOCOLS)
            cls.wss = cls.start_peer("--deflate", *SERVER_SUBPROTOCOLS, *tls_flags(cls.certs))
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for peer in (cls.ws, cls.wss):
            if peer:
                peer.stop()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def url(self, scheme, host="127.0.0.1"):
        peer = self.ws if scheme == "ws" else self.wss
        return "%s://%s:%d/echo?probe=1" % (scheme, host, peer.port)

    def run_scheme(self, scheme, *flags, host="127.0.0.1"):
        if scheme == "wss":
            flags += ("--ca", os.path.join(self.certs, "ca.pem"))
        return self.probe(self.url(scheme, host), *flags)

    def test_echo_small_and_large(self):
        for scheme in ("ws", "wss"):
            for size in SIZES:
                with self.subTest(scheme=scheme, size=size):
                    r = self.run_scheme(scheme, "--count", str(COUNT), "--size", str(size))
                    done = self.assertEchoed(r)
                    # Uncompressed: every payload byte is on the wire, plus frame headers.
                    self.assertGreaterEqual(done["bytes_written"], COUNT * size, r.report())
                    self.assertGreaterEqual(done["bytes_read"], COUNT * size, r.report())

    def test_permessage_deflate(self):
        for scheme in ("ws", "wss"):
            for size in SIZES:
                with self.subTest(scheme=scheme, size=size):
                    r = self.run_scheme(scheme, "--deflate", "--count", str(COUNT), "--size",
                                        str(size))
                    done = self.assertEchoed(r)
                    if size == LARGE:
                        # The payloads are a repeating pattern: compressed both ways, they
                        # take a small fraction of their size (7 MB) on the wire.
                        total = COUNT * size
                        self.assertLess(done["bytes_written"], total / 20, r.report())
                        self.assertLess(done["bytes_read"], total / 20, r.report())

    def test_subprotocol_chosen_by_server(self):
        for scheme in ("ws", "wss"):
            with self.subTest(scheme=scheme):
                r = self.run_scheme(scheme, *OFFERED, "--count", "5")
                self.assertEchoed(r, 5)
                self.assertEqual(r.first("connect")["subprotocol"], "chat.v2", r.report())
        r = self.run_scheme("ws", "--subprotocol", "chat.v9", "--count", "5")
        self.assertEchoed(r, 5)
        self.assertEqual(r.first("connect")["subprotocol"], "", r.report())
        r = self.run_scheme("ws", "--count", "5")
        self.assertEchoed(r, 5)
        self.assertEqual(r.first("connect")["subprotocol"], "", r.report())

    def test_refused_upgrade_is_a_connect_failure(self):
        # The server answers 403 and hangs up: the attempt fails with the handshake's reason
        # (not with the hang-up that follows it).
        peer = self.start_peer("--reject", "403")
        try:
            r = self.probe("ws://127.0.0.1:%d/" % peer.port, "--timeout", "0")
        finally:
            peer.stop()
        self.assertEqual(r.names(), ["error"], r.report())
        self.assertEqual(r.returncode, 1, r.report())
        self.assertEqual(r.first("error"), {
            "event": "error", "code": 1,
            "message": "handshake: server did not answer 101 Switching Protocols"}, r.report())

    def test_host_name_and_no_watchdog(self):
        # By name: localhost resolves (maybe to ::1 first, where nothing listens, then to
        # 127.0.0.1); the certificate is checked against the name. No watchdog timer: only
        # the connection keeps the loop alive until the probe is done.
        for scheme in ("ws", "wss"):
            with self.subTest(scheme=scheme):
                r = self.run_scheme(scheme, "--deflate", *OFFERED, "--count", str(COUNT),
                                    "--size", str(LARGE), "--timeout", "0", host="localhost")
                self.assertEchoed(r)


def start_cert_dir():
    certs = tempfile.mkdtemp(prefix="wman-probe-certs-")
    try:
        gen_test_certs(certs)
    except BaseException:
        shutil.rmtree(certs, ignore_errors=True)
        raise
    return certs


def tls_flags(certs):
    return ("--cert", os.path.join(certs, "server.pem"),
            "--key", os.path.join(certs, "server.key"))


class PythonWebsocketsPeerTest(WebSocketPeerCases, unittest.TestCase):
    @classmethod
    def start_peer(cls, *flags):
        return python_ws_server(*flags)


class NodeWsPeerTest(WebSocketPeerCases, unittest.TestCase):
    @classmethod
    def start_peer(cls, *flags):
        return node_ws_server(cls.node, *flags)

    @classmethod
    def setUpClass(cls):
        cls.node = require_node()
        super().setUpClass()


class WmanPeerTest(ProbeAssertions, unittest.TestCase):
    """build/bin/wman's echo workers (daemonized, in a temp run_dir) as the peers."""

    @classmethod
    def setUpClass(cls):
        workers = [{"name": "ws", "websocket": {"permessage_deflate": "true"}},
                   {"name": "text", "scheme": "text"},
                   {"name": "frame", "scheme": "frame"},
                   {"name": "tcp", "scheme": "tcp"}]
        cls.wman = start_echo_wman(WMAN, workers)
        cls.port = {w["name"]: w["port"] for w in workers}

    @classmethod
    def tearDownClass(cls):
        stop_wman(cls.wman)

    def url(self, name):
        path = "/chat?room=1" if name == "ws" else ""
        return "%s://127.0.0.1:%d%s" % (name, self.port[name], path)

    def test_every_scheme_small_and_large(self):
        for name in ("ws", "text", "frame", "tcp"):
            for size in SIZES:
                with self.subTest(scheme=name, size=size):
                    r = self.probe(self.url(name), "--count", str(COUNT), "--size", str(size))
                    done = self.assertEchoed(r)
                    self.assertGreaterEqual(done["bytes_written"], COUNT * size, r.report())

    def test_websocket_deflate(self):
        r = self.probe(self.url("ws"), "--deflate", "--count", str(COUNT), "--size", str(LARGE))
        done = self.assertEchoed(r)
        self.assertLess(done["bytes_written"], COUNT * LARGE / 20, r.report())
        self.assertLess(done["bytes_read"], COUNT * LARGE / 20, r.report())

    def test_no_watchdog(self):
        for name in ("ws", "text"):
            with self.subTest(scheme=name):
                self.assertEchoed(self.probe(self.url(name), "--count", "10", "--timeout", "0"),
                                  10)

    def test_refused_is_a_connect_failure(self):
        address = "127.0.0.1:%d" % free_port()
        r = self.probe("text://" + address, "--timeout", "0")
        self.assertEqual(r.names(), ["error"], r.report())
        self.assertEqual(r.returncode, 1, r.report())
        self.assertEqual(r.first("error")["code"], 1, r.report())
        self.assertEqual(r.first("error")["message"],
                         "connect to %s failed: connection refused" % address, r.report())


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:])

#!/usr/bin/python3
"""Interop: `openssl s_client` and Python's ssl against wman's echo workers with
`transport = "tls"` (text://, frame://, tcp://): TLS 1.2 / 1.3 handshakes verified against the
test CA, TLS 1.1 and min_version = "1.3" refused, plain HTTP and garbage on a TLS port,
[worker.limits] handshake_timeout, client certificates (verify_client), SNI certificates, and
`wman reload -g` with a replaced (then a broken) certificate.

Certificates come from scripts/gen_test_certs, generated into a temp dir at test time.

usage: tls_openssl_test.py WMAN_BINARY [unittest args]
"""
import os
import random
import re
import select
import shutil
import socket
import ssl
import struct
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_support import (WAIT, SClient, TlsLineClient, gen_test_certs,  # noqa: E402
                             pem_fingerprint, s_client_peer_cert, start_echo_wman, stop_wman, tls_table,
                             toml_str, wait_until)

WMAN = sys.argv[1] if len(sys.argv) > 1 else "build/bin/wman"
HANDSHAKE_TIMEOUT = 1.0  # the "hs" worker's [worker.limits] handshake_timeout
# wman checks handshake deadlines a quarter of the timeout apart: a stalled handshake is
# closed between 1x and 1.25x the timeout after accept. Generous slack on top for ASan.
HANDSHAKE_CLOSE_BY = 2 * HANDSHAKE_TIMEOUT + 3.0


def client_hello():
    """The bytes of a real TLS ClientHello (Python's ssl, for server name localhost)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    assert len(hello) > 100 and hello[0] == 22, hello[:16]
    return hello


def close_times(socks, started, timeout):
    """For each socket, the seconds after its `started` time at which the server ended the
    connection (EOF or reset; data before that is discarded), or None if still open after
    `timeout` seconds."""
    pending = dict((s, i) for i, s in enumerate(socks))
    result = [None] * len(socks)
    end = time.monotonic() + timeout
    while pending:
        left = end - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select(list(pending), [], [], left)
        now = time.monotonic()
        for s in ready:
            try:
                data = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if not data:
                i = pending.pop(s)
                result[i] = now - started[i]
    return result


def read_until_closed(sock, timeout=WAIT):
    """Everything the server sends until it ends the connection; fails if it does not."""
    sock.settimeout(timeout)
    got = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return got
            got += chunk
    except (ConnectionResetError, BrokenPipeError):
        return got
    except socket.timeout:
        raise AssertionError("connection still open after %.0f s; got %r" % (timeout, got[:200]))


class TlsTestBase(unittest.TestCase):
    def assertEchoes(self, client, line):
        self.assertEqual(client.ask(line), line)

    def wait_log(self, pattern, what):
        """Waits for a wman log line matching the regex `pattern` (the log has no
        notification, so this polls); returns the match."""
        rx = re.compile(pattern)
        try:
            return wait_until(lambda: rx.search(self.wman.log_text()), WAIT, what)
        except AssertionError as e:
            raise AssertionError("%s%s" % (e, self.wman.log_tail(20)))

    def s_client_echo(self, port, *args, line="hello over TLS"):
        """Runs s_client with `args`, echoes one line; returns (echoed line or None, exit
        code, stderr)."""
        with SClient(port, *args) as c:
            got = c.echo(line)
            rc, err = c.finish()
        return got, rc, err


class TlsOpensslTest(TlsTestBase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="wman-tls-certs-")
        try:
            gen_test_certs(cls.certs)
            cls.ca = os.path.join(cls.certs, "ca.pem")
            c = cls.certs
            workers = [
                # Bad-input tests: a handshake_timeout far beyond "closed quickly".
                {"name": "tls", "scheme": "text", "transport": "tls", "tls": tls_table(c),
                 "limits": {"handshake_timeout": '"30s"'}},
                {"name": "tls13", "scheme": "text", "transport": "tls",
                 "tls": tls_table(c, min_version="1.3")},
                {"name": "hs", "scheme": "text", "transport": "tls", "tls": tls_table(c),
                 "limits": {"handshake_timeout": '"%dms"' % (HANDSHAKE_TIMEOUT * 1000)}},
                {"name": "mtls", "scheme": "text", "transport": "tls",
                 "tls": tls_table(c, ca=os.path.join(c, "ca.pem"), verify_client=True)},
                {"name": "sni", "scheme": "text", "transport": "tls", "tls": tls_table(c),
                 "sni": [{"server_name": '"other.test"',
                          "cert": toml_str(os.path.join(c, "other.pem")),
                          "key": toml_str(os.path.join(c, "other.key"))}]},
                {"name": "frame", "scheme": "frame", "transport": "tls", "tls": tls_table(c)},
                {"name": "tcp", "scheme": "tcp", "transport": "tls", "tls": tls_table(c)},
            ]
            cls.wman = start_echo_wman(WMAN, workers)
        except BaseException:
            shutil.rmtree(cls.certs, ignore_errors=True)
            raise
        cls.port = {w["name"]: w["port"] for w in workers}
        cls.fp_server = pem_fingerprint(os.path.join(cls.certs, "server.pem"))
        cls.fp_other = pem_fingerprint(os.path.join(cls.certs, "other.pem"))

    @classmethod
    def tearDownClass(cls):
        stop_wman(cls.wman, cls.certs)

    def verify_args(self):
        return ["-CAfile", self.ca, "-verify_return_error", "-verify_ip", "127.0.0.1"]

    def session(self, worker="tls"):
        return TlsLineClient(self.port[worker], self.ca)

    def worker_pid(self, name):
        rows = self.wman.ready_workers(name=name)
        self.assertEqual(len(rows), 1, rows)
        return rows[0]["pid"]

    # ---- versions -----------------------------------------------------------------------
    def test_tls12_and_tls13_handshake_and_echo(self):
        for flag, version in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
            with self.subTest(version=version):
                line = "echo over %s \u00e9" % version
                got, rc, err = self.s_client_echo(self.port["tls"], flag, *self.verify_args(),
                                                  line=line)
                self.assertEqual(got, line, "s_client %s: no echo; stderr:\n%s%s" % (
                    flag, err, self.wman.log_tail(5)))
                self.assertEqual(rc, 0, err)
                self.assertIn("Protocol version: %s" % version, err)
                self.assertIn("Verification: OK", err)
                self.assertIn("Peer certificate: O = wman test, CN = localhost", err)

    def test_tls11_refused_and_worker_stays_healthy(self):
        pid = self.worker_pid("tls")
        failures = len(re.findall(r"TLS handshake failed: unsupported protocol",
                                  self.wman.log_text()))
        # SECLEVEL=0 so this OpenSSL client really offers TLS 1.1; the refusal must come
        # from the server (alert 70, protocol_version).
        got, rc, err = self.s_client_echo(self.port["tls"], "-tls1_1",
                                          "-cipher", "DEFAULT@SECLEVEL=0", *self.verify_args())
        self.assertIsNone(got, "TLS 1.1 session echoed")
        self.assertNotEqual(rc, 0, err)
        self.assertIn("alert protocol version", err)
        wait_until(lambda: len(re.findall(r"TLS handshake failed: unsupported protocol",
                                          self.wman.log_text())) > failures,
                   WAIT, "the worker to log the refused TLS 1.1 handshake")
        got, rc, err = self.s_client_echo(self.port["tls"], "-tls1_2", *self.verify_args(),
                                          line="still serving")
        self.assertEqual((got, rc), ("still serving", 0), err)
        self.assertEqual(self.worker_pid("tls"), pid, "the worker was replaced")

    def test_min_version_13_refuses_tls12(self):
        got, rc, err = self.s_client_echo(self.port["tls13"], "-tls1_2", *self.verify_args())
        self.assertIsNone(got, "min_version = 1.3, yet a TLS 1.2 session echoed")
        self.assertNotEqual(rc, 0, err)
        self.assertIn("alert protocol version", err)
        got, rc, err = self.s_client_echo(self.port["tls13"], "-tls1_3", *self.verify_args(),
                                          line="1.3 only")
        self.assertEqual((got, rc), ("1.3 only", 0), err)
        self.assertIn("Protocol version: TLSv1.3", err)

    # ---- other protocols over TLS -------------------------------------------------------
    def test_frame_and_tcp_over_tls(self):
        payload = random.Random(5).randbytes(100000)
        with TlsLineClient(self.port["frame"], self.ca) as c:
            for body in (b"", b"frame", payload):
                c.sock.sendall(struct.pack("!I", 4 + len(body)) + body)
                while len(c.buf) < 4 or len(c.buf) < struct.unpack("!I", c.buf[:4])[0]:
                    chunk = c.sock.recv(65536)
                    self.assertTrue(chunk, "frame worker closed the TLS connection")
                    c.buf += chunk
                n = struct.unpack("!I", c.buf[:4])[0]
                self.assertEqual(c.buf[4:n], body)
                c.buf = c.buf[n:]
        with TlsLineClient(self.port["tcp"], self.ca) as c:
            c.sock.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = c.sock.recv(65536)
                self.assertTrue(chunk, "tcp worker closed the TLS connection after %d bytes" %
                                len(got))
                got += chunk
            self.assertEqual(got, payload)

    # ---- bad input ----------------------------------------------------------------------
    def test_plain_http_on_tls_port_gets_400(self):
        with self.session() as s:
            self.assertEchoes(s, "before")
            with socket.create_connection(("127.0.0.1", self.port["tls"]), timeout=WAIT) as raw:
                local_port = raw.getsockname()[1]
                raw.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                answer = read_until_closed(raw)
            self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:300])
            self.wait_log(r"from 127\.0\.0\.1:%d: plain HTTP on a TLS port" % local_port,
                          "the plain-HTTP log line")
            self.assertEchoes(s, "after plain HTTP")

    def test_random_bytes_closed_quickly(self):
        garbage = b"\x07" + random.Random(7).randbytes(255)  # not a TLS record, not ASCII
        with self.session() as s:
            self.assertEchoes(s, "before")
            with socket.create_connection(("127.0.0.1", self.port["tls"]), timeout=WAIT) as raw:
                local_port = raw.getsockname()[1]
                t0 = time.monotonic()
                raw.sendall(garbage)
                [took] = close_times([raw], [t0], WAIT)
            self.assertIsNotNone(took, "garbage connection still open after %.0f s" % WAIT)
            # handshake_timeout is 30 s on this worker: a close within 2 s is the parser's.
            self.assertLess(took, 2.0)
            self.wait_log(r"from 127\.0\.0\.1:%d: TLS handshake failed" % local_port,
                          "the handshake-failure log line")
            self.assertEchoes(s, "after garbage")

    def test_stalled_handshakes_closed_at_handshake_timeout(self):
        hello = client_hello()
        port = self.port["hs"]
        with self.session("hs") as s, \
                socket.create_connection(("127.0.0.1", port), timeout=WAIT) as silent, \
                socket.create_connection(("127.0.0.1", port), timeout=WAIT) as half:
            started = [time.monotonic()]
            half.sendall(hello[:len(hello) // 2])
            started.append(time.monotonic())
            took = close_times([silent, half], started, HANDSHAKE_CLOSE_BY + 1)
            for name, t in zip(("sent nothing", "sent half a ClientHello"), took):
                with self.subTest(client=name):
                    self.assertIsNotNone(t, "%s: still open after %.1f s" % (
                        name, HANDSHAKE_CLOSE_BY + 1))
                    self.assertGreaterEqual(t, 0.8 * HANDSHAKE_TIMEOUT,
                                            "%s: closed before handshake_timeout" % name)
                    self.assertLessEqual(t, HANDSHAKE_CLOSE_BY, name)
            # The established session, as old as the stalled ones, is not a handshake.
            self.assertEchoes(s, "handshake done long ago")

    # ---- client certificates ------------------------------------------------------------
    def test_verify_client(self):
        c = self.certs
        with_cert = ["-cert", os.path.join(c, "client.pem"), "-key", os.path.join(c, "client.key"),
                     # -cert sends the leaf only; client.pem's intermediate goes with -cert_chain.
                     "-cert_chain", os.path.join(c, "client.pem")]
        rogue = ["-cert", os.path.join(c, "rogue.pem"), "-key", os.path.join(c, "rogue.key")]
        for flag in ("-tls1_2", "-tls1_3"):
            with self.subTest(version=flag, cert="client.pem"):
                got, rc, err = self.s_client_echo(self.port["mtls"], flag, *self.verify_args(),
                                                  *with_cert, line="with a client cert")
                self.assertEqual((got, rc), ("with a client cert", 0),
                                 err + self.wman.log_tail(5))
            with self.subTest(version=flag, cert=None):
                got, rc, err = self.s_client_echo(self.port["mtls"], flag, *self.verify_args(),
                                                  line="no cert")
                self.assertIsNone(got, "verify_client = true, yet a client without a "
                                  "certificate got an echo")
                self.assertNotEqual(rc, 0, err)
            with self.subTest(version=flag, cert="rogue.pem"):
                got, rc, err = self.s_client_echo(self.port["mtls"], flag, *self.verify_args(),
                                                  *rogue, line="rogue cert")
                self.assertIsNone(got, "a certificate of an untrusted CA got an echo")
                self.assertNotEqual(rc, 0, err)
        self.wait_log(r"TLS handshake failed: peer did not return a certificate",
                      "the missing-certificate log line")

    # ---- SNI ----------------------------------------------------------------------------
    def test_sni_selects_certificate(self):
        port = self.port["sni"]
        cases = [
            ("other.test", ["-servername", "other.test", "-verify_hostname", "other.test"],
             self.fp_other),
            ("OTHER.Test", ["-servername", "OTHER.Test"], self.fp_other),
            ("no SNI", ["-noservername", "-verify_ip", "127.0.0.1"], self.fp_server),
            ("unknown name", ["-servername", "nomatch.test"], self.fp_server),
            ("sub.other.test", ["-servername", "a.other.test"], self.fp_server),
        ]
        for name, args, want in cases:
            with self.subTest(sni=name):
                rc, fp, out = s_client_peer_cert(port, "-CAfile", self.ca,
                                                 "-verify_return_error", *args)
                self.assertEqual(rc, 0, out[-3000:])
                self.assertEqual(fp, want, "SNI %s: got the %s certificate" % (
                    name, {self.fp_other: "other.pem", self.fp_server: "server.pem"}.get(
                        fp, "unknown %s" % fp)))
        got, rc, err = self.s_client_echo(port, "-servername", "other.test", "-CAfile", self.ca,
                                          "-verify_return_error", line="via other.test")
        self.assertEqual((got, rc), ("via other.test", 0), err)
        self.assertIn("CN = other.test", err)


class TlsReloadTest(TlsTestBase):
    """`wman reload -g` picks up a certificate replaced on disk; sessions of the old
    generation keep running; a reload with a key that does not match is refused."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wman-tls-reload-")
        self.first, self.second, self.live = (os.path.join(self.tmp, d)
                                              for d in ("first", "second", "live"))
        os.mkdir(self.live)
        try:
            gen_test_certs(self.first, self.second)
            self.install("first", "server.pem", "server.pem")
            self.install("first", "server.key", "server.key")
            spec = {"name": "r", "scheme": "text", "transport": "tls",
                    "tls": tls_table(self.live)}
            # reload -g: the old generation drains for up to drain_timeout, longer than this
            # test, so the old session stays with the old worker throughout.
            self.wman = start_echo_wman(WMAN, [spec], daemon={"drain_timeout": '"120s"'})
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        self.port = spec["port"]

    def tearDown(self):
        stop_wman(self.wman, self.tmp)

    def install(self, which, name, as_name):
        """Replaces live/AS_NAME with WHICH/NAME atomically."""
        tmp = os.path.join(self.live, as_name + ".tmp")
        shutil.copyfile(os.path.join(self.tmp, which, name), tmp)
        os.replace(tmp, os.path.join(self.live, as_name))

    def new_connection_cert(self, which):
        """Fingerprint of the certificate a new s_client connection gets, verified against
        WHICH/ca.pem."""
        rc, fp, out = s_client_peer_cert(self.port, "-CAfile",
                                         os.path.join(self.tmp, which, "ca.pem"),
                                         "-verify_return_error", "-verify_ip", "127.0.0.1")
        self.assertEqual(rc, 0, out[-3000:] + self.wman.log_tail(10))
        return fp

    def test_reload_with_replaced_then_broken_certificate(self):
        fp_first = pem_fingerprint(os.path.join(self.first, "server.pem"))
        fp_second = pem_fingerprint(os.path.join(self.second, "server.pem"))
        self.assertNotEqual(fp_first, fp_second)
        self.assertEqual(self.new_connection_cert("first"), fp_first)

        with TlsLineClient(self.port, os.path.join(self.first, "ca.pem")) as old:
            self.assertEchoes(old, "before reload")
            self.assertEqual(old.peer_fingerprint(), fp_first)

            self.install("second", "server.key", "server.key")
            self.install("second", "server.pem", "server.pem")
            r = self.wman.cli("reload", "-g")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr + self.wman.log_tail(20))
            self.assertEqual(self.new_connection_cert("second"), fp_second,
                             "a new connection after the reload still got the old certificate")
            self.assertEchoes(old, "old session after the reload")
            [serving] = self.wman.ready_workers(name="r", generation=2)

            # A key that does not match the certificate: the reload is refused, naming it.
            self.install("first", "server.key", "server.key")
            r = self.wman.cli("reload", "-g")
            out = r.stdout + r.stderr
            self.assertEqual(r.returncode, 1, out + self.wman.log_tail(20))
            self.assertRegex(out, r"does not match|mismatch", out)
            self.assertIn(os.path.join(self.live, "server.key"), out)
            self.assertEqual(self.new_connection_cert("second"), fp_second,
                             "after the refused reload, new connections get another cert")
            self.assertEqual([w["pid"] for w in self.wman.ready_workers(name="r")],
                             [serving["pid"]], "the refused reload changed the workers")
            self.assertEchoes(old, "old session after the refused reload")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])

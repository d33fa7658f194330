#!/usr/bin/python3
"""Interop: wman::AsyncConnection's TLS verification (build/bin/async_client_probe with
text:// over `--transport tls`, and wss://) against `openssl s_server -rev`, which answers
every line reversed. Certificates come from scripts/gen_test_certs.

A valid chain with the right name (IP address or DNS name) connects and echoes; a wrong
host name, an IP address the certificate lacks, an expired certificate, a CA the client does
not trust and a self-signed certificate each fail the attempt through onError with
kConnectFail (1) and OpenSSL's reason; the probe prints that error line and exits 1 (never a
signal). --insecure connects to the expired server anyway, so those failures are the
verification's.

The same verification passes against build/bin/wman's own TLS listeners (wss://, and text://
with transport = "tls").

usage: async_client_tls_test.py WMAN_BINARY PROBE_BINARY [unittest args]
"""
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from interop_support import gen_test_certs, start_echo_wman, stop_wman, tls_table  # noqa: E402
from probe_support import openssl_rev_server, run_probe  # noqa: E402

WMAN = sys.argv[1] if len(sys.argv) > 1 else "build/bin/wman"
PROBE = sys.argv[2] if len(sys.argv) > 2 else "build/bin/async_client_probe"
VERIFY_FAILED = "TLS handshake failed: certificate verify failed (%s)"


class AsyncClientTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="wman-probe-tls-")
        cls.servers = {}
        try:
            gen_test_certs(cls.certs)
            # name -> the certificate s_server presents (selfsigned has no chain to send).
            for name in ("server", "expired", "other", "selfsigned"):
                cls.servers[name] = openssl_rev_server(cls.certs, name,
                                                       chain=name != "selfsigned")
        except BaseException:
            cls.tearDownClass()
            raise
        cls.ca = os.path.join(cls.certs, "ca.pem")

    @classmethod
    def tearDownClass(cls):
        for server in cls.servers.values():
            server.stop()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def probe(self, server, *flags, scheme="text", host="127.0.0.1", count=5, size=64):
        url = "%s://%s:%d/" % (scheme, host, self.servers[server].port)
        if scheme == "text":
            url = url[:-1]
            flags += ("--transport", "tls", "--expect-reversed")
        return run_probe(PROBE, url, *flags, "--count", str(count), "--size", str(size))

    def assertReversedEchoes(self, r, count):
        self.assertEqual(r.names(), ["connect", "done", "close"], r.report())
        self.assertEqual(r.first("done")["echoed"], count, r.report())
        self.assertEqual(r.returncode, 0, r.report())

    def assertVerifyFailure(self, r, reason):
        """One error line, kConnectFail with OpenSSL's `reason`, and exit status 1."""
        self.assertEqual(r.names(), ["error"], r.report())
        self.assertEqual(r.first("error")["code"], 1, r.report())
        self.assertEqual(r.first("error")["message"], VERIFY_FAILED % reason, r.report())
        self.assertEqual(r.returncode, 1, r.report())

    def test_valid_chain_and_name(self):
        # The IP address and the DNS name are both in server.pem; 100 lines of 64 and of
        # 10000 bytes (under s_server's 16 KiB line buffer) come back reversed.
        for host in ("127.0.0.1", "localhost"):
            for size in (64, 10000):
                with self.subTest(host=host, size=size):
                    r = self.probe("server", "--ca", self.ca, host=host, count=100, size=size)
                    self.assertReversedEchoes(r, 100)
        r = self.probe("server", "--ca", self.ca, "--server-name", "localhost")
        self.assertReversedEchoes(r, 5)

    def test_hostname_mismatch(self):
        for scheme in ("text", "wss"):
            with self.subTest(scheme=scheme, case="--server-name"):
                r = self.probe("server", "--ca", self.ca, "--server-name", "other.example",
                               scheme=scheme)
                self.assertVerifyFailure(r, "hostname mismatch")
            with self.subTest(scheme=scheme, case="other.test certificate for localhost"):
                r = self.probe("other", "--ca", self.ca, scheme=scheme, host="localhost")
                self.assertVerifyFailure(r, "hostname mismatch")
            with self.subTest(scheme=scheme, case="IP address not in the certificate"):
                r = self.probe("other", "--ca", self.ca, scheme=scheme)
                self.assertVerifyFailure(r, "IP address mismatch")

    def test_expired_certificate(self):
        # expired.pem names only DNS:localhost, so the name is right and the date is wrong.
        for scheme in ("text", "wss"):
            with self.subTest(scheme=scheme):
                r = self.probe("expired", "--ca", self.ca, "--server-name", "localhost",
                               scheme=scheme)
                self.assertVerifyFailure(r, "certificate has expired")
        r = self.probe("expired", "--insecure", "--server-name", "localhost")
        self.assertReversedEchoes(r, 5)

    def test_unknown_ca(self):
        # No --ca: the system store, which has never heard of the test CA.
        for scheme in ("text", "wss"):
            with self.subTest(scheme=scheme, case="test CA not trusted"):
                r = self.probe("server", scheme=scheme)
                self.assertVerifyFailure(r, "unable to get local issuer certificate")
            with self.subTest(scheme=scheme, case="self-signed"):
                r = self.probe("selfsigned", scheme=scheme)
                self.assertVerifyFailure(r, "self-signed certificate")
            with self.subTest(scheme=scheme, case="self-signed, another CA given"):
                r = self.probe("selfsigned", "--ca", self.ca, scheme=scheme)
                self.assertVerifyFailure(r, "self-signed certificate")


    def test_wman_tls_listeners(self):
        workers = [{"name": "wss", "scheme": "wss", "tls": tls_table(self.certs)},
                   {"name": "text", "scheme": "text", "transport": "tls",
                    "tls": tls_table(self.certs)}]
        wman = start_echo_wman(WMAN, workers)
        try:
            for w in workers:
                for host in ("127.0.0.1", "localhost"):
                    with self.subTest(worker=w["name"], host=host):
                        url = "%s://%s:%d" % (w["scheme"], host, w["port"])
                        flags = ("--transport", "tls") if w["scheme"] == "text" else ()
                        r = run_probe(PROBE, url, *flags, "--ca", self.ca, "--count", "100",
                                      "--size", "70000")
                        self.assertEqual(r.names(), ["connect", "done", "close"], r.report())
                        self.assertEqual(r.returncode, 0, r.report())
            r = run_probe(PROBE, "wss://127.0.0.1:%d" % workers[0]["port"], "--count", "1")
            self.assertEqual(r.first("error")["message"],
                             VERIFY_FAILED % "unable to get local issuer certificate", r.report())
        finally:
            stop_wman(wman)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:])

#!/usr/bin/python3
"""Interop: headless Chromium's WebSocket over wss:// against wman's TLS echo workers. The same
page and checks as chromium_test.py (echo of text and binary, permessage-deflate,
allowed_origins matching and not matching the page), with every WebSocket URL turned into
wss://. The page itself stays on plain http://; chromium runs with
--ignore-certificate-errors, as the test CA (scripts/gen_test_certs, generated into a temp dir)
is not in its trust store.

usage: tls_chromium_test.py WMAN_BINARY [unittest args]
"""
import http.server
import os
import shutil
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import chromium_test  # noqa: E402  (only its helpers: its TestCase is not loaded here)
from interop_support import gen_test_certs, start_echo_wman, tls_table, toml_str  # noqa: E402

WMAN = sys.argv[1] if len(sys.argv) > 1 else "build/bin/wman"

with open(chromium_test.PAGE, encoding="utf-8") as _f:
    _PAGE_WS = _f.read()
WS_URL = "new WebSocket('ws://127.0.0.1:'"
if _PAGE_WS.count(WS_URL) != 1:
    raise SystemExit("chromium_page.html changed: no single %s to turn into wss://" % WS_URL)
PAGE_WSS = _PAGE_WS.replace(WS_URL, WS_URL.replace("ws://", "wss://")).encode()


class TlsPageHandler(chromium_test.PageHandler):
    """chromium_test's handler, serving the page with wss:// URLs."""

    def do_GET(self):
        if self.path.split("?")[0] != "/page.html":
            return super().do_GET()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE_WSS)))
        self.end_headers()
        self.wfile.write(PAGE_WSS)


class TlsPageServer(chromium_test.PageServer):
    def __init__(self):
        http.server.ThreadingHTTPServer.__init__(self, ("127.0.0.1", 0), TlsPageHandler)
        self.result = None
        self.result_posted = threading.Event()


class TlsChromiumTest(chromium_test.ChromiumTest):
    """Runs chromium_test.ChromiumTest.test_browser_echo against wss:// workers."""

    @classmethod
    def setUpClass(cls):
        chromium = chromium_test.find_chromium()
        if not chromium:
            raise AssertionError("chromium is not installed (scripts/deps installs it)")
        cls.certs = tempfile.mkdtemp(prefix="wman-tls-certs-")
        # run_chromium() builds the command line itself: add the flag with a wrapper script.
        cls.chromium = os.path.join(cls.certs, "chromium")
        with open(cls.chromium, "w") as f:
            f.write('#!/bin/sh\nexec %s --ignore-certificate-errors "$@"\n' % chromium)
        os.chmod(cls.chromium, 0o755)
        cls.http = TlsPageServer()
        cls.http_thread = threading.Thread(target=cls.http.serve_forever, daemon=True)
        cls.http_thread.start()
        origin = "http://127.0.0.1:%d" % cls.http.server_address[1]
        try:
            gen_test_certs(cls.certs)
            tls = tls_table(cls.certs)
            workers = [
                {"name": "plain", "scheme": "wss", "tls": tls},
                {"name": "deflate", "scheme": "wss", "tls": tls,
                 "websocket": {"permessage_deflate": "true"}},
                {"name": "origin-ok", "scheme": "wss", "tls": tls,
                 "websocket": {"allowed_origins": "[%s]" % toml_str(origin)}},
                {"name": "origin-bad", "scheme": "wss", "tls": tls,
                 "websocket": {"allowed_origins": '["http://example.invalid"]'}},
            ]
            cls.wman = start_echo_wman(WMAN, workers)
        except BaseException:
            cls.http.shutdown()
            cls.http.server_close()
            shutil.rmtree(cls.certs, ignore_errors=True)
            raise
        cls.port = {w["name"]: w["port"] for w in workers}

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.certs, ignore_errors=True)

    def test_browser_echo(self):
        super().test_browser_echo()
        # Every session of the page went over TLS: a plain ws:// attempt would have been
        # answered 400 and logged.
        self.assertNotIn("plain HTTP on a TLS port", self.wman.log_text())


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])

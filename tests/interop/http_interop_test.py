#!/usr/bin/python3
"""Interop: real HTTP clients against wman's http:// and https:// workers (app "chat", static
files from a temp root, /chat upgraded to the chat's WebSocket sessions):

- curl: GET / (the chat demo page, text/html), HEAD, a Range (206), keep-alive reuse of one
  connection for two URLs, an ETag round trip (304), path escapes refused, a POST with
  `Expect: 100-continue` answered without a hang, and a GET over https://;
- Python's http.client: several requests on one connection, a chunked upload, HEAD, the
  100 KiB binary file byte-exact;
- headless Chromium: a page from the root fetches a file, embeds the demo page (which must
  report its /chat socket connected) and says a line on /chat that the chat echoes to the
  room through the bus;
- wrk: 50 keep-alive connections for 2 s with no socket error and no non-2xx answer.

usage: http_interop_test.py WMAN_BINARY [unittest args]
"""
import hashlib
import html
import http.client
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from interop_support import (WAIT, Wman, binary_of_size, free_port,  # noqa: E402
                             gen_test_certs, stop_wman, toml_str)
from chromium_test import ChromiumFailed, dump_dom, find_chromium  # noqa: E402

WMAN = sys.argv[1] if len(sys.argv) > 1 else "build/bin/wman"
REPO = os.path.dirname(os.path.dirname(HERE))
DEMO = os.path.join(REPO, "docs", "demo", "index.html")
PAGE = os.path.join(HERE, "http_chat_page.html")
CURL = "/usr/bin/curl"
WRK = "/usr/bin/wrk"
HOLD_TIMEOUT = 60      # longest the page's load event waits for the script's verdict

BLOB = binary_of_size(100 * 1024, seed=15)
SMALL = b"hello from wman's static files\n"
UPLOAD = b"x" * 4000 + b"\n"  # > 1 KiB: curl asks for 100-continue


def http_config(run_dir, log_file, root, port, tls_port, certs):
    """An http:// worker and an https:// one (both app "chat", the same root)."""
    http_table = ["[worker.http]",
                  "root = %s" % toml_str(root),
                  'websocket = "/chat"',
                  'max_body_size = "64KiB"']
    return "\n".join([
        "[daemon]",
        "run_dir = %s" % toml_str(run_dir),
        "log_file = %s" % toml_str(log_file),
        'log_level = "info"',
        'stop_timeout = "2s"',
        'start_timeout = "10s"',
        "",
        "[[worker]]",
        'name = "web"',
        'listen = "http://127.0.0.1:%d"' % port,
        'app = "chat"',
        "count = 1",
    ] + http_table + [
        "",
        "[[worker]]",
        'name = "webs"',
        'listen = "https://127.0.0.1:%d"' % tls_port,
        'app = "chat"',
        "count = 1",
    ] + http_table + [
        "[worker.tls]",
        "cert = %s" % toml_str(os.path.join(certs, "server.pem")),
        "key = %s" % toml_str(os.path.join(certs, "server.key")),
    ]) + "\n"


def parse_head(text):
    """(status, {lower-case name: value}) of the last response head in curl's -D output
    (a 100 Continue, if any, comes first)."""
    heads = [h for h in re.split(r"\r?\n\r?\n", text) if h.startswith("HTTP/")]
    if not heads:
        raise AssertionError("no response head in %r" % text)
    lines = heads[-1].splitlines()
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


class HoldServer(http.server.ThreadingHTTPServer):
    """The page's helper: GET /hold answers only once GET /done came (or after
    HOLD_TIMEOUT), so chromium's load event, and its --dump-dom, wait for the checks."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), HoldHandler)
        self.done = threading.Event()


class HoldHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.partition("?")[0]
        if path == "/done":
            self.server.done.set()
        elif path == "/hold":
            self.server.done.wait(HOLD_TIMEOUT)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class HttpInteropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="wman-http-root-")
        cls.certs = tempfile.mkdtemp(prefix="wman-http-certs-")
        shutil.copy(DEMO, os.path.join(cls.root, "index.html"))
        shutil.copy(PAGE, os.path.join(cls.root, "check.html"))
        with open(os.path.join(cls.root, "blob.bin"), "wb") as f:
            f.write(BLOB)
        with open(os.path.join(cls.root, "small.txt"), "wb") as f:
            f.write(SMALL)
        with open(os.path.join(cls.root, "upload.txt"), "wb") as f:
            f.write(UPLOAD)
        with open(DEMO, "rb") as f:
            cls.index = f.read()
        cls.wman = Wman(os.path.abspath(WMAN), "chat")
        try:
            gen_test_certs(cls.certs)
            cls.port, cls.tls_port = free_port(), free_port()
            cls.wman.write_config(None, raw=http_config(cls.wman.dir, cls.wman.log_path,
                                                        cls.root, cls.port, cls.tls_port,
                                                        cls.certs))
            cls.wman.start_daemon()
            cls.wman.wait_settled(1, name="web")
            cls.wman.wait_settled(1, name="webs")
        except BaseException:
            stop_wman(cls.wman, cls.root, cls.certs)
            raise
        cls.base = "http://127.0.0.1:%d" % cls.port

    @classmethod
    def tearDownClass(cls):
        stop_wman(cls.wman, cls.root, cls.certs)

    def context(self):
        return self.wman.log_tail(15)

    # ---- curl ---------------------------------------------------------------------------
    def curl(self, *args, timeout=WAIT):
        """Runs curl with `args` (plus -sS, a time limit and -D to a file); returns (status,
        headers, body bytes, stderr text) of the last response."""
        with tempfile.NamedTemporaryFile(prefix="wman-curl-head-") as head:
            cmd = [CURL, "-sS", "--max-time", str(int(timeout)), "-D", head.name, *args]
            r = subprocess.run(cmd, capture_output=True, timeout=timeout + 10)
            self.assertEqual(r.returncode, 0, "%s failed (%d): %s%s" % (
                " ".join(cmd), r.returncode, r.stderr.decode(errors="replace"),
                self.context()))
            with open(head.name, errors="replace") as f:
                status, headers = parse_head(f.read())
        return status, headers, r.stdout, r.stderr.decode(errors="replace")

    def test_curl_get_index(self):
        status, headers, body, _ = self.curl(self.base + "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("content-type", "").startswith("text/html"), headers)
        self.assertEqual(body, self.index)
        self.assertIn(b"<title>wman chat</title>", body)

    def test_curl_head(self):
        status, headers, body, _ = self.curl("-I", self.base + "/blob.bin")
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("content-length"), str(len(BLOB)), headers)
        self.assertEqual(headers.get("content-type"), "application/octet-stream", headers)
        self.assertIn("etag", headers)

    def test_curl_range(self):
        status, headers, body, _ = self.curl("-r", "0-99", self.base + "/blob.bin")
        self.assertEqual(status, 206, headers)
        self.assertEqual(len(body), 100)
        self.assertEqual(body, BLOB[:100])
        self.assertEqual(headers.get("content-range"), "bytes 0-99/%d" % len(BLOB))

    def test_curl_keepalive_reuse(self):
        _, _, body, err = self.curl("-v", "--http1.1", self.base + "/small.txt",
                                    self.base + "/blob.bin")
        self.assertEqual(body, SMALL + BLOB)
        self.assertIn("Re-using existing connection", err)
        self.assertEqual(err.count("Connected to 127.0.0.1"), 1, err)

    def test_curl_etag_304(self):
        status, headers, body, _ = self.curl(self.base + "/small.txt")
        self.assertEqual((status, body), (200, SMALL))
        etag = headers.get("etag")
        self.assertTrue(etag and etag.startswith('"'), headers)
        status, headers, body, _ = self.curl("-H", "If-None-Match: " + etag,
                                             self.base + "/small.txt")
        self.assertEqual(status, 304)
        self.assertEqual(body, b"")
        self.assertEqual(headers.get("etag"), etag)
        status, _, body, _ = self.curl("-H", 'If-None-Match: "other"', self.base + "/small.txt")
        self.assertEqual((status, body), (200, SMALL))

    def test_curl_path_escapes_refused(self):
        for path in ("/../etc/passwd", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                     "/%2E%2E/etc/passwd", "/..%2fetc/passwd", "/.%2e/etc/passwd"):
            with self.subTest(path=path):
                status, _, body, _ = self.curl("--path-as-is", self.base + path)
                self.assertIn(status, (400, 404))
                self.assertNotIn(b"root:", body)

    def test_curl_expect_100_continue(self):
        # A body > 1 KiB: curl sends "Expect: 100-continue" by itself (and waits up to 1 s
        # for the interim answer); the static side takes no POST. What matters: a final
        # status, no hang, and the connection still good for a next request.
        started = time.monotonic()
        status, _, _, err = self.curl("-v", "--http1.1", "-H", "Expect: 100-continue",
                                      "--data-binary", "@" + os.path.join(self.root,
                                                                          "upload.txt"),
                                      self.base + "/small.txt", timeout=15)
        self.assertIn("Expect: 100-continue", err)
        self.assertIn(status, (404, 405), err)
        self.assertLess(time.monotonic() - started, 10, err)
        # The same with a second URL on the same curl: the POST, then a GET of the file.
        _, _, body, err = self.curl("-v", "--http1.1", "-H", "Expect: 100-continue",
                                    "--data-binary", "@" + os.path.join(self.root,
                                                                        "upload.txt"),
                                    self.base + "/small.txt", "--next",
                                    self.base + "/small.txt", timeout=15)
        self.assertTrue(body.endswith(SMALL), (body[-200:], err))

    def test_curl_https(self):
        base = "https://127.0.0.1:%d" % self.tls_port
        status, headers, body, _ = self.curl("--cacert", os.path.join(self.certs, "ca.pem"),
                                             base + "/blob.bin")
        self.assertEqual(status, 200)
        self.assertEqual(body, BLOB)
        status, headers, body, _ = self.curl("--cacert", os.path.join(self.certs, "ca.pem"),
                                             "-r", "100-199", base + "/blob.bin")
        self.assertEqual((status, body), (206, BLOB[100:200]))

    # ---- Python http.client -------------------------------------------------------------
    def connect(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)
        self.addCleanup(conn.close)
        return conn

    def get(self, conn, method, path, **kw):
        conn.request(method, path, **kw)
        res = conn.getresponse()
        return res, res.read()

    def test_client_keepalive_several_requests(self):
        conn = self.connect()
        conn.connect()
        sock = conn.sock
        expected = [("/small.txt", 200, SMALL), ("/", 200, self.index),
                    ("/blob.bin", 200, BLOB), ("/missing.txt", 404, None),
                    ("/small.txt?x=1", 200, SMALL), ("/blob.bin", 200, BLOB)]
        for path, status, body in expected:
            with self.subTest(path=path):
                res, data = self.get(conn, "GET", path)
                self.assertEqual(res.status, status)
                if body is not None:
                    self.assertEqual(data, body)
                self.assertFalse(res.will_close, res.getheaders())
                self.assertIs(conn.sock, sock, "the connection was not kept")

    def test_client_blob_byte_exact(self):
        conn = self.connect()
        res, data = self.get(conn, "GET", "/blob.bin")
        self.assertEqual(res.status, 200)
        self.assertEqual(res.getheader("Content-Length"), str(len(BLOB)))
        self.assertEqual(hashlib.sha256(data).hexdigest(), hashlib.sha256(BLOB).hexdigest())

    def test_client_head(self):
        conn = self.connect()
        conn.connect()
        sock = conn.sock
        res, data = self.get(conn, "HEAD", "/blob.bin")
        self.assertEqual(res.status, 200)
        self.assertEqual(res.getheader("Content-Length"), str(len(BLOB)))
        self.assertEqual(data, b"")
        # Nothing of a body follows the head: the next answer on the connection is whole.
        res, data = self.get(conn, "GET", "/small.txt")
        self.assertEqual((res.status, data), (200, SMALL))
        self.assertIs(conn.sock, sock)

    def test_client_chunked_upload(self):
        conn = self.connect()
        pieces = [b"a" * 1000, b"b" * 3000, b"c" * 17]
        res, _ = self.get(conn, "POST", "/small.txt", body=iter(pieces),
                          headers={"Content-Type": "text/plain"}, encode_chunked=True)
        self.assertEqual(res.status, 405)
        self.assertIn("GET", res.getheader("Allow", ""))
        # The de-chunked body was consumed: the connection answers the next request.
        res, data = self.get(conn, "GET", "/small.txt")
        self.assertEqual((res.status, data), (200, SMALL))
        # Over max_body_size (64 KiB) once de-chunked: 413.
        conn = self.connect()
        res, _ = self.get(conn, "POST", "/small.txt", body=iter([b"z" * 8192] * 10),
                          encode_chunked=True)
        self.assertEqual(res.status, 413)

    # ---- Chromium -----------------------------------------------------------------------
    # One browser run of check.html (http_chat_page.html); each test reads its own check.
    browser = None  # (context text, {check id: verdict}) once run

    def chromium_checks(self):
        cls = type(self)
        if cls.browser is None:
            chromium = find_chromium()
            if not chromium:
                self.fail("chromium is not installed (scripts/deps installs it)")
            hold = HoldServer()
            thread = threading.Thread(target=hold.serve_forever, daemon=True)
            thread.start()
            try:
                url = "%s/check.html?hold=%d" % (self.base, hold.server_address[1])
                rc, dom, err = self.run_chromium(chromium, url)
            finally:
                hold.shutdown()
                hold.server_close()
            page = dom.split("<script>", 1)[0]  # the DOM without the page's script
            context = "\nchromium exit %d\nDOM:\n%s\nstderr (tail):\n%s%s" % (
                rc, page[-3000:], err[-2000:], self.context())
            checks = {}
            for name in ("fetch", "demo", "chat", "result"):
                m = re.search(r'<div id="%s">(.*?)</div>' % name, page, re.S)
                checks[name] = html.unescape(m.group(1)) if m else None
            cls.browser = (context, checks)
        context, checks = cls.browser
        self.assertEqual(checks["result"], "done", "the page did not finish" + context)
        return context, checks

    def test_chromium_fetch(self):
        context, checks = self.chromium_checks()
        self.assertEqual(checks["fetch"], "ok: 200, %d chars" % len(SMALL), context)

    def test_chromium_demo_page_connects(self):
        # The demo page (the root's index.html) opens its socket on /chat of the same port.
        context, checks = self.chromium_checks()
        self.assertEqual(checks["demo"], "ok: connected to ws://127.0.0.1:%d/chat" % self.port,
                         context)

    # The chat answers through the bus (sendToGroup), which encodes once per worker: this
    # proves that path reaches sessions upgraded on an http:// worker.
    def test_chromium_chat_round_trip(self):
        context, checks = self.chromium_checks()
        self.assertRegex(checks["chat"] or "", r"^ok: guest\S*: interop-", context)

    def run_chromium(self, chromium, url):
        """Headless chromium with --dump-dom on `url`; returns (returncode, stdout, stderr)."""
        try:
            return dump_dom(chromium, url)
        except ChromiumFailed as e:
            self.fail("%s%s" % (e, self.context()))

    # ---- wrk ----------------------------------------------------------------------------
    def test_wrk_keepalive_load(self):
        if not os.access(WRK, os.X_OK):
            self.fail("wrk is not installed (scripts/deps installs it)")
        r = subprocess.run([WRK, "-t1", "-c50", "-d2s", "--latency",
                            self.base + "/small.txt"],
                           capture_output=True, text=True, timeout=60)
        report = r.stdout + r.stderr + self.context()
        self.assertEqual(r.returncode, 0, report)
        m = re.search(r"(\d+) requests in", r.stdout)
        self.assertTrue(m and int(m.group(1)) > 0, report)
        self.assertNotIn("Non-2xx", r.stdout, report)
        errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                           r"timeout (\d+)", r.stdout)
        if errors:
            self.assertEqual([int(x) for x in errors.groups()], [0, 0, 0, 0], report)
        # The worker is still fine afterwards.
        conn = self.connect()
        res, data = self.get(conn, "GET", "/small.txt")
        self.assertEqual((res.status, data), (200, SMALL))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])

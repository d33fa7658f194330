#!/usr/bin/python3
"""Interop: headless Chromium's WebSocket against wman's echo workers. The test serves
chromium_page.html from an http.server on a free port; the page's script connects to the
workers (no compression, permessage-deflate, allowed_origins matching the page, and
allowed_origins not matching it), checks the echoes of text and binary, and writes PASS or
FAIL into the DOM, which the test reads from chromium's --dump-dom output.

usage: chromium_test.py WMAN_BINARY [unittest args]
"""
import http.server
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from interop_support import WAIT, pid_alive, start_echo_wman, stop_wman, toml_str  # noqa: E402

WMAN = sys.argv[1] if len(sys.argv) > 1 else "build/bin/wman"
PAGE = os.path.join(HERE, "chromium_page.html")
CHROMIUM_TIMEOUT = 90  # seconds for the whole browser run (ASan wman is ~3x slower)
HOLD_TIMEOUT = 60      # longest the page's load event waits for the script's verdict


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class PageServer(http.server.ThreadingHTTPServer):
    """Serves the page at /page.html and takes the page's verdict at POST /result."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), PageHandler)
        self.result = None
        self.result_posted = threading.Event()


class PageHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/hold":
            # The page's <img src="/hold"> delays its load event, and so chromium's
            # --dump-dom, until the script posted its verdict (or the wait gives up).
            self.server.result_posted.wait(HOLD_TIMEOUT)
            self.send_response(204)
            self.end_headers()
            return
        if self.path.split("?")[0] != "/page.html":
            self.send_error(404)
            return
        with open(PAGE, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/result":
            self.server.result = body.decode("utf-8", "replace")
            self.server.result_posted.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def processes_mentioning(marker):
    """Pids of processes whose command line contains `marker` (the unique temp dir)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                if marker.encode() in f.read():
                    pids.append(int(entry))
        except OSError:
            pass
    return pids


def kill_browser(p, marker):
    """Kills the browser `p` and every helper whose command line carries `marker` (its
    unique profile path); returns the pids still alive after WAIT seconds (none, normally).
    Helpers (zygote, renderer, GPU/network service) may outlive the browser process for a
    moment or leave its process group (crashpad starts its own session)."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if p.poll() is None:
        p.kill()
        p.wait()
    deadline = time.monotonic() + WAIT
    while True:
        left = [pid for pid in processes_mentioning(marker) if pid_alive(pid)]
        if not left or time.monotonic() > deadline:
            return left
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


class ChromiumFailed(Exception):
    """Chromium did not finish in time, or left processes that survive SIGKILL."""


def dump_dom(chromium, url):
    """Runs headless `chromium` on `url` with --dump-dom; returns (returncode, stdout,
    stderr). Kills the browser's whole process tree and removes its profile after; raises
    ChromiumFailed when it did not finish within CHROMIUM_TIMEOUT."""
    base = tempfile.mkdtemp(prefix="wman-chromium-")
    # Keep everything chromium writes (crashpad database, dconf, NSS db) inside `base`, and
    # let every helper process mention it on its command line (kill_browser).
    env = dict(os.environ, HOME=base, XDG_CONFIG_HOME=os.path.join(base, "config"),
               XDG_CACHE_HOME=os.path.join(base, "cache"),
               XDG_DATA_HOME=os.path.join(base, "data"))
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-extensions",
           "--disable-dev-shm-usage", "--user-data-dir=" + os.path.join(base, "profile"),
           "--virtual-time-budget=60000", "--dump-dom", url]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, env=env)
    timed_out = False
    try:
        out, err = p.communicate(timeout=CHROMIUM_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        timed_out = True
    finally:
        survivors = kill_browser(p, base)
        shutil.rmtree(base, ignore_errors=True)
    if survivors:
        raise ChromiumFailed("chromium processes survive SIGKILL: %s" % survivors)
    if timed_out:
        raise ChromiumFailed("chromium did not finish within %d s\nstderr:\n%s" % (
            CHROMIUM_TIMEOUT, err[-3000:]))
    return p.returncode, out, err


class ChromiumTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.chromium = find_chromium()
        if not cls.chromium:
            raise AssertionError("chromium is not installed (scripts/deps installs it)")
        cls.http = PageServer()
        cls.http_thread = threading.Thread(target=cls.http.serve_forever, daemon=True)
        cls.http_thread.start()
        origin = "http://127.0.0.1:%d" % cls.http.server_address[1]
        workers = [
            {"name": "plain"},
            {"name": "deflate", "websocket": {"permessage_deflate": "true"}},
            {"name": "origin-ok", "websocket": {"allowed_origins": "[%s]" % toml_str(origin)}},
            {"name": "origin-bad",
             "websocket": {"allowed_origins": '["http://example.invalid"]'}},
        ]
        try:
            cls.wman = start_echo_wman(WMAN, workers)
        except BaseException:
            cls.http.shutdown()
            cls.http.server_close()
            raise
        cls.port = {w["name"]: w["port"] for w in workers}

    @classmethod
    def tearDownClass(cls):
        cls.http.shutdown()
        cls.http.server_close()
        stop_wman(cls.wman)

    def run_chromium(self, url):
        """Runs headless chromium on `url` with --dump-dom; returns (returncode, stdout,
        stderr)."""
        try:
            return dump_dom(self.chromium, url)
        except ChromiumFailed as e:
            self.fail("%s\npage result: %r" % (e, self.http.result))

    def test_browser_echo(self):
        url = "http://127.0.0.1:%d/page.html?plain=%d&deflate=%d&origin_ok=%d&origin_bad=%d" % (
            self.http.server_address[1], self.port["plain"], self.port["deflate"],
            self.port["origin-ok"], self.port["origin-bad"])
        rc, dom, err = self.run_chromium(url)
        body = dom.split("<script>", 1)[0]  # the DOM without the page's script
        context = "\nchromium exit %d\npage result: %r\nDOM:\n%s\nstderr (tail):\n%s%s" % (
            rc, self.http.result, body[-3000:], err[-2000:], self.wman.log_tail(15))
        self.assertIn('<div id="result">', dom, "no DOM dumped" + context)
        verdict = dom.split('<div id="result">', 1)[1].split("</div>", 1)[0]
        self.assertEqual(verdict, "PASS", context)
        self.assertIn("origin_bad: refused", dom, context)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])

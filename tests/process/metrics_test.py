#!/usr/bin/python3
"""The master's operations endpoint against the real wman binary: /metrics in the Prometheus
text format (checked by Debian's promtool) with 8 workers, values that move with traffic, a
scrape answered while every worker is stopped with SIGSTOP (the master never asks them),
/healthz, /readyz turning 503 during `stop -g`, the bearer token, 404 and 405, a reload that
moves the endpoint or is refused keeping it, and `check` refusing a malformed address.

usage: metrics_test.py WMAN_BINARY TEST_APP_SO
"""
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wman_harness import WAIT, LineClient, Wman, free_port, wait_until  # noqa: E402

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"
APP = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "build/lib/libwman_test_app.so"
TOKEN = "t0ken-for.tests"
GEN_CERTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                         "gen_test_certs")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def get(port, path, token=None, method="GET", timeout=WAIT, tls=None):
    """(status, headers dict, body text) of one request to the endpoint (over TLS with the
    ssl.SSLContext `tls`)."""
    conn = http.client.HTTPSConnection("localhost", port, timeout=timeout, context=tls) \
        if tls else http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": "Bearer " + token} if token else {}
        conn.request(method, path, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        conn.close()


def samples(text):
    """{(name, labels text): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def total(values, name):
    return sum(v for (n, _), v in values.items() if n == name)


class MetricsTest(unittest.TestCase):
    def setUp(self):
        self.w = Wman(WMAN, APP)
        self.port = free_port()

    def tearDown(self):
        self.w.cleanup()

    def start(self, count=8, metrics="127.0.0.1:0", extra="", drain="5s", worker_extra=""):
        self.w.write_config([{"name": "lines", "port": self.port, "count": count}],
                            drain_timeout=drain)
        with open(self.w.config_path, "a") as f:
            f.write(worker_extra)  # the worker's table is the last one
        self.set_metrics(metrics, extra)
        self.w.start_daemon()
        self.w.wait_settled(count)
        return self.metrics_port()

    def set_metrics(self, metrics, extra=""):
        with open(self.w.config_path) as f:
            text = f.read()
        text = re.sub(r'\nmetrics[^\n]*', "", text)
        keys = 'metrics = "%s"\nmetrics_token = "%s"\n%s' % (metrics, TOKEN, extra)
        with open(self.w.config_path, "w") as f:
            f.write(text.replace("[daemon]\n", "[daemon]\n" + keys, 1))

    def metrics_port(self):
        address = self.w.status().get("metrics")
        self.assertTrue(address, "status shows no metrics address")
        return int(address.rsplit(":", 1)[1])

    def scrape(self, mport):
        status, headers, body = get(mport, "/metrics", TOKEN)
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))
        return body

    def wait_heartbeats(self, mport, count):
        """Until every worker's heartbeat is in the scrape."""
        return wait_until(lambda: (lambda v: v if sum(
            1 for (n, _) in v if n == "wman_connections") == count else None)(
                samples(self.scrape(mport))), what="%d workers in /metrics" % count)

    def test_scrape_passes_promtool_and_moves_with_traffic(self):
        mport = self.start()
        before = self.wait_heartbeats(mport, 8)
        for slot in range(8):
            self.assertIn(("wman_connections",
                           '{worker="lines",slot="%d",generation="1"}' % slot), before)
        self.assertEqual(before[("wman_workers", '{state="ready"}')], 8)
        self.assertEqual(before[("wman_ready", "")], 1)
        self.assertGreater(before[("wman_process_resident_memory_bytes",
                                   '{process="master"}')], 0)
        self.assertGreater(before[("wman_process_open_fds", '{process="master"}')], 0)
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool missing (Debian package prometheus)")
        check = subprocess.run([promtool, "check", "metrics"], input=self.scrape(mport),
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(check.stdout + check.stderr, "")

        clients = [LineClient(self.port) for _ in range(4)]
        try:
            for c in clients:
                for i in range(5):
                    self.assertEqual(c.ask("hello %d" % i), "hello %d" % i)

            def moved():
                v = samples(self.scrape(mport))
                grown = all(total(v, n) >= total(before, n) + d for n, d in (
                    ("wman_messages_received_total", 20), ("wman_messages_sent_total", 20),
                    ("wman_connections_accepted_total", 4),
                    ("wman_received_bytes_total", 20 * 8), ("wman_sent_bytes_total", 20 * 8)))
                return v if grown and total(v, "wman_connections") >= 4 else None
            wait_until(moved, what="counters to count the traffic")
        finally:
            for c in clients:
                c.close()

    def test_http_responses_by_class_in_metrics_and_status(self):
        self.w.write_config([])
        root = os.path.join(self.w.dir, "www")
        os.mkdir(root)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("<p>hi</p>")
        with open(self.w.config_path, "a") as f:
            f.write('\n[[worker]]\nname = "web"\nlisten = "http://127.0.0.1:%d"\ncount = 2\n'
                    'app = "echo"\n[worker.http]\nroot = "%s"\n' % (self.port, root))
        self.set_metrics("127.0.0.1:0")
        self.w.start_daemon()
        self.w.wait_settled(2)
        mport = self.metrics_port()
        codes = {"/": 200, "/missing": 404, "/../x": 400}
        for path, code in codes.items():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)
            conn.putrequest("GET", path, skip_accept_encoding=True)
            conn.endheaders()
            self.assertEqual(conn.getresponse().status, code, path)
            conn.close()

        def counted():
            v = samples(self.scrape(mport))
            by = {c: sum(x for (n, lab), x in v.items()
                         if n == "wman_http_responses_total" and 'code="%s"' % c in lab)
                  for c in ("2xx", "4xx")}
            return v if by["2xx"] >= 1 and by["4xx"] >= 2 else None
        wait_until(counted, what="responses counted in /metrics")
        promtool = shutil.which("promtool")
        check = subprocess.run([promtool, "check", "metrics"], input=self.scrape(mport),
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        text = self.w.cli("status").stdout
        self.assertRegex(text, r"worker web slot \d.*responses 1xx 0, 2xx")

    def test_scrape_never_waits_for_workers(self):
        mport = self.start()
        self.wait_heartbeats(mport, 8)
        pids = [w["pid"] for w in self.w.status()["workers"]]
        try:
            for pid in pids:
                os.kill(pid, signal.SIGSTOP)
            # A master that asked its workers would hang here until the 2 s timeout.
            for _ in range(3):
                body = self.scrape_within(mport, 2.0)
                self.assertIn("wman_connections{", body)
            status, _, _ = get(mport, "/healthz", timeout=2.0)
            self.assertEqual(status, 200)
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)

    def scrape_within(self, mport, seconds):
        status, _, body = get(mport, "/metrics", TOKEN, timeout=seconds)
        self.assertEqual(status, 200)
        return body

    def test_token_paths_and_methods(self):
        mport = self.start(count=1)
        status, headers, _ = get(mport, "/metrics")
        self.assertEqual(status, 401)
        self.assertIn("Bearer", headers.get("www-authenticate", ""))
        self.assertEqual(get(mport, "/metrics", "wrong")[0], 401)
        self.assertEqual(get(mport, "/metrics", TOKEN)[0], 200)
        self.assertEqual(get(mport, "/healthz")[0], 200)
        self.assertEqual(get(mport, "/nothing-here")[0], 404)
        status, headers, _ = get(mport, "/metrics", TOKEN, method="POST")
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("allow"), "GET")
        # A malformed head is answered 400 and closed; the endpoint serves on.
        with socket.create_connection(("127.0.0.1", mport), timeout=WAIT) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nBad Header: x\r\n\r\n")
            self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 400 "))
        self.assertEqual(get(mport, "/healthz")[0], 200)

    def test_readyz_turns_503_while_draining(self):
        mport = self.start(count=2, drain="30s")
        self.assertEqual(get(mport, "/readyz")[0], 200)
        client = LineClient(self.port)
        self.assertEqual(client.ask("hi"), "hi")
        stopper = self.w.cli_bg("stop", "-g")
        try:
            # The connection keeps its worker draining, so the master is still there to ask.
            status, _, body = wait_until(
                lambda: (lambda r: r if r[0] == 503 else None)(get(mport, "/readyz")),
                what="/readyz to answer 503")
            self.assertIn("stopping", body)
            self.assertEqual(get(mport, "/healthz")[0], 200)
        finally:
            client.close()
            stopper.communicate(timeout=60)
        self.assertEqual(stopper.returncode, 0)

    def test_reload_moves_the_endpoint_or_keeps_it(self):
        mport = self.start(count=1, metrics="127.0.0.1:%d" % free_port())
        # An address taken by someone else refuses the reload; the old endpoint serves on.
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            self.set_metrics("127.0.0.1:%d" % taken.getsockname()[1])
            r = self.w.cli("reload")
            self.assertNotEqual(r.returncode, 0, r.stdout)
            self.assertIn("cannot serve metrics", r.stdout + r.stderr)
            self.assertEqual(get(mport, "/healthz")[0], 200)
        new_port = free_port()
        self.set_metrics("127.0.0.1:%d" % new_port)
        r = self.w.cli("reload")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(get(new_port, "/healthz")[0], 200)
        self.assertEqual(self.metrics_port(), new_port)
        with self.assertRaises(ConnectionRefusedError):
            get(mport, "/healthz")

    def test_https_and_certificate_expiry(self):
        certs = os.path.join(self.w.dir, "certs")
        subprocess.run([GEN_CERTS, certs], check=True, capture_output=True, timeout=60)
        pair = 'cert = "%s/server.pem"\nkey = "%s/server.key"\n' % (certs, certs)
        mport = self.start(count=1, extra="".join("metrics_" + line + "\n"
                                                  for line in pair.splitlines()),
                           worker_extra='transport = "tls"\n[worker.tls]\n' + pair)
        tls = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
        status, _, body = get(mport, "/metrics", TOKEN, tls=tls)
        self.assertEqual(status, 200)
        expiry = samples(body)[("wman_tls_certificate_expiry_seconds",
                                '{worker="metrics",listen="https://127.0.0.1:%d"}' % mport)]
        # gen_test_certs issues the leaf for 365 days (its CA lives longer).
        self.assertAlmostEqual(expiry, time.time() + 365 * 86400, delta=2 * 86400)
        self.assertEqual(samples(body)[("wman_tls_certificate_expiry_seconds",
                                        '{worker="lines",listen="text://127.0.0.1:%d"}'
                                        % self.port)], expiry)
        # Plain HTTP on the TLS port is answered 400 by the TLS transport, never served.
        self.assertEqual(get(mport, "/healthz")[0], 400)

    def test_check_refuses_a_key_that_does_not_match(self):
        certs = os.path.join(self.w.dir, "certs")
        subprocess.run([GEN_CERTS, certs], check=True, capture_output=True, timeout=60)
        self.w.write_config([{"name": "lines", "port": self.port, "count": 1}])
        self.set_metrics("127.0.0.1:0", 'metrics_cert = "%s/server.pem"\n'
                         'metrics_key = "%s/other.key"\n' % (certs, certs))
        r = self.w.cli("check")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout + r.stderr, r"wman\.toml:\d+:\d+: metrics: ")

    def test_check_refuses_a_malformed_address(self):
        self.w.write_config([{"name": "lines", "port": self.port, "count": 1}])
        self.set_metrics("localhost")
        r = self.w.cli("check")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout + r.stderr,
                         r"wman\.toml:\d+:\d+: invalid metrics address 'localhost': missing port")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

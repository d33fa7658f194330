#!/usr/bin/python3
"""The master's control socket under abuse and `wman connections` at scale, against the real
wman binary: the connection cap (refusals carry a JSON error, the CLI still gets through),
the idle timeout (a client waiting for a verdict is not idle), a reason for every bad
request, a JSON error for an over-long line, connections answered in bounded pages with
every row exactly once, and a stopped worker named as not answering within the deadline.

usage: control_test.py WMAN_BINARY TEST_APP_SO
"""
import json
import os
import resource
import select
import signal
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wman_harness import WAIT, LineClient, Wman, free_port, wait_until  # noqa: E402

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"
APP = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "build/lib/libwman_test_app.so"


class ControlConn:
    """A raw connection to the control socket, reading JSON lines."""

    def __init__(self, path, timeout=WAIT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        """The next JSON line, parsed; raises EOFError when the master closed."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("master closed the connection")
            self.buf += chunk
        text, _, self.buf = self.buf.partition(b"\n")
        return json.loads(text)

    def ask(self, obj_or_text):
        text = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text)
        self.send(text + "\n")
        return self.line()

    def at_eof(self):
        """True once the master has closed (after any buffered line was read)."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True

    def has_data(self):
        """True if a byte (or EOF) is readable right now; never waits."""
        return bool(select.select([self.sock], [], [], 0)[0])

    def close(self):
        self.sock.close()


class Control(unittest.TestCase):
    def setUp(self):
        self.w = Wman(WMAN, APP)
        self.port = free_port()
        self.conns = []

    def tearDown(self):
        for c in self.conns:
            c.close()
        reports = self.w.cleanup()
        self.assertEqual(reports, "", "sanitizer reports:\n" + reports[:20000])

    def start(self, count=2, **daemon_keys):
        """Starts wman with one text worker; `daemon_keys` are extra [daemon] TOML literals."""
        self.w.write_config([dict(name="t", port=self.port, count=count)], drain_timeout="20s")
        with open(self.w.config_path) as f:
            text = f.read()
        extra = "".join("%s = %s\n" % kv for kv in daemon_keys.items())
        with open(self.w.config_path, "w") as f:
            f.write(text.replace("[daemon]\n", "[daemon]\n" + extra, 1))
        return self.w.start_daemon()

    def connect(self):
        c = ControlConn(self.w.sock_path)
        self.conns.append(c)
        return c

    # ------------------------------------------------------------------------------------
    def test_connections_over_the_cap_get_a_json_error_and_status_still_gets_through(self):
        self.start(control_max_connections=8, control_idle_timeout='"3s"')
        held = [self.connect() for _ in range(8)]
        # A round trip on the last one proves the master has accepted all eight.
        self.assertIn("workers", held[-1].ask({"cmd": "status"}))
        for _ in range(20):
            extra = self.connect()
            answer = extra.line()
            self.assertFalse(answer["ok"], answer)
            self.assertIn("too many control connections", answer["error"])
            self.assertTrue(extra.at_eof(), "a refused connection must be closed")
            extra.close()
        self.assertFalse(any(c.has_data() for c in held[:-1]), "held connections were touched")
        # The CLI retries a refusal at the cap; the idle timeout frees the silent slots.
        doc = self.w.status()
        self.assertEqual(len(doc["workers"]), 2, doc)
        for c in held:
            answer = c.line()
            self.assertIn("idle", answer["error"])
            self.assertTrue(c.at_eof())

    def test_idle_connection_is_closed_but_a_client_awaiting_a_verdict_is_not(self):
        self.start(control_idle_timeout='"500ms"')
        # A stop -g waits for the app connection below to end: its client is not idle.
        app = LineClient(self.port)
        self.assertEqual(app.ask("hi"), "hi")
        stopper = self.w.cli_bg("stop", "-g")
        wait_until(lambda: "stopping (drain)" in self.w.log_text(), what="the drain to begin")
        silent = self.connect()
        answer = silent.line()  # arrives once the idle timeout has passed
        self.assertFalse(answer["ok"])
        self.assertIn("idle for 500 ms", answer["error"])
        self.assertTrue(silent.at_eof())
        self.assertIsNone(stopper.poll(), "stop -g ended before its drain did")
        app.close()
        out, err = stopper.communicate(timeout=WAIT)
        self.assertEqual(stopper.returncode, 0, out + err)
        self.assertIn("wman stopped", out)

    def test_every_bad_request_gets_a_reason_and_the_connection_survives(self):
        self.start()
        c = self.connect()
        bad = {
            "": "empty line",
            "not json": "not JSON",
            "[1, 2]": "not a JSON object",
            "{}": "missing \"cmd\"",
            '{"cmd": 5}': "\"cmd\" must be a string",
            '{"cmd": ""}': "\"cmd\" is empty",
            '{"cmd": "frobnicate"}': "unknown command 'frobnicate'",
            '{"cmd": "connections", "page_size": 0}': "page_size must be",
            '{"cmd": "connections", "timeout_ms": "soon"}': "timeout_ms must be",
        }
        for line, reason in bad.items():
            answer = c.ask(line)
            self.assertIs(answer["ok"], False, (line, answer))
            self.assertIn(reason, answer["error"], line)
            self.assertFalse(answer["error"].rstrip().endswith(":"), (line, answer))
        self.assertIn("workers", c.ask({"cmd": "status"}))

    def test_over_long_line_gets_a_json_error_then_close(self):
        self.start()
        c = self.connect()
        c.send(b"x" * (70 * 1024))
        answer = c.line()
        self.assertFalse(answer["ok"])
        self.assertIn("longer than 65536 bytes", answer["error"])
        self.assertTrue(c.at_eof())
        self.assertEqual(len(self.w.status()["workers"]), 2)

    def test_connections_come_in_bounded_pages_with_every_row_once(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, 8192)
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        self.start(count=2)
        n = 3000
        clients = []
        try:
            for _ in range(n):
                clients.append(socket.create_connection(("127.0.0.1", self.port), timeout=WAIT))
            ports = {s.getsockname()[1] for s in clients}
            wait_until(lambda: sum(w["connections"] or 0 for w in self.w.status()["workers"]) == n,
                       what="%d connections in status" % n)
            c = self.connect()
            c.send(json.dumps({"cmd": "connections", "page_size": 100}) + "\n")
            pages, rows = 0, []
            while True:
                line = c.line()
                if line.get("done"):
                    summary = line
                    break
                pages += 1
                self.assertLessEqual(len(line["connections"]), 100)
                rows += line["connections"]
            self.assertTrue(summary["ok"], summary)
            self.assertEqual(summary["missing"], [])
            self.assertEqual(summary["workers"], 2)
            self.assertEqual(summary["total"], n)
            self.assertGreaterEqual(pages, n // 100)
            keys = [(r["pid"], r["id"]) for r in rows]
            self.assertEqual(len(keys), len(set(keys)), "a row came twice")
            remote = [int(r["remote"].rsplit(":", 1)[1]) for r in rows]
            self.assertEqual(sorted(remote), sorted(ports))
            # The CLI gathers the same pages: one JSON document, or the table.
            r = self.w.cli("connections", "--json", timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            doc = json.loads(r.stdout)
            self.assertEqual(len(doc["connections"]), n)
            self.assertEqual(doc["summary"]["total"], n)
            r = self.w.cli("connections", timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.splitlines()[-1], "%d connections" % n)
        finally:
            for s in clients:
                s.close()

    def test_a_stopped_worker_is_named_as_not_answering_within_the_deadline(self):
        self.start(count=2)
        workers = self.w.wait_settled(2)["workers"]
        stopped = workers[1]["pid"]
        clients = [LineClient(self.port) for _ in range(6)]
        try:
            for c in clients:
                c.ask("hi")
            os.kill(stopped, signal.SIGSTOP)
            try:
                r = self.w.cli("connections", "--timeout", "1", timeout=30)
                j = self.w.cli("connections", "--json", "--timeout", "1", timeout=30)
            finally:
                os.kill(stopped, signal.SIGCONT)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("did not answer within 1000 ms", r.stderr)
            self.assertIn("pid %d: no answer within 1000 ms" % stopped, r.stderr)
            self.assertEqual(j.returncode, 1, j.stderr)
            doc = json.loads(j.stdout)
            self.assertFalse(doc["summary"]["ok"])
            self.assertEqual([m["pid"] for m in doc["summary"]["missing"]], [stopped])
            self.assertEqual(doc["summary"]["timeout_ms"], 1000)
            # Whatever the other worker holds is still listed.
            self.assertTrue(all(row["pid"] != stopped for row in doc["connections"]))
            # Once it runs again, every worker answers.
            self.assertEqual(len(self.w.connections()), len(clients))
        finally:
            for c in clients:
                c.close()


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:])  # extra args: test names

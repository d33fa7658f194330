#!/usr/bin/python3
"""Reloads of the real wman binary: zero failed connection attempts and zero lost messages
while clients hammer the listener through 20 reloads (plain and -g, shared socket and
reuse_port), a broken config or a failing new generation leaves the old workers serving,
and a reload can change the worker count.

usage: reload_load_test.py WMAN_BINARY TEST_APP_SO
"""
import os
import signal
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wman_harness import (WAIT, LineClient, Wman, assert_all_gone, free_port,  # noqa: E402
                          wait_until)

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"
APP = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "build/lib/libwman_test_app.so"

IO_TIMEOUT = 5.0  # a connect or an echo slower than this counts as lost


class Load:
    """Client threads that connect, exchange `per_conn` echoed lines one at a time, close,
    and repeat without pause until stop()."""

    def __init__(self, port, threads=3, per_conn=4, burst=16):
        self.port, self.per_conn, self.burst = port, per_conn, burst
        self.cond = threading.Condition()
        self.running = True
        self.connections = 0          # connections that completed their exchange (or ended)
        self.messages = 0             # echoes received and matching
        self.server_closed = 0        # connections the server closed (EOF/reset) mid-exchange
        self.closed_before_echo = 0   # ... of which before their first echo
        self.failures = []            # connect failures, lost or wrong echoes
        self.closes = []              # how each server close looked, for the report
        # `threads` sequential clients plus one that opens `burst` connections at once, so
        # connections sit in the accept queue whenever a generation swaps.
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(threads)]
        if burst:
            self.threads.append(threading.Thread(target=self.run_burst, args=(threads,),
                                                 daemon=True))
        for t in self.threads:
            t.start()

    def stop(self):
        with self.cond:
            self.running = False
        for t in self.threads:
            t.join(IO_TIMEOUT * 3)

    def wait_progress(self, n, timeout=WAIT):
        """Waits until `n` more connections have finished their exchange."""
        with self.cond:
            target = self.connections + n
            ok = self.cond.wait_for(lambda: self.connections >= target or self.failures, timeout)
            return ok and not self.failures

    def counts(self):
        with self.cond:
            return dict(connections=self.connections, messages=self.messages,
                        server_closed=self.server_closed,
                        closed_before_first_echo=self.closed_before_echo,
                        failures=len(self.failures))

    def note(self, **kw):
        with self.cond:
            for k, v in kw.items():
                if k == "failure":
                    self.failures.append(v)
                elif k == "close":
                    self.closes.append(v)
                else:
                    setattr(self, k, getattr(self, k) + v)
            self.cond.notify_all()

    def running_now(self):
        with self.cond:
            return self.running

    def connect(self, tag):
        t0 = time.monotonic()
        try:
            return socket.create_connection(("127.0.0.1", self.port), timeout=IO_TIMEOUT)
        except OSError as e:
            self.note(failure="connect %s failed after %.2f s: %r" %
                      (tag, time.monotonic() - t0, e))
            return None

    def exchange(self, s, tag, first, count):
        """Sends messages first..first+count-1 one at a time, each awaiting its echo.
        Returns False once the connection is over (closed by the server or failed)."""
        buf = b""
        echoed = first
        try:
            for m in range(first, first + count):
                line = ("%s-m%d" % (tag, m)).encode()
                s.sendall(line + b"\n")
                while b"\n" not in buf:
                    chunk = s.recv(4096)
                    if not chunk:
                        raise ConnectionResetError("EOF")
                    buf += chunk
                got, _, buf = buf.partition(b"\n")
                if got != line:
                    self.note(failure="%s: sent %r, got %r" % (tag, line, got))
                    return False
                echoed += 1
                self.note(messages=1)
            return True
        except (ConnectionResetError, BrokenPipeError) as e:
            self.note(server_closed=1, closed_before_echo=int(echoed == 0),
                      close="%s: %s after %d echoes" % (tag, e, echoed))
        except socket.timeout:
            self.note(failure="%s: no echo for message %d within %.0f s (connection still "
                      "open)" % (tag, echoed, IO_TIMEOUT))
        except OSError as e:
            self.note(failure="%s: %r after %d echoes" % (tag, e, echoed))
        return False

    def run(self, t):
        n = 0
        while self.running_now():
            n += 1
            tag = "t%d-c%d" % (t, n)
            s = self.connect(tag)
            if s is None:
                continue
            try:
                self.exchange(s, tag, 0, self.per_conn)
            finally:
                s.close()
            self.note(connections=1)

    def run_burst(self, t):
        n = 0
        while self.running_now():
            n += 1
            socks = []
            for i in range(self.burst):
                tag = "b%d-c%d" % (n, i)
                s = self.connect(tag)
                if s is not None:
                    socks.append((tag, s))
            # Every connection of the burst is open; now each exchanges its messages.
            for m in range(self.per_conn):
                alive = []
                for tag, s in socks:
                    if self.exchange(s, tag, m, 1):
                        alive.append((tag, s))
                    else:
                        s.close()
                        self.note(connections=1)
                socks = alive
            for tag, s in socks:
                s.close()
                self.note(connections=1)


class Reload(unittest.TestCase):
    def setUp(self):
        self.w = Wman(WMAN, APP)
        self.port = free_port()

    def tearDown(self):
        reports = self.w.cleanup()
        self.assertEqual(reports, "", "sanitizer reports:\n" + reports[:20000])

    def config(self, count=2, reuse_port=False, options=None, **daemon):
        return self.w.write_config([dict(name="t", port=self.port, count=count,
                                         reuse_port=reuse_port, options=options)], **daemon)

    # ------------------------------------------------------------------------------------
    def reload_under_load(self, reuse_port, plan, label):
        """Runs `plan`, a list of (graceful, count) reloads, while Load hammers the listener.
        With only graceful reloads nobody may close a client's connection either."""
        self.config(count=2, reuse_port=reuse_port)
        self.w.start_daemon()
        gen = self.w.status()["generation"]
        count = 2
        load = Load(self.port)
        try:
            self.assertTrue(load.wait_progress(20), load.failures[:5])
            for i, (graceful, count) in enumerate(plan):
                self.config(count=count, reuse_port=reuse_port)
                args = ("reload", "-g") if graceful else ("reload",)
                r = self.w.cli(*args)
                self.assertEqual(r.returncode, 0, "%s #%d: %s%s%s" % (
                    " ".join(args), i, r.stdout, r.stderr, self.w.log_tail()))
                gen += 1
                self.assertIn("generation %d ready (%d workers)" % (gen, count), r.stdout)
                # Let traffic flow through the new generation before the next swap.
                self.assertTrue(load.wait_progress(30),
                                "load stalled after reload #%d: %s" % (i, load.failures[:5]))
        finally:
            load.stop()
        counts = load.counts()
        print("\nreload under load (%s, reuse_port=%s, %d reloads): connections=%d messages=%d "
              "server_closed=%d (before first echo: %d) failures=%d"
              % (label, reuse_port, len(plan), counts["connections"], counts["messages"],
                 counts["server_closed"], counts["closed_before_first_echo"],
                 counts["failures"]), file=sys.stderr)
        for f in load.failures[:10]:
            print("  failure: " + f, file=sys.stderr)
        for c in load.closes[:10]:
            print("  server close: " + c, file=sys.stderr)
        self.assertEqual(load.failures, [], self.w.log_tail())
        self.assertGreater(counts["messages"], 0)
        if all(graceful for graceful, _ in plan):
            self.assertEqual(load.closes, [], "connections closed although every reload was "
                             "graceful (-g): lost from an accept queue?" + self.w.log_tail())
        # Every old generation is gone; the last one serves.
        doc = self.w.wait_settled(count)
        self.assertEqual(doc["generation"], gen)
        self.assertTrue(all(w["generation"] == gen for w in doc["workers"]), doc["workers"])

    # 20 reloads in all: plain and -g alternating, with a shared socket and with reuse_port.
    MIXED = [(i % 2 == 1, 2) for i in range(10)]

    def test_reload_under_load_shared_socket(self):
        self.reload_under_load(False, self.MIXED, "plain and -g alternating")

    def test_reload_under_load_reuse_port(self):
        self.reload_under_load(True, self.MIXED, "plain and -g alternating")

    # Graceful reloads that change the worker count (2 -> 3 -> 2 ...): with reuse_port the
    # master binds a new set of clones, and the old set must not drop what is queued in it.
    RESIZE = [(True, 3 if i % 2 == 0 else 2) for i in range(6)]

    def test_graceful_reload_changing_count_under_load_shared_socket(self):
        self.reload_under_load(False, self.RESIZE, "-g, count 2<->3")

    def test_graceful_reload_changing_count_under_load_reuse_port(self):
        self.reload_under_load(True, self.RESIZE, "-g, count 2<->3")

    # ------------------------------------------------------------------------------------
    def test_reload_with_broken_config_keeps_old_workers(self):
        self.config(count=2)
        master = self.w.start_daemon()
        doc = self.w.status()
        pids = sorted(w["pid"] for w in doc["workers"])
        with open(self.w.config_path) as f:
            good = f.read()
        # Line 4 of the file gets an unknown key.
        lines = good.splitlines()
        lines.insert(3, 'stop_timout = "1s"')
        with open(self.w.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

        # The CLI refuses it with file:line.
        r = self.w.cli("reload")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn(self.w.config_path + ":4:", r.stderr)
        # The master refuses it too when asked by signal (it re-reads the file itself).
        os.kill(master, signal.SIGHUP)
        last = wait_until(lambda: self.w.status()["last_reload"] or None,
                          what="the master's reload verdict")
        self.assertFalse(last["ok"], last)
        self.assertIn(self.w.config_path + ":4:", last["message"])
        doc = self.w.status()
        self.assertEqual(sorted(w["pid"] for w in doc["workers"]), pids)
        self.assertTrue(all(w["state"] == "ready" for w in doc["workers"]))
        with LineClient(self.port) as c:
            self.assertIn(int(c.ask("pid")), pids)
            self.assertEqual(c.ask("still serving"), "still serving")

    def test_reload_whose_workers_fail_keeps_old_workers(self):
        self.config(count=2)
        self.w.start_daemon()
        doc = self.w.status()
        gen, pids = doc["generation"], sorted(w["pid"] for w in doc["workers"])
        # Valid config, but the new workers abort while loading the app.
        self.config(count=2, options={"crash_at_start": "true"})
        r = self.w.cli("reload")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("old workers keep serving", r.stderr)
        self.assertRegex(r.stderr, r"signal 6|SIGABRT", r.stderr)
        doc = self.w.wait_settled(2)
        self.assertEqual(sorted(w["pid"] for w in doc["workers"]), pids)
        self.assertTrue(all(w["generation"] == gen for w in doc["workers"]), doc["workers"])
        self.assertFalse(doc["last_reload"]["ok"], doc["last_reload"])
        with LineClient(self.port) as c:
            self.assertIn(int(c.ask("pid")), pids)

    def test_graceful_reload_keeps_old_connections_until_drain_timeout(self):
        self.config(count=2, drain_timeout="3s")
        self.w.start_daemon()
        doc = self.w.status()
        gen, old = doc["generation"], {w["pid"] for w in doc["workers"]}
        held = LineClient(self.port)
        try:
            held_pid = int(held.ask("pid"))
            self.assertIn(held_pid, old)
            t0 = time.monotonic()
            r = self.w.cli("reload", "-g")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr + self.w.log_tail())
            doc = self.w.status()
            rows = {w["pid"]: w for w in doc["workers"]}
            self.assertIn(held_pid, rows, "the draining worker left at once")
            self.assertEqual(rows[held_pid]["state"], "stopping")
            new = {p for p, w in rows.items() if w["generation"] == gen + 1}
            self.assertEqual(len(new), 2, doc["workers"])
            self.assertTrue(all(rows[p]["state"] == "ready" for p in new))
            # The old worker keeps serving its connection; new ones go to the new workers.
            self.assertEqual(held.ask("during drain"), "during drain")
            self.assertEqual(int(held.ask("pid")), held_pid)
            with LineClient(self.port) as c:
                self.assertIn(int(c.ask("pid")), new)
            # At drain_timeout the old worker closes what is left and exits.
            self.assertTrue(held.closed_by_server(timeout=WAIT), "never closed")
            waited = time.monotonic() - t0
        finally:
            held.close()
        print("\nheld connection closed %.2f s after reload -g (drain_timeout 3s)" % waited,
              file=sys.stderr)
        self.assertGreater(waited, 2.0, "closed before drain_timeout")
        self.assertLess(waited, 3.0 + 3.0, "closed long after drain_timeout")
        assert_all_gone(self, old, what="old worker")
        doc = self.w.wait_settled(2)
        self.assertEqual({w["pid"] for w in doc["workers"]}, new)

    def test_reload_changes_worker_count(self):
        self.config(count=2)
        self.w.start_daemon()
        doc = self.w.status()
        gen, old = doc["generation"], [w["pid"] for w in doc["workers"]]
        self.config(count=3)
        r = self.w.cli("reload")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + self.w.log_tail())
        self.assertIn("(3 workers)", r.stdout)
        doc = self.w.wait_settled(3)
        self.assertEqual(doc["workers_total"], 3)
        self.assertTrue(all(w["generation"] == gen + 1 for w in doc["workers"]), doc["workers"])
        assert_all_gone(self, old, what="old worker")
        new = {w["pid"] for w in doc["workers"]}
        self.assertEqual(len(new), 3)
        with LineClient(self.port) as c:
            self.assertIn(int(c.ask("pid")), new)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:])  # extra args: test names

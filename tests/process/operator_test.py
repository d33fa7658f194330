#!/usr/bin/python3
"""What an operator sees when things go wrong: `stop -g` refuses new clients at once, `stop`
waits for the master's own deadline, a failed or refused reload says what really serves and
is logged and recorded, `status` shows crash-looping slots, and a broken config file is
reported instead of "not running".

usage: operator_test.py WMAN_BINARY TEST_APP_SO
"""
import errno
import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wman_harness import (WAIT, LineClient, Wman, free_port, pid_alive,  # noqa: E402
                          wait_until)

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"
APP = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "build/lib/libwman_test_app.so"

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[")


def connect_error(port):
    """The errno of a fresh connect() to the port, or 0 when it was accepted."""
    s = socket.socket()
    s.settimeout(5.0)
    try:
        s.connect(("127.0.0.1", port))
        return 0
    except OSError as e:
        return e.errno
    finally:
        s.close()


class Operator(unittest.TestCase):
    def setUp(self):
        self.w = Wman(WMAN, APP)
        self.port = free_port()
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.communicate()
        reports = self.w.cleanup()
        self.assertEqual(reports, "", "sanitizer reports:\n" + reports[:20000])

    def config(self, count=2, options=None, **daemon):
        return self.w.write_config(
            [dict(name="t", port=self.port, count=count, options=options)], **daemon)

    def assert_one_line_entries(self):
        log = self.w.log_text()
        for line in log.splitlines():
            self.assertRegex(line, LOG_LINE, "a log entry spans lines:\n" + log[-4000:])

    # ------------------------------------------------------------------------------------
    def test_stop_g_refuses_new_connections_at_once_and_held_ones_finish(self):
        self.config(count=2, drain_timeout="20s")
        master = self.w.start_daemon()
        held = LineClient(self.port)
        try:
            self.assertEqual(held.ask("before"), "before")
            stopper = self.w.cli_bg("stop", "-g")
            self.procs.append(stopper)
            # No event says every worker has read its stop message: poll, bounded.
            wait_until(lambda: connect_error(self.port) == errno.ECONNREFUSED,
                       what="new connections to be refused during the drain")
            self.assertEqual(held.ask("during"), "during")
            self.assertIsNone(stopper.poll(), "stop -g returned while a connection was open")
            # A reload during the stop is refused, logged and recorded.
            r = self.w.cli("reload")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("the server is stopping", r.stderr)
            self.assertIn("the server is stopping", self.w.status()["last_reload"]["message"])
            self.assertRegex(self.w.log_text(), r"reload refused: the server is stopping")
        finally:
            held.close()
        out, err = stopper.communicate(timeout=WAIT)
        self.assertEqual(stopper.returncode, 0, out + err + self.w.log_tail())
        self.assertFalse(pid_alive(master))
        self.assertRegex(self.w.log_text(), r"closed \d+ listening socket")

    def test_stop_waits_as_long_as_the_masters_own_deadline(self):
        # The master runs with a 14 s drain; the file now says 1 s. The CLI must wait for the
        # master's deadline, not one derived from the edited file.
        self.config(count=1, drain_timeout="14s", stop_timeout="1s")
        master = self.w.start_daemon()
        held = LineClient(self.port)
        try:
            self.assertEqual(held.ask("x"), "x")
            self.config(count=1, drain_timeout="1s", stop_timeout="1s")
            r = self.w.cli("stop", "-g", timeout=90)
        finally:
            held.close()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + self.w.log_tail())
        self.assertIn("wman stopped", r.stdout)
        self.assertFalse(pid_alive(master))

    def test_crash_loop_shows_slots_and_failed_reload_says_none_serve(self):
        trigger = os.path.join(self.w.dir, "crash-at-start")
        self.config(count=2, options={"crash_at_start_file": '"%s"' % trigger})
        doc = self.w.start_daemon() and self.w.wait_settled(2)
        with open(trigger, "w"):
            pass
        for row in doc["workers"]:
            os.kill(row["pid"], 9)

        def both_backing_off():
            d = self.w.status()
            rows = [w for w in d["workers"] if w["state"] == "backoff"]
            return d if len(rows) == 2 else None
        doc = wait_until(both_backing_off, what="both slots to back off")
        for row in doc["workers"]:
            self.assertGreaterEqual(row["restarts"], 1, row)
            self.assertTrue(row["last_exit"], row)
        # The table is a later snapshot: a slot may be between two back-offs (respawned,
        # crashing again) when it is taken, so wait for one that shows the back-off.
        table = wait_until(lambda: (lambda t: t if "backoff until" in t else None)(
            self.w.cli("status").stdout), what="status table with the back-off")
        self.assertNotIn("no worker processes", table)
        self.assertIn("last exit: killed by signal", table)

        # The new generation crashes too; nothing old is serving, and the answer says so.
        r = self.w.cli("reload")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertNotIn("old workers keep serving", r.stderr)
        self.assertIn("no worker is serving now", r.stderr)
        self.assertIn("no worker is serving now", self.w.status()["last_reload"]["message"])
        os.unlink(trigger)
        self.w.wait_settled(2, timeout=WAIT + 15)

    def test_reload_refused_for_config_errors_is_logged_and_recorded(self):
        self.config(count=2)
        self.w.start_daemon()
        good = open(self.w.config_path).read()
        with open(self.w.config_path, "w") as f:
            f.write(good.replace("count = 2", "count = 2\nno_such_key = 1\nother_bad_key = 2"))
        r = self.w.cli("reload")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stderr, r"wman\.toml:\d+:.*no_such_key")
        self.assertIn("old workers keep serving", r.stderr)
        log = self.w.log_text()
        self.assertRegex(log, r"reload: .*wman\.toml:\d+:.*no_such_key")
        self.assertRegex(log, r"reload: .*wman\.toml:\d+:.*other_bad_key")
        self.assertRegex(log, r"reload refused: .*2 error")
        last = self.w.status()["last_reload"]
        self.assertFalse(last["ok"], last)
        self.assertIn("no_such_key", last["message"])
        self.assertNotIn("\n", last["message"])
        self.assert_one_line_entries()
        # The workers never changed.
        with LineClient(self.port) as c:
            self.assertEqual(c.ask("still"), "still")

    def test_status_with_a_broken_config_reports_the_errors(self):
        self.config(count=1)
        self.w.start_daemon()
        good = open(self.w.config_path).read()
        # Still parseable: the run_dir is found, the master answers, the errors are shown.
        with open(self.w.config_path, "w") as f:
            f.write(good.replace("count = 1", "count = 1\nno_such_key = 1"))
        r = self.w.cli("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("GLOBAL STATUS", r.stdout)
        self.assertRegex(r.stderr, r"wman\.toml:\d+:.*no_such_key")
        # Not TOML at all: the parse error is the answer, not a bare "not running".
        with open(self.w.config_path, "w") as f:
            f.write(good + "\n[daemon\n")
        r = self.w.cli("status")
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"wman\.toml:\d+", r.stderr)
        self.assertIn("config refused", r.stderr)
        with open(self.w.config_path, "w") as f:
            f.write(good)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:])  # extra args: test names

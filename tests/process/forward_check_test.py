#!/usr/bin/python3
"""`wman check`, `start` and `reload` on configs with the built-in `forward` app: a bad
upstream URL is a config error at its line, an upstream host that does not resolve refuses the
config, and a good upstream passes. No forward worker is ever started.

usage: forward_check_test.py WMAN_BINARY
"""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wman_harness import LineClient, Wman, free_port  # noqa: E402

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"
# RFC 2606 reserves .invalid: no resolver answers for it.
NOWHERE = "no-such-upstream.invalid"


class ForwardCheck(unittest.TestCase):
    def setUp(self):
        self.w = Wman(WMAN, "echo")
        self.echo_port = free_port()

    def tearDown(self):
        reports = self.w.cleanup()
        self.assertEqual(reports, "", "sanitizer reports:\n" + reports[:20000])

    def config(self, upstream=None):
        """An echo worker, plus a forward worker named relay when `upstream` is given.
        Returns the line that `upstream = ...` is written on."""
        workers = [dict(name="echo", port=self.echo_port, count=1, app="echo")]
        if upstream is not None:
            workers.append(dict(name="relay", port=free_port(), count=1, app="forward",
                                options={"upstream": '"%s"' % upstream}))
        path = self.w.write_config(workers)
        with open(path) as f:
            lines = f.read().splitlines()
        return next((i + 1 for i, l in enumerate(lines) if l.startswith("upstream =")), None)

    def test_unknown_scheme_is_a_config_error_at_its_line(self):
        line = self.config("foo://10.0.0.5:9000")
        r = self.w.cli("check")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, re.escape(self.w.config_path) + ":%d:\\d+: " % line +
                         re.escape("worker relay: upstream 'foo://10.0.0.5:9000': "
                                   "unknown protocol 'foo'"))

    def test_unresolvable_host_is_refused_by_check_and_start(self):
        line = self.config("text://%s:9000" % NOWHERE)
        expected = (re.escape(self.w.config_path) + ":%d: " % line +
                    re.escape("worker relay: upstream host '%s' cannot be resolved: " % NOWHERE))
        r = self.w.cli("check")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, expected)
        # `start` refuses it before anything is forked.
        r = self.w.cli("start", "-d")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, expected)
        self.assertIsNone(self.w.read_pid())

    def test_resolvable_upstream_passes(self):
        self.config("text://127.0.0.1:9")
        r = self.w.cli("check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("worker relay:", r.stdout)
        self.assertIn("app=forward upstream=text://127.0.0.1:9", r.stdout)

    def test_reload_with_unresolvable_upstream_keeps_the_old_workers(self):
        self.config()
        self.w.start_daemon()
        line = self.config("ws://%s/feed" % NOWHERE)
        r = self.w.cli("reload")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stderr, ":%d: worker relay: upstream host '%s'" % (line, re.escape(NOWHERE)))
        self.assertIn("old workers keep serving", r.stderr)
        last = self.w.status()["last_reload"]
        self.assertFalse(last["ok"], last)
        self.assertIn(NOWHERE, last["message"])
        self.assertEqual([w["name"] for w in self.w.status()["workers"]], ["echo"])
        with LineClient(self.echo_port) as c:
            self.assertEqual(c.ask("still"), "still")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

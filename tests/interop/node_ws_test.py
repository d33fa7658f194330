#!/usr/bin/python3
"""Interop: Node's `ws` client (tests/interop/ws_client.js) against wman's websocket echo
worker, with permessage-deflate negotiated (server and client on), and without it (server
off with the client offering it; server on with the client not offering it).

usage: node_ws_test.py WMAN_BINARY [unittest args]
Needs `node` on PATH and tests/interop/node_modules (scripts/deps runs npm ci).
"""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from interop_support import (DEFAULT_MAX_MESSAGE, WAIT, require_node,  # noqa: E402
                             start_echo_wman, stop_wman)

WMAN = sys.argv[1] if len(sys.argv) > 1 else "build/bin/wman"
CLIENT = os.path.join(HERE, "ws_client.js")
SMALL = 256 * 1024  # max_message_size of the worker the short run uses


class NodeWsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = require_node()
        workers = [
            {"name": "plain"},
            {"name": "deflate", "websocket": {"permessage_deflate": "true"}},
            {"name": "deflate-small", "websocket": {"permessage_deflate": "true",
                                                    "max_message_size": str(SMALL)}},
        ]
        cls.wman = start_echo_wman(WMAN, workers)
        cls.port = {w["name"]: w["port"] for w in workers}

    @classmethod
    def tearDownClass(cls):
        stop_wman(cls.wman)

    def run_client(self, worker, client_deflate, expect_negotiated, max_size):
        url = "ws://127.0.0.1:%d/" % self.port[worker]
        env = dict(os.environ, WS_STEP_TIMEOUT_MS=str(int(WAIT * 1000)))
        try:
            r = subprocess.run(
                [self.node, CLIENT, url, "on" if client_deflate else "off",
                 "yes" if expect_negotiated else "no", str(max_size)],
                capture_output=True, text=True, timeout=6 * WAIT, env=env)
        except subprocess.TimeoutExpired as e:  # run() killed node already
            self.fail("ws_client.js timed out; output so far:\n%s" % (e.stdout or ""))
        lines = r.stdout.splitlines()
        failed = [ln for ln in lines if ln.startswith("not ok")]
        passed = [ln for ln in lines if ln.startswith("ok ")]
        report = "%s\n%s%s" % (r.stdout, r.stderr, self.wman.log_tail(15))
        self.assertEqual(failed, [], report)
        self.assertEqual(r.returncode, 0, report)
        self.assertGreater(len(passed), 10, report)
        return lines

    def test_permessage_deflate_negotiated(self):
        self.run_client("deflate", True, True, DEFAULT_MAX_MESSAGE)

    def test_server_deflate_off_client_offers(self):
        self.run_client("plain", True, False, DEFAULT_MAX_MESSAGE)

    def test_server_deflate_on_client_off(self):
        # The short matrix, with a small max_message_size so 1009 is cheap to reach.
        self.run_client("deflate-small", False, False, SMALL)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[2:])

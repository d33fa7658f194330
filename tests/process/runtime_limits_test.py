#!/usr/bin/python3
"""Worker runtime bounds in the real wman binary: a plain reload finishes connections caught
in their handshake instead of dropping them.

usage: runtime_limits_test.py WMAN_BINARY
"""
import os
import socket
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wman_harness import WAIT, Wman, free_port  # noqa: E402

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"

UPGRADE = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")


def read_all(sock, timeout=WAIT):
    """Everything the server sends until it closes (EOF or reset)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return data


class RuntimeLimits(unittest.TestCase):
    def setUp(self):
        self.w = Wman(WMAN, "echo")
        self.port = free_port()

    def tearDown(self):
        self.w.cleanup()

    def write_ws_config(self, count=1):
        self.w.write_config([], raw="\n".join([
            "[daemon]", 'run_dir = "%s"' % self.w.dir, 'stop_timeout = "2s"',
            'log_level = "info"', "", "[[worker]]", 'name = "ws"',
            'listen = "websocket://127.0.0.1:%d"' % self.port, "count = %d" % count,
            'app = "echo"', "[worker.limits]", 'handshake_timeout = "10s"', ""]))

    def test_plain_reload_finishes_connections_in_their_handshake(self):
        self.write_ws_config()
        self.w.start_daemon()
        socks = [socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
                 for _ in range(20)]
        # Every connection is accepted by the old worker before the reload.
        self.w.wait_settled(1)
        r = self.w.cli("reload")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + self.w.log_tail())
        for s in socks:
            s.sendall(UPGRADE)
        for i, s in enumerate(socks):
            data = read_all(s)
            s.close()
            self.assertTrue(data.startswith(b"HTTP/1.1 101"),
                            "connection %d got %r%s" % (i, data[:80], self.w.log_tail()))
            head, _, rest = data.partition(b"\r\n\r\n")
            # Then a Close frame with 1001 "server going away".
            self.assertGreaterEqual(len(rest), 4, "connection %d: no Close frame" % i)
            self.assertEqual(rest[0], 0x88)
            self.assertEqual(struct.unpack("!H", rest[2:4])[0], 1001)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])

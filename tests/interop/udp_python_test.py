#!/usr/bin/python3
"""Interop: Python's socket module (Debian's /usr/bin/python3) as a UDP client of wman's echo
workers: raw datagrams over IPv4 and IPv6, and text:// framing chosen with `protocol`
(each line of a datagram is a message, answered as a datagram of its own).

usage: udp_python_test.py WMAN_BINARY
"""
import os
import socket
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "process"))
from wman_harness import WAIT, Wman  # noqa: E402

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"


def free_udp_port(host="127.0.0.1", family=socket.AF_INET):
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def has_ipv6():
    try:
        free_udp_port("::1", socket.AF_INET6)
        return True
    except OSError:
        return False


class UdpPythonInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = Wman(WMAN, app=None)
        cls.raw_port = free_udp_port()
        cls.text_port = free_udp_port()
        cls.v6_port = free_udp_port("::1", socket.AF_INET6) if has_ipv6() else None
        lines = ["[daemon]", 'run_dir = "%s"' % cls.w.dir, 'stop_timeout = "2s"', "",
                 "[[worker]]", 'name = "raw"', 'listen = "udp://127.0.0.1:%d"' % cls.raw_port,
                 'app = "echo"', "",
                 "[[worker]]", 'name = "lines"', 'listen = "udp://127.0.0.1:%d"' % cls.text_port,
                 'app = "echo"', 'protocol = "text"']
        if cls.v6_port:
            lines += ["", "[[worker]]", 'name = "six"', 'listen = "udp://[::1]:%d"' % cls.v6_port,
                      'app = "echo"']
        cls.w.write_config(None, raw="\n".join(lines) + "\n")
        try:
            cls.w.start_daemon()
        except Exception:
            cls.w.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        r = cls.w.cli("stop")
        cls.w.cleanup()
        assert r.returncode == 0, r.stdout + r.stderr

    def client(self, family=socket.AF_INET):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.settimeout(WAIT)
        self.addCleanup(s.close)
        return s

    def test_raw_echo_ipv4(self):
        s = self.client()
        for payload in (b"hello", bytes(range(256)), b"x" * 60000):
            s.sendto(payload, ("127.0.0.1", self.raw_port))
            data, peer = s.recvfrom(65536)
            self.assertEqual(data, payload)
            self.assertEqual(peer, ("127.0.0.1", self.raw_port))

    def test_raw_echo_ipv6(self):
        if not self.v6_port:
            self.skipTest("no IPv6 loopback")
        s = self.client(socket.AF_INET6)
        s.sendto(b"over six", ("::1", self.v6_port))
        data, peer = s.recvfrom(65536)
        self.assertEqual(data, b"over six")
        self.assertEqual(peer[:2], ("::1", self.v6_port))

    def test_text_lines_in_one_datagram(self):
        s = self.client()
        s.sendto(b"first\nsecond\r\n", ("127.0.0.1", self.text_port))
        self.assertEqual(s.recv(65536), b"first\n")
        self.assertEqual(s.recv(65536), b"second\n")
        # A datagram whose line never ends is lost (and counted); the next one is served.
        s.sendto(b"unterminated", ("127.0.0.1", self.text_port))
        s.sendto(b"third\n", ("127.0.0.1", self.text_port))
        self.assertEqual(s.recv(65536), b"third\n")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

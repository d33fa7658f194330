#!/usr/bin/python3
"""Worker runtime bounds in the real wman binary: a plain reload finishes connections caught
in their handshake instead of dropping them; per-peer failures are logged with the peer's
address at a bounded rate; a worker out of fds says so and, with reuse_port, lets its
neighbours take the new connections; a worker over its memory budget sheds its largest
holders; memory freed by closed connections goes back to the OS.

usage: runtime_limits_test.py WMAN_BINARY
"""
import os
import re
import socket
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wman_harness import WAIT, LineClient, Wman, free_port, wait_until  # noqa: E402

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
        # What these tests measure is memory going back: ASan's quarantine would keep every
        # freed block resident (up to 256 MiB) in a sanitizer build.
        if "ASAN_OPTIONS" in os.environ:
            self.w.env["ASAN_OPTIONS"] += ":quarantine_size_mb=0"
        self.port = free_port()

    def tearDown(self):
        self.w.cleanup()

    def write_ws_config(self, count=1):
        self.w.write_config([], raw="\n".join([
            "[daemon]", 'run_dir = "%s"' % self.w.dir, 'stop_timeout = "2s"',
            'log_level = "info"', "", "[[worker]]", 'name = "ws"',
            'listen = "websocket://127.0.0.1:%d"' % self.port, "count = %d" % count,
            'app = "echo"', "[worker.limits]", 'handshake_timeout = "10s"', ""]))

    def write_text_config(self, daemon=(), worker=(), limits=()):
        """An echo worker on text:// with extra [daemon], [[worker]] and limits lines."""
        self.w.write_config([], raw="\n".join([
            "[daemon]", 'run_dir = "%s"' % self.w.dir, 'stop_timeout = "2s"',
            'log_level = "info"', *daemon, "", "[[worker]]", 'name = "t"',
            'listen = "text://127.0.0.1:%d"' % self.port, 'app = "echo"', *worker,
            "[worker.limits]", *limits, ""]))

    def row(self, slot=0):
        return [r for r in self.w.status()["workers"] if r["slot"] == slot][0]

    def pin_output(self, n, each):
        """`n` clients that each make the echo worker queue `each` bytes for them, then stop
        reading; returned open."""
        line = b"x" * 65535 + b"\n"
        clients = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            clients.append(s)
            try:
                for _ in range(each // len(line)):
                    s.sendall(line)
            except ConnectionError:
                pass  # shed already: the budget is doing its work
        return clients

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

    def test_bad_peers_are_logged_with_their_address_at_a_bounded_rate(self):
        self.write_ws_config()
        self.w.start_daemon()
        n = 2000
        for _ in range(n // 100):
            batch = [socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
                     for _ in range(100)]
            for s in batch:
                s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            for s in batch:
                self.assertTrue(read_all(s).startswith(b"HTTP/1.1 400"))
                s.close()
        row = wait_until(lambda: (lambda r: r if r.get("protocol_errors", 0) >= n
                                  and r.get("log_suppressed", 0) > 0 else None)(self.row()),
                         what="protocol_errors and log_suppressed in status")
        # Every summary is written once its window has ended.
        def accounted():
            text = self.w.log_text()
            logged = [l for l in text.splitlines() if "protocol error" in l
                      and "suppressed" not in l]
            summed = sum(int(m) for m in re.findall(
                r"suppressed (\d+) similar lines \(protocol error\)", text))
            return (logged, summed) if len(logged) + summed == n else None
        logged, summed = wait_until(accounted, what="every error logged or summarised")
        self.assertLess(len(logged), n // 4, "the log is not rate-limited")
        for l in logged:
            self.assertRegex(l, r"conn=\d+ from 127\.0\.0\.1:\d+: protocol error 400")
        self.assertEqual(summed, self.row()["log_suppressed"])
        self.assertEqual(row["pid"], self.row()["pid"])

    def test_a_worker_out_of_fds_says_so_and_its_neighbour_takes_the_new_connections(self):
        self.write_text_config(daemon=["rlimit_nofile = 48"],
                               worker=["count = 2", "reuse_port = true"])
        self.w.start_daemon()
        pids = sorted(r["pid"] for r in self.w.status()["workers"])
        # Fill slot pids[0] only: connections the kernel gives the other worker are closed,
        # so it keeps room, until the full worker reports a failed accept.
        held = {}

        def failed_accepts():
            return [r for r in self.w.status()["workers"] if r.get("accept_failures", 0) > 0]
        for _ in range(100):
            for i in range(5):
                c = LineClient(self.port, timeout=5.0)
                try:
                    self.assertEqual(c.ask("hi"), "hi")
                    held[c.sock.getsockname()[1]] = c
                except (ConnectionError, EOFError, socket.timeout):
                    c.close()  # caught by the failing accept: reset, never left hanging
            for row in self.w.connections():
                port = int(row["remote"].rsplit(":", 1)[1])
                if row["pid"] != pids[0] and port in held:
                    held.pop(port).close()
            if failed_accepts():
                break
        else:
            self.fail("500 connections and no worker ran out of fds")
        full = wait_until(lambda: [r for r in self.w.status()["workers"]
                                   if r.get("accept_failures", 0) > 0], what="accept_failures")
        self.assertEqual([r["pid"] for r in full], [pids[0]])
        self.assertFalse(full[0]["accepting"])
        self.assertGreater(full[0]["memory_kb"], 0)
        self.assertRegex(self.w.log_text(), r"worker t: accept on .* failed: too many open files "
                         r"\(\d+ connections open\); pausing accepts")
        # It stays out of the group while it has no free fd: every new connection goes to
        # the other slot, none hangs in a queue nobody accepts from.
        for i in range(10):
            with LineClient(self.port, timeout=5.0) as c:
                self.assertEqual(c.ask("new %d" % i), "new %d" % i)
        self.assertFalse(self.row(full[0]["slot"])["accepting"])
        # A closed connection frees an fd: the full worker takes connections again.
        for c in held.values():
            c.close()
        held = {}
        wait_until(lambda: self.row(full[0]["slot"])["accepting"], what="accepting again")

    def test_a_worker_over_its_memory_budget_sheds_the_largest_holders(self):
        # The budget sits 64 MiB above what an idle worker of this binary holds (a sanitizer
        # build's idle worker is ten times larger): measured first, then applied by reload.
        self.write_text_config(worker=["count = 1"], limits=["max_memory = 0"])
        self.w.start_daemon()
        baseline = wait_until(lambda: self.row().get("memory_kb"), what="memory_kb")
        budget_kib = baseline + 64 * 1024
        self.write_text_config(worker=["count = 1"], limits=[
            'max_memory = "%dKiB"' % budget_kib, 'max_send_buffer = "32MiB"'])
        r = self.w.cli("reload")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + self.w.log_tail())
        self.w.wait_settled(1)
        pid = self.row()["pid"]
        hogs = self.pin_output(6, 24 << 20)
        row = wait_until(lambda: (lambda r: r if r.get("shed", 0) > 0 and r["accepting"]
                                  and r["memory_kb"] < budget_kib else None)(self.row()),
                         what="shedding, then accepting again under the budget")
        self.assertEqual(row["pid"], pid)
        self.assertRegex(self.w.log_text(), r"from 127\.0\.0\.1:\d+: holds \d+ KiB of buffers; "
                         r"closed by the memory budget")
        with LineClient(self.port) as c:
            self.assertEqual(c.ask("still here"), "still here")
        for s in hogs:
            s.close()

    def test_memory_freed_by_closed_connections_goes_back_to_the_os(self):
        self.write_text_config(worker=["count = 1"],
                               limits=["max_memory = 0", 'max_send_buffer = "32MiB"'])
        self.w.start_daemon()
        baseline = wait_until(lambda: self.row().get("memory_kb"), what="memory_kb")
        hogs = self.pin_output(6, 24 << 20)
        wait_until(lambda: self.row()["memory_kb"] > baseline + 64 * 1024,
                   what="the worker holding the clients' output")
        for s in hogs:
            s.close()
        wait_until(lambda: self.row()["connections"] == 0, what="the clients gone")
        wait_until(lambda: self.row()["memory_kb"] < baseline + 16 * 1024,
                   what="resident memory back near %d KiB" % baseline)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])

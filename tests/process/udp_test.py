#!/usr/bin/python3
"""udp:// workers under the real master: `wman check` accepting and refusing udp:// configs,
echo through count = 2 with reuse_port (both slots serve traffic), and a burst of 100,000
datagrams whose every datagram is accounted for: echoed to the client, or counted as lost by
the server (wman status --json: udp_dropped), by the client's sockets (their kernel drop
counters), or by the loopback backlog (/proc/net/softnet_stat). No timing is asserted.

usage: udp_test.py WMAN_BINARY
"""
import http.client
import os
import select
import socket
import struct
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wman_harness import WAIT, Wman, wait_until  # noqa: E402

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"
SO_MEMINFO = 55        # <asm-generic/socket.h>
SK_MEMINFO_DROPS = 8   # <linux/sock_diag.h>
BURST = 100_000
CLIENTS = 8            # source ports, so the kernel spreads the burst over both slots


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kernel_drops(sock):
    """Datagrams the kernel dropped on `sock` because its receive queue was full."""
    info = sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 4 * 9)
    return struct.unpack("9I", info)[SK_MEMINFO_DROPS]


def softnet_drops():
    total = 0
    with open("/proc/net/softnet_stat") as f:
        for line in f:
            total += int(line.split()[1], 16)
    return total


def udp_rows(doc, name="udp"):
    return [w for w in doc["workers"] if w["name"] == name and "udp_in" in w]


def totals(doc):
    rows = udp_rows(doc)
    return {k: sum(w[k] for w in rows) for k in ("udp_in", "udp_out", "udp_dropped")}


class Receiver(threading.Thread):
    """Drains the client sockets until stopped, counting the datagrams that came back."""

    def __init__(self, socks):
        super().__init__(daemon=True)
        self.socks = socks
        self.count = 0
        self.done = False

    def run(self):
        while not self.done:
            ready, _, _ = select.select(self.socks, [], [], 0.1)
            for s in ready:
                while True:
                    try:
                        s.recv(65536)
                    except BlockingIOError:
                        break
                    self.count += 1


class UdpProcessTest(unittest.TestCase):
    def setUp(self):
        self.w = Wman(WMAN, app=None)
        self.port = free_udp_port()

    def tearDown(self):
        self.w.cleanup()

    def config(self, worker_lines):
        return "\n".join([
            "[daemon]",
            'run_dir = "%s"' % self.w.dir,
            'metrics = "127.0.0.1:0"',
            'stop_timeout = "2s"',
            'log_level = "info"',
            "",
            "[[worker]]",
            'name = "udp"',
            'listen = "udp://127.0.0.1:%d"' % self.port,
        ] + worker_lines) + "\n"

    def test_check_accepts_and_refuses(self):
        self.w.write_config(None, raw=self.config(
            ["count = 2", "reuse_port = true", 'app = "echo"', 'protocol = "text"']))
        r = self.w.cli("check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        text = self.config(
            ['app = "echo"', 'transport = "tls"', "[worker.limits]", "idle_timeout = \"5s\""])
        self.w.write_config(None, raw=text)
        r = self.w.cli("check")
        self.assertNotEqual(r.returncode, 0)
        out = r.stdout + r.stderr
        lines = text.splitlines()
        tls_line = lines.index('transport = "tls"') + 1
        idle_line = lines.index('idle_timeout = "5s"') + 1
        self.assertIn("wman.toml:%d:13: udp:// cannot use TLS (DTLS is not supported)" % tls_line,
                      out)
        self.assertIn("wman.toml:%d:16: idle_timeout does not apply to udp://" % idle_line, out)

    def test_echo_on_both_slots_then_a_burst(self):
        self.w.write_config(None, raw=self.config(
            ["count = 2", "reuse_port = true", 'app = "echo"']))
        self.w.start_daemon()
        self.w.wait_settled(2, name="udp")
        socks = []
        for _ in range(32):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.settimeout(WAIT)
            socks.append(s)
        try:
            self.echo_through_both_slots(socks)
            self.burst(socks[:CLIENTS])
        finally:
            for s in socks:
                s.close()

    def echo_through_both_slots(self, socks):
        for i, s in enumerate(socks):
            s.sendto(b"hello %d" % i, ("127.0.0.1", self.port))
            data, peer = s.recvfrom(65536)
            self.assertEqual(data, b"hello %d" % i)
            self.assertEqual(peer, ("127.0.0.1", self.port))
        # Each slot has its own SO_REUSEPORT socket; 32 source ports reach both of them.
        doc = wait_until(lambda: (lambda d: d if sum(w["udp_in"] for w in udp_rows(d)) >= 32
                                  else None)(self.w.status()), what="heartbeats with 32 in")
        rows = udp_rows(doc)
        self.assertEqual(sorted(w["slot"] for w in rows), [0, 1])
        for w in rows:
            self.assertGreater(w["udp_in"], 0, "slot %d served nothing: %s" % (w["slot"], rows))
            self.assertEqual(w["udp_in"], w["udp_out"])
        self.assertEqual(sum(w["udp_dropped"] for w in rows), 0)
        text = self.w.cli("status").stdout
        self.assertRegex(text, r"worker udp slot 0 \(pid \d+\): datagrams in \d+, out \d+, "
                               r"dropped \d+")

    def burst(self, socks):
        before = totals(self.w.status())
        client_drops_before = sum(kernel_drops(s) for s in socks)
        softnet_before = softnet_drops()
        for s in socks:
            s.setblocking(False)  # the receiver drains without waiting
        receiver = Receiver(socks)
        receiver.start()
        payload = b"x" * 32
        sent = 0
        for i in range(BURST):
            s = socks[i % len(socks)]
            while True:
                try:
                    s.sendto(payload, ("127.0.0.1", self.port))
                    break
                except BlockingIOError:
                    select.select([], [s], [], WAIT)
            sent += 1

        def accounted():
            now = totals(self.w.status())
            server_lost = now["udp_dropped"] - before["udp_dropped"]
            client_lost = sum(kernel_drops(s) for s in socks) - client_drops_before
            elsewhere = softnet_drops() - softnet_before
            echoed = receiver.count
            total = echoed + server_lost + client_lost
            # Complete once every datagram is echoed or counted lost (the softnet backlog's
            # losses, if any, are nobody's socket counter), and the last heartbeat includes
            # every echo the client received.
            if total + elsewhere < sent or now["udp_out"] - before["udp_out"] < echoed:
                return None
            return dict(now=now, server_lost=server_lost, client_lost=client_lost,
                        elsewhere=elsewhere, echoed=echoed, total=total)

        # Heartbeats come once a second; this waits for the counters, not for a time.
        result = wait_until(accounted, timeout=4 * WAIT, what="every datagram accounted for")
        receiver.done = True
        receiver.join()
        now = result["now"]
        server_in = now["udp_in"] - before["udp_in"]
        server_out = now["udp_out"] - before["udp_out"]
        print("burst: sent %d, echoed %d, lost %d (server %d, client sockets %d, loopback "
              "backlog %d); server in %d, out %d"
              % (sent, result["echoed"], sent - result["echoed"], result["server_lost"],
                 result["client_lost"], result["elsewhere"], server_in, server_out),
              file=sys.stderr)
        self.assertLessEqual(result["total"], sent)
        self.assertGreaterEqual(result["total"] + result["elsewhere"], sent)
        self.assertLessEqual(server_in, sent)
        self.assertLessEqual(result["echoed"], server_out)
        self.assertGreater(result["echoed"], 0)
        # The counters are in `wman status --json` per worker process...
        doc = self.w.status()
        for w in udp_rows(doc):
            for key in ("udp_in", "udp_out", "udp_dropped"):
                self.assertIsInstance(w[key], int)
        # ...and in /metrics, summed over the workers, as of the same heartbeats.
        self.assertMetricsCounters(doc)

    def assertMetricsCounters(self, doc):
        port = int(doc["metrics"].rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        try:
            conn.request("GET", "/metrics")
            body = conn.getresponse().read().decode()
        finally:
            conn.close()
        names = {"wman_udp_datagrams_received_total": "udp_in",
                 "wman_udp_datagrams_sent_total": "udp_out",
                 "wman_udp_datagrams_dropped_total": "udp_dropped"}
        got = {key: 0.0 for key in names.values()}
        for line in body.splitlines():
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name in names:
                got[names[name]] += float(line.rsplit(" ", 1)[1])
        self.assertGreater(got["udp_in"], 0, body)
        # The scrape may hold a newer heartbeat than `doc`: never fewer.
        for key, value in got.items():
            self.assertGreaterEqual(value, sum(w[key] for w in udp_rows(doc)), key)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

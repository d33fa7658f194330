#!/usr/bin/python3
"""The bus across machines, through the real daemon: two and three wman nodes (each its own
run_dir, port and [bus] node name, 2 text workers running the bus test app,
tests/process/bus_app.cpp) linked by one redis-server the test starts on a free port.

Covers: group, uid, client and all sends crossing nodes; queries that count every node; a
group held by one node only never reaches another node's bus (nor its Redis subscriptions);
a PUBLISH by any Redis client reaching members on every node; and redis-server killed with
SIGKILL while messages flow and restarted on the same port: no wman process dies, local
delivery goes on during the outage, remote delivery comes back within 2 s with 10,000 groups
to subscribe again, and the drop counter of the sending node equals the remote sends made
during the outage minus those that arrived.

usage: bus_cluster_test.py WMAN_BINARY BUS_APP_SO
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wman_harness import (WAIT, LineClient, Wman, free_port, pid_alive,  # noqa: E402
                          wait_until)

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"
APP = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "build/lib/libwman_bus_app.so"
WORKERS = 2          # per node
GROUPS = 10000       # held by one node in the fault test
RESUME_LIMIT = 2.0   # seconds from Redis answering again to the first remote delivery


# ---- Redis ------------------------------------------------------------------------------

class Resp:
    """A minimal blocking RESP client: commands in, parsed replies out (bulk strings as
    bytes, errors raised)."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def command(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("redis closed the connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError("redis error: " + rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("unexpected RESP reply %r" % line)


def redis_call(port, *args):
    """One command on a fresh connection (None while nothing answers on `port`)."""
    try:
        c = Resp(port, timeout=2.0)
    except OSError:
        return None
    try:
        return c.command(*args)
    except (OSError, EOFError):
        return None
    finally:
        c.close()


class RedisServer:
    """redis-server on 127.0.0.1:`port` without persistence, in a temp dir; stopped by pid."""

    def __init__(self):
        self.binary = shutil.which("redis-server")
        if not self.binary:
            raise unittest.SkipTest("redis-server is not installed (scripts/deps installs it)")
        self.dir = tempfile.mkdtemp(prefix="wman-redis-")
        self.port = free_port()
        self.proc = None

    def start(self):
        log = open(os.path.join(self.dir, "redis.log"), "a")
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        wait_until(lambda: self.proc.poll() is not None or
                   redis_call(self.port, "PING") == "PONG",
                   what="redis-server to answer PING")
        if self.proc.poll() is not None:
            raise AssertionError("redis-server exited: " + self.log())

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def log(self):
        try:
            with open(os.path.join(self.dir, "redis.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def numsub(self, channel):
        r = redis_call(self.port, "PUBSUB", "NUMSUB", channel)
        return int(r[1]) if r else None

    def publish(self, channel, payload):
        return redis_call(self.port, "PUBLISH", channel, payload)

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- wman nodes -------------------------------------------------------------------------

class Node:
    """One wman (one machine of the cluster): node `name`, its own run_dir and text port."""

    def __init__(self, name, redis_port):
        self.name = name
        self.w = Wman(WMAN, APP)
        self.port = free_port()
        self.clients = []
        self.w.write_config(None, raw="\n".join([
            "[daemon]",
            'run_dir = "%s"' % self.w.dir,
            'stop_timeout = "2s"',
            'drain_timeout = "5s"',
            'log_level = "info"',
            "[bus]",
            'node = "%s"' % name,
            'redis = "redis://127.0.0.1:%d"' % redis_port,
            "[[worker]]",
            'name = "bus-app"',
            'listen = "text://127.0.0.1:%d"' % self.port,
            "count = %d" % WORKERS,
            'app = "%s"' % APP,
            ""]))

    def start(self):
        self.w.start_daemon()
        wait_until(lambda: self.stats().get("links") == WORKERS and
                   self.stats().get("redis") == "up",
                   what="node %s: every worker linked and redis up" % self.name)

    def bus(self):
        return self.w.status().get("bus", {})

    def stats(self):
        return self.bus().get("stats", {})

    def pids(self):
        doc = self.w.status()
        return [doc["pid"], doc["bus"]["pid"]] + [x["pid"] for x in doc["workers"]]

    def client(self):
        c = LineClient(self.port)
        self.clients.append(c)
        return c

    def cleanup(self):
        for c in self.clients:
            c.close()
        try:
            self.w.cli("stop", timeout=20)
        except Exception:
            pass
        return self.w.cleanup()


def read_until(client, wanted, limit=100000):
    """Lines read up to and including `wanted` (the lines before it are returned)."""
    seen = []
    for _ in range(limit):
        line = client.read_line()
        if line == wanted:
            return seen
        seen.append(line)
    raise AssertionError("%r not seen in %d lines" % (wanted, limit))


class ClusterBase(unittest.TestCase):
    def setUp(self):
        self.nodes = []
        self.redis = RedisServer()
        self.addCleanup(self.redis.cleanup)
        self.redis.start()

    def tearDown(self):
        reports = [n.cleanup() for n in self.nodes]
        if any(reports):
            self.fail("sanitizer reports:\n" + "\n".join(r for r in reports if r)[:20000])

    def start_nodes(self, *names):
        for name in names:
            node = Node(name, self.redis.port)
            self.nodes.append(node)
            node.start()
        return self.nodes

    def wait_subscribers(self, channel, n):
        wait_until(lambda: self.redis.numsub(channel) == n,
                   what="%d subscriber(s) of %s" % (n, channel))

    def fresh_stats(self, node, client):
        """`node`'s bus stats taken after everything sent so far: `client` (of that node)
        sends to a group nobody holds, and the first stats that count it are returned."""
        routed = node.stats()["routed"]
        client.send_line("group nobody-here marker")
        return wait_until(lambda: (lambda s: s if s["routed"] > routed else None)(node.stats()),
                          what="node %s's stats to count a marker" % node.name)

    def join(self, clients, group):
        for c in clients:
            self.assertEqual(c.ask("join " + group), "ok")


class ClusterTest(ClusterBase):
    def test_two_nodes_send_query_and_keep_groups_to_themselves(self):
        a, b = self.start_nodes("alpha", "beta")
        a0, a1, b0, b1 = a.client(), a.client(), b.client(), b.client()
        everyone = [a0, a1, b0, b1]
        self.assertTrue(a0.ask("cid").startswith("alpha:"))
        self.assertTrue(b0.ask("cid").startswith("beta:"))
        self.join(everyone, "g")
        self.assertEqual(a1.ask("bind ann"), "ok")
        self.assertEqual(b1.ask("bind bob"), "ok")
        self.wait_subscribers("wman:group:g", 2)
        self.wait_subscribers("wman:uid:ann", 1)
        self.wait_subscribers("wman:uid:bob", 1)

        a0.send_line("group g hello")
        for c in everyone:
            self.assertEqual(c.read_line(), "hello")
        b0.send_line("groupx g not-you")
        for c in (a0, a1, b1):
            self.assertEqual(c.read_line(), "not-you")
        b0.send_line("uid ann for-ann")
        self.assertEqual(a1.read_line(), "for-ann")
        a0.send_line("uid bob for-bob")
        self.assertEqual(b1.read_line(), "for-bob")
        a0.send_line("client %s direct-b" % b0.ask("cid"))
        self.assertEqual(b0.read_line(), "direct-b")
        b1.send_line("client %s direct-a" % a1.ask("cid"))
        self.assertEqual(a1.read_line(), "direct-a")
        b1.send_line("all everyone")
        for c in everyone:
            self.assertEqual(c.read_line(), "everyone")

        # Queries: every local worker plus the other node.
        reach = "%d/%d" % (WORKERS + 1, WORKERS + 1)
        self.assertEqual(a0.ask("count g"), "count 4 " + reach)
        self.assertEqual(b0.ask("total"), "total 4 " + reach)
        self.assertEqual(b0.ask("online ann"), "online 1 " + reach)
        self.assertEqual(a0.ask("online bob"), "online 1 " + reach)
        self.assertEqual(a0.ask("online carol"), "online 0 " + reach)
        uids, got_reach = a0.ask("uids g").split()[1:]
        self.assertEqual(sorted(uids.split(",")), ["ann", "bob"])
        self.assertEqual(got_reach, reach)

        # A group only alpha holds: beta never subscribes, and its bus delivers nothing.
        self.assertEqual(a0.ask("join only-a"), "ok")
        self.wait_subscribers("wman:group:only-a", 1)
        before = self.fresh_stats(b, b0)
        for i in range(50):
            a1.send_line("group only-a m%d" % i)
        for i in range(50):
            self.assertEqual(a0.read_line(), "m%d" % i)
        self.assertEqual(self.redis.numsub("wman:group:only-a"), 1)
        after = self.fresh_stats(b, b0)
        self.assertEqual(after["routed"], before["routed"] + 1)
        self.assertEqual(after["delivered"], before["delivered"])
        self.assertEqual(after["redis_received"], before["redis_received"])

        # Any Redis client reaches the members on every node: a bare payload and JSON.
        self.assertEqual(self.redis.publish("wman:group:g", "from-redis"), 2)
        self.assertEqual(self.redis.publish("wman:group:g", '{"data":"from-json"}'), 2)
        for c in everyone:
            self.assertEqual(c.read_line(), "from-redis")
            self.assertEqual(c.read_line(), "from-json")
        self.assertEqual(self.redis.publish("wman:uid:bob", "bob-only"), 1)
        self.assertEqual(b1.read_line(), "bob-only")

    def test_three_nodes_send_and_query_across_all(self):
        nodes = self.start_nodes("n1", "n2", "n3")
        cs = [n.client() for n in nodes]
        self.join(cs, "g")
        self.assertEqual(cs[0].ask("bind u0"), "ok")
        self.wait_subscribers("wman:group:g", 3)
        self.wait_subscribers("wman:uid:u0", 1)
        names = [c.ask("cid").split(":")[0] for c in cs]
        self.assertEqual(names, ["n1", "n2", "n3"])
        for sender, name in zip(cs, names):
            sender.send_line("group g from-" + name)
        for c in cs:
            self.assertEqual(sorted(c.read_line() for _ in cs),
                             ["from-n1", "from-n2", "from-n3"])
        cs[2].send_line("uid u0 to-u0")
        self.assertEqual(cs[0].read_line(), "to-u0")
        cs[0].send_line("client %s to-n3" % cs[2].ask("cid"))
        self.assertEqual(cs[2].read_line(), "to-n3")
        cs[1].send_line("all all-3")
        for c in cs:
            self.assertEqual(c.read_line(), "all-3")
        reach = "%d/%d" % (WORKERS + 2, WORKERS + 2)
        for c in cs:
            self.assertEqual(c.ask("count g"), "count 3 " + reach)
            self.assertEqual(c.ask("total"), "total 3 " + reach)
        self.assertEqual(cs[1].ask("online u0"), "online 1 " + reach)
        self.assertEqual(self.redis.publish("wman:group:g", "ext"), 3)
        for c in cs:
            self.assertEqual(c.read_line(), "ext")


class Flow(threading.Thread):
    """Sends "uid U flow-I" lines on `client` every `interval` s until stopped."""

    def __init__(self, client, uid, interval=0.01):
        super().__init__(daemon=True)
        self.client, self.uid, self.interval = client, uid, interval
        self.sent = 0
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                self.client.send_line("uid %s flow-%d" % (self.uid, self.sent))
                self.sent += 1
                self.stop.wait(self.interval)
        except OSError as e:
            self.error = e

    def finish(self):
        self.stop.set()
        self.join(WAIT)
        return self.sent


class RedisFaultTest(ClusterBase):
    def test_redis_killed_and_restarted_while_messages_flow(self):
        self.outage(extra=0.0)

    def test_remote_delivery_resumes_within_2s_after_a_long_outage(self):
        self.outage(extra=5.0)

    def outage(self, extra):
        """redis-server killed while alpha's messages flow, kept down `extra` s longer than
        the test needs, and restarted on the same port."""
        a, b = self.start_nodes("alpha", "beta")
        # beta holds GROUPS groups (and uid u) on one connection, so its subscriber has
        # GROUPS + 4 channels to subscribe again when Redis comes back.
        bl = b.client()
        bl.sock.sendall("".join("join g%d\n" % i for i in range(GROUPS)).encode())
        for _ in range(GROUPS):
            self.assertEqual(bl.read_line(), "ok")
        self.assertEqual(bl.ask("bind u"), "ok")
        bs = b.client()                       # beta's sender during the outage
        al, af, ag = a.client(), a.client(), a.client()
        self.assertEqual(al.ask("bind u"), "ok")   # alpha's local receiver of the flow
        self.assertEqual(ag.ask("join g1"), "ok")  # alpha's member of beta's outage sends
        self.wait_subscribers("wman:group:g%d" % (GROUPS - 1), 1)
        self.wait_subscribers("wman:uid:u", 2)
        self.wait_subscribers("wman:group:g1", 2)
        wait_until(lambda: b.stats().get("redis_channels", 0) >= GROUPS + 4,
                   what="beta's %d channels" % (GROUPS + 4))
        pids = a.pids() + b.pids()
        bus_pids = [n.bus()["pid"] for n in (a, b)]
        dropped_before = b.stats()["redis_dropped"]

        # alpha -> uid u (al locally, bl through Redis) every 10 ms from here on.
        flow = Flow(af, "u")
        flow.start()
        self.addCleanup(flow.finish)
        wait_until(lambda: bl.read_line().startswith("flow-"), what="the flow to reach beta")
        self.redis.kill()
        killed = time.monotonic()
        # Wait until beta's bus knows: sends from here on are refused, not lost in flight.
        wait_until(lambda: b.stats().get("redis") == "down", what="beta to see redis down")
        outage = 100
        for i in range(outage):
            bs.send_line("group g1 out-%d" % i)
        # Local delivery on beta goes on: bl gets every out-I (flow lines may be interleaved).
        outs = [x for x in read_until(bl, "out-%d" % (outage - 1)) if x.startswith("out-")]
        self.assertEqual(outs, ["out-%d" % i for i in range(outage - 1)])
        last_flow_seen = flow.sent

        time.sleep(extra)  # the outage's length is what is tested here, not a wait
        self.redis.start()
        t0 = time.monotonic()
        # Remote delivery back: the first flow line sent after the outage reaches beta.
        while True:
            line = bl.read_line()
            if line.startswith("flow-") and int(line[5:]) >= last_flow_seen:
                resumed = time.monotonic() - t0
                break
        sent = flow.finish()
        self.assertIsNone(flow.error)
        print("\nredis down %.3f s; remote delivery resumed %.3f s after it returned "
              "(%d channels on beta)" % (t0 - killed, resumed,
                                        b.stats().get("redis_channels", 0)), file=sys.stderr)
        self.assertLess(resumed, RESUME_LIMIT)

        # Nothing crashed; the bus processes were not respawned.
        self.assertEqual([p for p in pids if not pid_alive(p)], [])
        self.assertEqual([n.bus()["pid"] for n in (a, b)], bus_pids)
        self.assertEqual([n.bus()["restarts"] for n in (a, b)], [0, 0])
        wait_until(lambda: all(n.stats().get("redis") == "up" for n in (a, b)),
                   what="both links up again")
        self.assertGreaterEqual(b.stats()["redis_reconnects"], 1)
        self.assertEqual(self.redis.numsub("wman:group:g%d" % (GROUPS - 1)), 1)
        self.assertEqual(self.redis.numsub("wman:group:g0"), 1)

        # alpha's local delivery never stopped: al got every flow line, in order.
        for i in range(sent):
            self.assertEqual(al.read_line(), "flow-%d" % i)

        # The outage sends: beta's drop counter = sent - arrived at alpha.
        self.wait_subscribers("wman:group:g1", 2)
        bs.send_line("group g1 marker")
        arrived = [x for x in read_until(ag, "marker") if x.startswith("out-")]
        wait_until(lambda: b.stats()["redis_dropped"] - dropped_before == outage - len(arrived),
                   timeout=5, what="beta's redis_dropped to equal %d - %d" % (
                       outage, len(arrived)))


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])

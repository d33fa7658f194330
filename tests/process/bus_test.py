#!/usr/bin/python3
"""The bus on one machine, through the real daemon: count = 4 text workers running the bus
test app (tests/process/bus_app.cpp), clients spread over every worker. Group, uid, client
and all sends cross workers; queries count every worker; a stale client id reaches nobody;
membership goes with a closed connection and with a killed worker; a killed bus process is
respawned and the workers re-announce their interests; `wman send`; reload -g while messages
flow keeps both generations reachable; 100,000 numbered messages arrive in order.

usage: bus_test.py WMAN_BINARY BUS_APP_SO
"""
import asyncio
import os
import signal
import sys
import threading
import unittest

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wman_harness import LineClient, Wman, free_port, wait_until  # noqa: E402

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"
APP = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "build/lib/libwman_bus_app.so"
WORKERS = 4


def bus_config(w, port, count=WORKERS, bus=""):
    return "\n".join([
        "[daemon]",
        'run_dir = "%s"' % w.dir,
        'stop_timeout = "2s"',
        'drain_timeout = "10s"',
        'log_level = "info"',
        bus,
        "[[worker]]",
        'name = "bus-app"',
        'listen = "text://127.0.0.1:%d"' % port,
        "count = %d" % count,
        'app = "%s"' % APP,
        "[worker.limits]",
        'max_send_buffer = "32MiB"',
        ""])


class Spread:
    """Clients connected until every worker pid holds at least one."""

    def __init__(self, port, pids, per_worker=1, limit=200):
        self.clients = []
        self.pid_of = {}
        held = {pid: 0 for pid in pids}
        while min(held.values()) < per_worker:
            if len(self.clients) >= limit:
                raise AssertionError("could not reach every worker: %r" % held)
            c = LineClient(port)
            pid = int(c.ask("pid"))
            if held.get(pid, per_worker) >= per_worker:
                c.close()
                continue
            held[pid] += 1
            self.clients.append(c)
            self.pid_of[c] = pid

    def close(self):
        for c in self.clients:
            c.close()


class BusTest(unittest.TestCase):
    def setUp(self):
        self.w = Wman(WMAN, APP)
        self.port = free_port()
        self.w.write_config(None, raw=bus_config(self.w, self.port))
        self.w.start_daemon()
        self.spread = None

    def tearDown(self):
        if self.spread:
            self.spread.close()
        self.w.cli("stop")
        self.w.cleanup()

    def worker_pids(self):
        return [x["pid"] for x in self.w.status()["workers"] if x.get("pid")]

    def bus(self):
        return self.w.status()["bus"]

    def links_settled(self, n):
        wait_until(lambda: self.bus().get("stats", {}).get("links") == n, what="%d bus links" % n)

    def spread_clients(self, per_worker=1):
        self.links_settled(WORKERS)
        self.spread = Spread(self.port, self.worker_pids(), per_worker)
        return self.spread.clients

    def join_all(self, clients, group="g"):
        for c in clients:
            self.assertEqual(c.ask("join " + group), "ok")

    def test_sends_cross_workers_and_queries_count_them_all(self):
        cs = self.spread_clients()
        self.assertEqual(len(set(self.spread.pid_of.values())), WORKERS)
        self.join_all(cs)
        cs[0].send_line("group g hello")
        for c in cs:
            self.assertEqual(c.read_line(), "hello")
        # exclude: everyone but the sender
        cs[1].send_line("groupx g not-you")
        for c in cs:
            if c is not cs[1]:
                self.assertEqual(c.read_line(), "not-you")
        self.assertTrue(cs[1].ask("pid").isdigit(), "the sender got its own message")
        # a uid bound on two workers
        self.assertEqual(cs[0].ask("bind alice"), "ok")
        self.assertEqual(cs[-1].ask("bind alice"), "ok")
        cs[1].send_line("uid alice for-alice")
        self.assertEqual(cs[0].read_line(), "for-alice")
        self.assertEqual(cs[-1].read_line(), "for-alice")
        # queries ask every worker
        self.assertEqual(cs[2].ask("online alice"), "online 1 %d/%d" % (WORKERS, WORKERS))
        self.assertEqual(cs[2].ask("online bob"), "online 0 %d/%d" % (WORKERS, WORKERS))
        self.assertEqual(cs[2].ask("count g"), "count %d %d/%d" % (len(cs), WORKERS, WORKERS))
        self.assertEqual(cs[2].ask("uids g"), "uids alice %d/%d" % (WORKERS, WORKERS))
        self.assertEqual(cs[2].ask("total"), "total %d %d/%d" % (len(cs), WORKERS, WORKERS))
        # a client id routes to its worker
        cid = cs[3].ask("cid")
        cs[0].send_line("client %s direct" % cid)
        self.assertEqual(cs[3].read_line(), "direct")
        cs[0].send_line("all everyone")
        for c in cs:
            self.assertEqual(c.read_line(), "everyone")

    def test_membership_ends_with_the_connection_and_stale_ids_reach_nobody(self):
        cs = self.spread_clients()
        self.join_all(cs)
        gone = cs.pop()
        stale = gone.ask("cid")
        gone.close()
        wait_until(lambda: cs[0].ask("count g").startswith("count %d " % len(cs)),
                   what="the closed connection to leave the group")
        fresh = LineClient(self.port)
        cs.append(fresh)  # cs is self.spread.clients: closed in tearDown
        self.assertNotEqual(fresh.ask("cid"), stale)
        cs[0].send_line("client %s stale" % stale)
        cs[0].send_line("all marker")
        for c in cs:
            self.assertEqual(c.read_line(), "marker", "a stale id reached a connection")

    def test_wman_send_reaches_group_uid_client_and_everyone(self):
        cs = self.spread_clients()
        self.join_all(cs, "ops")
        self.assertEqual(cs[2].ask("bind carol"), "ok")
        for args, who in ((("--group", "ops"), cs), (("--uid", "carol"), [cs[2]]),
                          (("--client", cs[1].ask("cid")), [cs[1]]), (("--all",), cs)):
            r = self.w.cli("send", *args, "from-cli")
            self.assertEqual(r.returncode, 0, r.stderr)
            for c in who:
                self.assertEqual(c.read_line(), "from-cli", args)
        r = self.w.cli("send", "--uid", "x")
        self.assertNotEqual(r.returncode, 0)

    def test_a_killed_worker_takes_its_memberships_and_the_bus_survives(self):
        cs = self.spread_clients()
        self.join_all(cs)
        bus_pid = self.bus()["pid"]
        victim = self.spread.pid_of[cs[0]]
        on_victim = [c for c in cs if self.spread.pid_of[c] == victim]
        os.kill(victim, signal.SIGKILL)
        rest = [c for c in cs if self.spread.pid_of[c] != victim]
        wait_until(lambda: rest[0].ask("count g").startswith("count %d " % len(rest)),
                   what="the killed worker's members to vanish")
        self.assertEqual(self.bus()["pid"], bus_pid)
        rest[0].send_line("group g after")
        for c in rest:
            self.assertEqual(c.read_line(), "after")
        for c in on_victim:
            self.assertTrue(c.closed_by_server(2))

    def test_a_killed_bus_is_respawned_and_interests_are_announced_again(self):
        cs = self.spread_clients()
        self.join_all(cs)
        self.assertEqual(cs[0].ask("bind dave"), "ok")
        old = self.bus()["pid"]
        os.kill(old, signal.SIGKILL)
        wait_until(lambda: self.bus().get("pid") not in (0, old) and
                   self.bus().get("stats", {}).get("links") == WORKERS,
                   what="a new bus process with every worker linked")
        self.assertEqual(self.bus()["restarts"], 1)
        self.assertIn("signal 9", self.bus()["last_exit"])
        cs[-1].send_line("group g back")
        for c in cs:
            self.assertEqual(c.read_line(), "back")
        cs[-1].send_line("uid dave still-dave")
        self.assertEqual(cs[0].read_line(), "still-dave")

    def test_reload_g_keeps_both_generations_reachable(self):
        old = self.spread_clients()
        self.join_all(old)
        old = list(old)
        # Messages flow to the group from an old-generation connection during the reload.
        sender = LineClient(self.port)
        self.spread.clients.append(sender)
        sent = [0]
        done = threading.Event()

        def flow():
            while not done.is_set():
                sender.send_line("group g tick %d" % sent[0])
                sent[0] += 1
                done.wait(0.01)  # a steady rate, not a synchronisation

        t = threading.Thread(target=flow)
        t.start()
        try:
            wait_until(lambda: sent[0] >= 20, what="ticks before the reload")
            r = self.w.cli("reload", "-g")
            at_reload = sent[0]
            wait_until(lambda: sent[0] >= at_reload + 20, what="ticks after the reload")
        finally:
            done.set()
            t.join()
        self.assertEqual(r.returncode, 0, r.stderr + self.w.log_tail())
        for c in old:
            for i in range(sent[0]):
                self.assertEqual(c.read_line(), "tick %d" % i)
        new = [LineClient(self.port) for _ in range(WORKERS)]
        self.spread.clients.extend(new)
        self.join_all(new)
        old_pids = set(self.spread.pid_of.values())
        for c in new:
            self.assertNotIn(int(c.ask("pid")), old_pids)
        new[0].send_line("group g both")
        for c in old + new:
            self.assertEqual(c.read_line(), "both")
        old[0].send_line("group g from-old")
        for c in old + new:
            self.assertEqual(c.read_line(), "from-old")

    def test_numbered_messages_arrive_in_order(self):
        cs = self.spread_clients()
        receiver, sender = cs[0], cs[1]
        self.assertNotEqual(self.spread.pid_of[receiver], self.spread.pid_of[sender])
        self.assertEqual(receiver.ask("bind r"), "ok")
        n = 100000
        sender.send_line("seq r %d" % n)
        for i in range(n):
            self.assertEqual(receiver.read_line(), "seq %d" % i)
        self.assertEqual(self.bus()["stats"]["dropped"], 0)

    def test_channels_reach_subscribers_in_every_worker(self):
        cs = self.spread_clients()
        for c in cs:
            self.assertEqual(c.ask("sub news"), "ok")
        cs[0].send_line("pub news flash")
        for c in cs:
            self.assertEqual(c.read_line(), "ch news flash")


class ChatTest(unittest.TestCase):
    """The shipped chat app with count = 4: one chat across the workers."""

    def setUp(self):
        self.w = Wman(WMAN, "chat")
        self.port = free_port()
        self.w.write_config(None, raw=bus_config(self.w, self.port).replace(
            'text://127.0.0.1:%d' % self.port, 'websocket://127.0.0.1:%d' % self.port).replace(
            'app = "%s"' % APP, 'app = "chat"'))
        self.w.start_daemon()

    def tearDown(self):
        self.w.cli("stop")
        self.w.cleanup()

    def test_one_chat_across_workers(self):
        wait_until(lambda: self.w.status()["bus"].get("stats", {}).get("links") == WORKERS,
                   what="every worker linked to the bus")
        url = "ws://127.0.0.1:%d/" % self.port

        def counted():  # heartbeats bring the counts once a second
            return [x.get("connections", 0) for x in self.w.status()["workers"]]

        async def run():
            # Batches of 2 * WORKERS until more than one worker holds a client, at most 8:
            # the kernel may hand a short burst to one worker; never across 64 is a failure.
            clients = []
            for _ in range(8):
                batch = [await websockets.connect(url) for _ in range(2 * WORKERS)]
                clients.extend(batch)
                for c in batch:  # each sees its own "joined" line, and those of later ones
                    self.assertTrue((await asyncio.wait_for(c.recv(), 5)).endswith(" joined"))
                wait_until(lambda: sum(counted()) == len(clients), what="connections in status")
                spread = counted()
                busy = sum(1 for n in spread if n > 0)
                if busy > 1:
                    break
            self.assertGreater(busy, 1, spread)
            await clients[0].send("/nick ann")
            await clients[-1].send("hello all")
            for c in clients:
                while True:
                    line = await asyncio.wait_for(c.recv(), 5)
                    if line.endswith(": hello all"):
                        break
            await clients[1].send("/msg ann psst")
            while True:
                line = await asyncio.wait_for(clients[0].recv(), 5)
                if line.endswith("(private): psst"):
                    break
            for c in clients:
                await c.close()

        asyncio.run(run())


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])

#!/usr/bin/python3
"""Supervision by the real wman master: a killed or crashed worker is respawned in the same
slot (and Worker::id() tells it which) while the others keep serving, a worker that crashes at
every start is respawned with back-off, a slot whose process cannot even be forked retries
with back-off and shows in `status`, a worker stuck in a loop or stopped is killed after
heartbeat_timeout, and a master whose own loop stalled does not take that for hung workers.

usage: supervise_test.py WMAN_BINARY TEST_APP_SO
"""
import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wman_harness import (WAIT, LineClient, Wman, assert_all_gone, free_port,  # noqa: E402
                          pid_alive, wait_until)

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"
APP = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "build/lib/libwman_test_app.so"


class Supervise(unittest.TestCase):
    def setUp(self):
        self.w = Wman(WMAN, APP)
        self.port = free_port()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        reports = self.w.cleanup()
        self.assertEqual(reports, "", "sanitizer reports:\n" + reports[:20000])

    def start(self, count=3, **kw):
        options = kw.pop("options", None)
        self.w.write_config([dict(name="t", port=self.port, count=count, reuse_port=True,
                                  options=options)], **kw)
        self.w.start_daemon()
        return self.w.wait_settled(count)

    def connect_to_every_worker(self, pids, per_worker=2, limit=600):
        """Opens connections until each pid in `pids` holds at least `per_worker` of them;
        returns {pid: [LineClient]}."""
        by_pid = {p: [] for p in pids}
        for _ in range(limit):
            if all(len(v) >= per_worker for v in by_pid.values()):
                return by_pid
            c = LineClient(self.port)
            self.clients.append(c)
            by_pid.setdefault(int(c.ask("pid")), []).append(c)
        self.fail("could not reach every worker: %s" % {p: len(v) for p, v in by_pid.items()})

    @staticmethod
    def slot_row(doc, slot):
        rows = [w for w in doc["workers"] if w["slot"] == slot]
        return rows[0] if len(rows) == 1 else None

    def wait_respawned(self, slot, old_pid, timeout=WAIT):
        """Waits until `slot` is served by a ready worker other than `old_pid`."""
        def respawned():
            row = self.slot_row(self.w.status(), slot)
            return row if row and row["pid"] != old_pid and row["state"] == "ready" else None
        return wait_until(respawned, timeout, "slot %d to be respawned" % slot)

    def reported_ids(self, pids, limit=600):
        """Asks workers for their Worker::id() over new connections until every pid in `pids`
        answered; returns {pid: (id in setup, id in onWorkerStart, id now)}."""
        seen = {}
        for _ in range(limit):
            if set(pids) <= set(seen):
                return seen
            with LineClient(self.port) as c:
                pid, *ids = (int(x) for x in c.ask("id").split())
            seen[pid] = tuple(ids)
        self.fail("could not reach every worker: %s of %s" % (sorted(seen), sorted(pids)))

    def assert_ids_are_slots(self, doc):
        slots = {w["pid"]: w["slot"] for w in doc["workers"]}
        seen = self.reported_ids(list(slots))
        for pid, slot in slots.items():
            self.assertEqual(seen[pid], (slot, slot, slot), "pid %d in slot %d" % (pid, slot))
        self.assertEqual(sorted(slots.values()), [0, 1, 2])

    # ------------------------------------------------------------------------------------
    def test_worker_id_is_the_slot_across_respawn_and_reload(self):
        doc = self.start(count=3)
        self.assert_ids_are_slots(doc)
        victim = self.slot_row(doc, 1)["pid"]
        os.kill(victim, signal.SIGKILL)
        row = self.wait_respawned(1, victim)
        self.assertEqual(self.reported_ids([row["pid"]])[row["pid"]], (1, 1, 1))
        self.assert_ids_are_slots(self.w.status())

        # A new generation's processes take over the same slots, so the same ids.
        r = self.w.cli("reload")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + self.w.log_tail())
        doc = self.w.wait_settled(3)
        self.assertTrue(all(w["generation"] > row["generation"] for w in doc["workers"]),
                        doc["workers"])
        self.assert_ids_are_slots(doc)

    def test_sigkill_worker_is_respawned_in_its_slot_and_others_keep_serving(self):
        doc = self.start(count=3)
        by_slot = {w["slot"]: w for w in doc["workers"]}
        victim = by_slot[1]["pid"]
        conns = self.connect_to_every_worker([w["pid"] for w in doc["workers"]])
        os.kill(victim, signal.SIGKILL)

        row = self.wait_respawned(1, victim)
        self.assertEqual(row["restarts"], 1, row)
        self.assertEqual(row["generation"], by_slot[1]["generation"])
        self.assertFalse(pid_alive(victim))
        doc = self.w.status()
        self.assertEqual(len(doc["workers"]), 3, doc["workers"])
        for slot in (0, 2):
            now = self.slot_row(doc, slot)
            self.assertEqual(now["pid"], by_slot[slot]["pid"], "slot %d changed pid" % slot)
            self.assertEqual(now["restarts"], 0)
        # The victim's connections died with it; everyone else's still echo.
        for c in conns[victim]:
            self.assertTrue(c.closed_by_server(timeout=2.0))
        for pid, cs in conns.items():
            if pid == victim:
                continue
            for i, c in enumerate(cs):
                self.assertEqual(c.ask("after-%d" % i), "after-%d" % i)
                self.assertEqual(int(c.ask("pid")), pid)
        # The replacement serves too.
        self.connect_to_every_worker([row["pid"]], per_worker=1)
        self.assertRegex(self.w.log_text(), r"pid %d killed by signal 9" % victim)

    def test_crash_message_respawns_then_crash_at_start_backs_off(self):
        trigger = os.path.join(self.w.dir, "crash-at-start")
        doc = self.start(count=2, options={"crash_at_start_file": '"%s"' % trigger})
        by_slot = {w["slot"]: w for w in doc["workers"]}
        victim, other = by_slot[0]["pid"], by_slot[1]["pid"]
        conns = self.connect_to_every_worker([victim, other], per_worker=1)

        # One crash in traffic: respawned at once, restarts = 1.
        conns[victim][0].send_line("crash")
        row = self.wait_respawned(0, victim)
        self.assertEqual(row["restarts"], 1, row)
        self.assertRegex(self.w.log_text(), r"pid %d killed by signal 6" % victim)

        # Now every new worker of slot 0 aborts in its entry point. Crash the running one.
        with open(trigger, "w"):
            pass
        spawns_before = len(self.w.spawn_lines("t", 0))
        crasher = self.connect_to_every_worker([row["pid"]], per_worker=1)[row["pid"]][0]
        crasher.send_line("crash")
        t0 = time.monotonic()
        wait_until(lambda: not pid_alive(row["pid"]), what="slot 0 to crash")
        # Watch for 5 s: respawns happen, but with back-off, not in a tight loop.
        time.sleep(max(0.0, 5.0 - (time.monotonic() - t0)))  # an observation window
        spawns = self.w.spawn_lines("t", 0)[spawns_before:]
        print("\nslot 0 spawns in the 5 s after the crash loop began: %d" % len(spawns),
              file=sys.stderr)
        self.assertGreaterEqual(len(spawns), 2, "crashing worker not respawned" +
                                self.w.log_tail())
        self.assertLessEqual(len(spawns), 6, "no back-off: %d spawns in 5 s" % len(spawns) +
                             self.w.log_tail())
        self.assertRegex(self.w.log_text(), r"respawning in \d+ ms")
        # The other slot never noticed.
        self.assertEqual(self.slot_row(self.w.status(), 1)["pid"], other)
        self.assertEqual(conns[other][0].ask("fine"), "fine")

        # Once the cause is gone the slot recovers on its own (next back-off step).
        os.unlink(trigger)
        row = self.wait_respawned(0, row["pid"], timeout=WAIT + 10)
        self.assertGreaterEqual(row["restarts"], 1 + len(spawns), row)
        self.connect_to_every_worker([row["pid"]], per_worker=1)

    def test_hung_worker_is_killed_after_heartbeat_timeout_and_respawned(self):
        doc = self.start(count=2, heartbeat_timeout="2s")
        by_slot = {w["slot"]: w for w in doc["workers"]}
        victim, other = by_slot[0]["pid"], by_slot[1]["pid"]
        conns = self.connect_to_every_worker([victim, other], per_worker=1)
        conns[victim][0].send_line("hang")
        t0 = time.monotonic()
        # The master keeps answering while a worker hangs (on a loaded machine the answer
        # may come after heartbeat_timeout, when the victim is already replaced).
        answered = self.slot_row(self.w.status(), 0)["pid"]
        if answered != victim:
            self.assertGreaterEqual(time.monotonic() - t0, 2.0, "replaced before its timeout")
        row = self.wait_respawned(0, victim)
        elapsed = time.monotonic() - t0
        print("\nhung worker replaced after %.2f s (heartbeat_timeout 2s)" % elapsed,
              file=sys.stderr)
        self.assertGreaterEqual(elapsed, 1.0, "killed before heartbeat_timeout")
        self.assertLess(elapsed, 2.0 + 1.0 + 3.0, "hung worker lived %.2f s" % elapsed)
        self.assertEqual(row["restarts"], 1, row)
        assert_all_gone(self, [victim], timeout=1.0, what="hung worker")
        log = self.w.log_text()
        self.assertRegex(log, r"pid %d sent no heartbeat" % victim)
        self.assertRegex(log, r"pid %d killed by signal 6" % victim)
        self.assertTrue(conns[victim][0].closed_by_server(timeout=2.0))
        self.assertEqual(conns[other][0].ask("ok"), "ok")
        self.assertEqual(self.slot_row(self.w.status(), 1)["pid"], other)

    def test_stopped_worker_is_killed_after_heartbeat_timeout_and_respawned(self):
        doc = self.start(count=2, heartbeat_timeout="2s")
        victim, other = self.slot_row(doc, 0)["pid"], self.slot_row(doc, 1)["pid"]
        os.kill(victim, signal.SIGSTOP)
        t0 = time.monotonic()
        # SIGABRT stays pending on a stopped process: the SIGKILL 5 s later ends it.
        self.wait_respawned(0, victim, timeout=WAIT + 10)
        elapsed = time.monotonic() - t0
        print("\nstopped worker replaced after %.2f s (heartbeat_timeout 2s)" % elapsed,
              file=sys.stderr)
        self.assertGreaterEqual(elapsed, 1.0, "killed before heartbeat_timeout")
        log = self.w.log_text()
        self.assertRegex(log, r"pid %d sent no heartbeat" % victim)
        self.assertRegex(log, r"pid %d killed by signal (6|9)" % victim)
        assert_all_gone(self, [victim], timeout=1.0, what="stopped worker")
        self.assertEqual(self.slot_row(self.w.status(), 1)["pid"], other)

    def test_stalled_master_does_not_take_its_own_silence_for_hung_workers(self):
        # The master's loop blocked for longer than heartbeat_timeout (here it is stopped)
        # cannot read the heartbeats waiting in the channels meanwhile; that is no reason to
        # abort workers that kept sending them.
        doc = self.start(count=2, heartbeat_timeout="2s")
        master, pids = doc["pid"], sorted(w["pid"] for w in doc["workers"])
        os.kill(master, signal.SIGSTOP)
        try:
            time.sleep(3.0)  # the stall under test, not a wait for an event
        finally:
            os.kill(master, signal.SIGCONT)
        stall = re.compile(r"the master's loop was blocked for \d+ ms")
        wait_until(lambda: stall.search(self.w.log_text()), what="the master to log its stall")
        # An abort would come at the latest when the grace (2 s here) ends; absence can only
        # be watched for a while.
        time.sleep(3.0)
        self.assertNotRegex(self.w.log_text(), r"sent no heartbeat", self.w.log_tail())
        self.assertEqual(sorted(w["pid"] for w in self.w.status()["workers"]), pids)
        for pid in pids:
            self.assertTrue(pid_alive(pid), "worker %d gone" % pid)

    def test_failed_spawn_backs_off_is_logged_and_shown_then_recovers(self):
        # socketpair() fails in the master while `fault` exists (LD_PRELOAD fault injection:
        # as root RLIMIT_NPROC is not enforced, and an fd limit would starve the CLI too).
        so = os.environ.get("WMAN_FAULT_INJECT_SO", "build/lib/wman_fault_inject.so")
        self.assertTrue(os.path.exists(so), "fault injection library missing: " + so)
        fault = os.path.join(self.w.dir, "fail-socketpair")
        self.w.env["LD_PRELOAD"] = os.path.abspath(so)
        self.w.env["WMAN_FAULT_SOCKETPAIR_FILE"] = fault
        # A sanitizer runtime wants to come first in the library list; the preload is plain.
        self.w.env["ASAN_OPTIONS"] += ":verify_asan_link_order=0"
        doc = self.start(count=2)
        by_slot = {w["slot"]: w for w in doc["workers"]}
        victim, other = by_slot[1]["pid"], by_slot[0]["pid"]
        with open(fault, "w"):
            pass
        os.kill(victim, signal.SIGKILL)

        wait_until(lambda: re.search(r"worker t slot 1: cannot start a process: socketpair: "
                                     r"Too many open files; retrying in \d+ ms",
                                     self.w.log_text()), what="the failed spawn to be logged")
        row = wait_until(lambda: self.slot_row(self.w.status(), 1), what="slot 1 in status")
        self.assertEqual(row["state"], "backoff", row)
        self.assertIsNone(row["pid"], row)
        self.assertEqual(row["restarts"], 1, row)
        self.assertIn("socketpair", row["last_exit"], row)
        self.assertGreaterEqual(row["respawn_in_ms"], 0, row)
        self.assertIn("respawn_at", row)
        table = self.w.cli("status").stdout
        self.assertRegex(table, r"backoff until \d\d:\d\d:\d\d", table)
        self.assertIn("cannot start a process: socketpair", table)
        # The other slot never noticed.
        self.assertEqual(self.slot_row(self.w.status(), 0)["pid"], other)

        # Once the cause is gone the slot comes back on its own.
        os.unlink(fault)
        row = self.wait_respawned(1, victim, timeout=WAIT + 15)
        self.connect_to_every_worker([row["pid"]], per_worker=1)

    def test_killed_master_takes_its_workers_down(self):
        doc = self.start(count=3)
        master, pids = doc["pid"], [w["pid"] for w in doc["workers"]]
        os.kill(master, signal.SIGKILL)
        assert_all_gone(self, [master] + pids, what="process of the tree")
        # Nothing holds the listener any more.
        with self.assertRaises(ConnectionRefusedError):
            LineClient(self.port).close()


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:])  # extra args: test names

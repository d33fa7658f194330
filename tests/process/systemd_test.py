#!/usr/bin/python3
"""wman as a systemd service, without systemd: the test plays the service manager.

- notify: a unix datagram socket as NOTIFY_SOCKET sees READY=1 once workers accept,
  RELOADING=1 + MONOTONIC_USEC= then READY=1 around every reload (good, refused config,
  failing generation), STATUS= with the worker count and the last reload verdict,
  WATCHDOG=1 at half of WATCHDOG_USEC, EXTEND_TIMEOUT_USEC= during a drain, STOPPING=1;
  `start -d` stays in the foreground.
- socket activation: sockets passed as LISTEN_FDS (fds 3, 4) with LISTEN_PID and
  LISTEN_FDNAMES are served by the worker with that name or that address, also after a
  reload; a LISTEN_PID of another process is ignored.
- the unit files pass `systemd-analyze verify` where it is installed.

usage: systemd_test.py WMAN_BINARY TEST_APP_SO SOURCE_DIR
"""
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wman_harness import (WAIT, LineClient, Wman, free_port, no_core_dumps,  # noqa: E402
                          wait_until)

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"
APP = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "build/lib/libwman_test_app.so"
SOURCE = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else "."


class NotifyListener:
    """The service manager's end of NOTIFY_SOCKET: every datagram, parsed into a dict."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = queue.Queue()
        self.all = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            fields = {}
            for line in data.decode().split("\n"):
                if "=" in line:
                    k, _, v = line.partition("=")
                    fields[k] = v
            self.all.append(fields)
            self.messages.put(fields)

    def expect(self, predicate, what, timeout=WAIT):
        """The next message satisfying `predicate`; the ones before it are skipped (except
        that any of them satisfying `forbid` would have been a failure of the caller)."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("no notify message with %s; got %s" % (what, self.all))
            try:
                m = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if predicate(m):
                return m

    def drain(self):
        """Messages received so far and not yet consumed."""
        out = []
        while True:
            try:
                out.append(self.messages.get_nowait())
            except queue.Empty:
                return out

    def close(self):
        self.sock.close()


def not_watchdog(m):
    return m != {"WATCHDOG": "1"}


class NotifyTest(unittest.TestCase):
    def setUp(self):
        self.w = Wman(WMAN, APP)
        self.notify = NotifyListener(self.w.dir)
        self.port = free_port()
        self.w.write_config([dict(name="echo", port=self.port, count=2)], drain_timeout="20s")

    def tearDown(self):
        self.notify.close()
        reports = self.w.cleanup()
        self.assertEqual(reports, "", "sanitizer reports:\n" + reports)

    def start(self, *extra, watchdog_usec=None):
        env = dict(self.w.env, NOTIFY_SOCKET=self.notify.path)
        if watchdog_usec:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        out = open(os.path.join(self.w.dir, "foreground.log"), "w")
        p = subprocess.Popen([WMAN, "start", *extra, "-c", self.w.config_path], stdout=out,
                             stderr=subprocess.STDOUT, env=env, preexec_fn=no_core_dumps)
        out.close()
        self.w.foreground.append(p)
        self.w.seen_pids.add(p.pid)
        return p

    def test_ready_reload_stop_watchdog(self):
        # -d is ignored under a service manager: the process systemd started is the master.
        p = self.start("-d", watchdog_usec=400000)
        ready = self.notify.expect(lambda m: m.get("READY") == "1", "READY=1")
        self.assertIn("2/2 workers ready", ready.get("STATUS", ""), ready)
        self.assertIsNone(p.poll(), "the master must not fork away under systemd")
        self.assertEqual(self.w.status()["pid"], p.pid)
        with LineClient(self.port) as c:
            self.assertEqual(c.ask("hello"), "hello")
        self.assertIn("not daemonizing", self.w.log_text())

        # WATCHDOG=1 at half of WATCHDOG_USEC (0.4 s): several within two seconds.
        t0 = time.monotonic()
        for _ in range(3):
            self.notify.expect(lambda m: m.get("WATCHDOG") == "1", "WATCHDOG=1", timeout=5)
        self.assertLess(time.monotonic() - t0, 5)

        # A good reload: RELOADING=1 with a current MONOTONIC_USEC, then READY=1.
        before = time.clock_gettime(time.CLOCK_MONOTONIC)
        r = self.w.cli("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        after = time.clock_gettime(time.CLOCK_MONOTONIC)
        reloading = self.notify.expect(lambda m: "RELOADING" in m, "RELOADING=1")
        self.assertEqual(reloading["RELOADING"], "1")
        stamp = int(reloading["MONOTONIC_USEC"]) / 1e6
        self.assertGreaterEqual(stamp, before - 0.001)
        self.assertLessEqual(stamp, after + 0.001)
        ready = self.notify.expect(lambda m: m.get("READY") == "1", "READY=1 after reload")
        self.assertIn("generation 2", ready["STATUS"])
        self.assertIn("last reload ok", ready["STATUS"])

        # A failing generation (its workers die at start): RELOADING, then READY again with
        # the verdict in STATUS; the old generation keeps serving.
        self.w.write_config([dict(name="echo", port=self.port, count=2,
                                  options={"crash_at_start": "true"})], drain_timeout="20s")
        r = self.w.cli("reload")
        self.assertNotEqual(r.returncode, 0)
        self.notify.expect(lambda m: "RELOADING" in m, "RELOADING=1 (failing generation)")
        ready = self.notify.expect(lambda m: m.get("READY") == "1", "READY=1 after failure")
        self.assertIn("last reload failed", ready["STATUS"])
        self.assertIn("2/2 workers ready, generation 2", ready["STATUS"])

        # A config the master refuses also answers RELOADING then READY.
        self.w.write_config([dict(name="echo", port=self.port, count=2)], drain_timeout="20s")
        with open(self.w.config_path, "a") as f:
            f.write("bogus_key = 1\n")
        r = subprocess.run([WMAN, "reload", "-c", self.w.config_path], capture_output=True,
                           text=True, timeout=60, env=self.w.env)
        self.assertNotEqual(r.returncode, 0)
        # The CLI refuses before asking the master; send SIGHUP, as `kill -HUP` would.
        os.kill(p.pid, 1)
        self.notify.expect(lambda m: "RELOADING" in m, "RELOADING=1 (refused config)")
        ready = self.notify.expect(lambda m: m.get("READY") == "1", "READY=1 after refusal")
        self.assertIn("last reload failed", ready["STATUS"])
        self.assertIn("bogus_key", ready["STATUS"])

        # Graceful stop with a connection still open: STOPPING=1, then EXTEND_TIMEOUT_USEC
        # covering the drain, until the connection goes and the master exits 0.
        held = LineClient(self.port)
        self.assertEqual(held.ask("still here"), "still here")
        os.kill(p.pid, 15)  # SIGTERM: what systemctl stop sends
        stopping = self.notify.expect(lambda m: m.get("STOPPING") == "1", "STOPPING=1")
        self.assertIn("stopping", stopping.get("STATUS", ""))
        ext = self.notify.expect(lambda m: "EXTEND_TIMEOUT_USEC" in m, "EXTEND_TIMEOUT_USEC")
        # drain_timeout is 20 s: the manager is asked for at least that much.
        self.assertGreater(int(ext["EXTEND_TIMEOUT_USEC"]), 15 * 1000000)
        self.notify.expect(lambda m: "EXTEND_TIMEOUT_USEC" in m, "a repeated EXTEND_TIMEOUT_USEC")
        held.close()
        self.assertEqual(p.wait(WAIT), 0, self.w.log_tail())
        rest = self.notify.drain()
        self.assertFalse([m for m in rest if m.get("READY") == "1"], rest)

    def test_failed_start_reports_status_and_no_ready(self):
        self.w.write_config([dict(name="echo", port=self.port, count=1,
                                  options={"crash_at_start": "true"})])
        p = self.start()
        self.assertNotEqual(p.wait(WAIT), 0)
        seen = self.notify.drain()
        self.assertFalse([m for m in seen if m.get("READY") == "1"], seen)
        self.assertTrue([m for m in seen if m.get("STOPPING") == "1"], seen)
        failed = [m for m in seen if m.get("STATUS", "").startswith("start failed: ")]
        self.assertTrue(failed and "during start-up" in failed[0]["STATUS"], seen)

    def test_no_watchdog_for_another_pid(self):
        # WATCHDOG_PID naming another process: no pings (they are not for us).
        env = dict(self.w.env, NOTIFY_SOCKET=self.notify.path, WATCHDOG_USEC="200000",
                   WATCHDOG_PID="1")
        out = open(os.path.join(self.w.dir, "foreground.log"), "w")
        p = subprocess.Popen([WMAN, "start", "-c", self.w.config_path], stdout=out,
                             stderr=subprocess.STDOUT, env=env, preexec_fn=no_core_dumps)
        out.close()
        self.w.foreground.append(p)
        self.notify.expect(lambda m: m.get("READY") == "1", "READY=1")
        # Four watchdog periods with the master's loop running: a status round trip proves
        # it is alive and answering in between.
        end = time.monotonic() + 0.8
        while time.monotonic() < end:
            self.w.status()
        self.assertFalse([m for m in self.notify.drain() if m.get("WATCHDOG")])
        r = self.w.cli("stop")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(p.wait(WAIT), 0)


def listening_socket(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    return s


def port_refuses(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


class SocketActivationTest(unittest.TestCase):
    def setUp(self):
        self.w = Wman(WMAN, APP)

    def tearDown(self):
        reports = self.w.cleanup()
        self.assertEqual(reports, "", "sanitizer reports:\n" + reports)

    def start_activated(self, sockets, names, listen_pid_self=True):
        """Starts wman in the foreground with `sockets` as fds 3, 4, ... the way systemd
        passes them: LISTEN_FDS, LISTEN_FDNAMES, and LISTEN_PID set by the exec'ing shell
        to its own pid (which exec keeps)."""
        fds = [s.fileno() for s in sockets]

        def place_fds():
            no_core_dumps()
            high = [os.dup(fd) for fd in fds]  # out of the way of 3, 4, ...
            for i, fd in enumerate(high):
                os.dup2(fd, 3 + i)  # dup2 clears close-on-exec
        env = dict(self.w.env, LISTEN_FDS=str(len(fds)), LISTEN_FDNAMES=":".join(names))
        env.pop("LISTEN_PID", None)
        pid_expr = "$$" if listen_pid_self else "1"
        out = open(os.path.join(self.w.dir, "foreground.log"), "w")
        p = subprocess.Popen(
            ["/bin/sh", "-c", 'LISTEN_PID=%s exec "$0" start -c "$1"' % pid_expr, WMAN,
             self.w.config_path],
            stdout=out, stderr=subprocess.STDOUT, env=env, preexec_fn=place_fds,
            pass_fds=tuple(range(3, 3 + len(fds))))
        out.close()
        self.w.foreground.append(p)
        self.w.seen_pids.add(p.pid)
        for s in sockets:
            s.close()  # only wman holds them now

        def up():
            if p.poll() is not None:
                raise AssertionError("wman exited early (%s): %s" % (p.returncode,
                                                                     self.w.log_tail()))
            return os.path.exists(self.w.sock_path)
        wait_until(up, what="the master's control socket")
        return p

    def test_adopts_by_address_and_by_name(self):
        by_addr, by_name, named_elsewhere = free_port(), free_port(), free_port()
        # "echo" listens where the first socket is bound; "named" is configured on a port
        # nothing is bound to, and gets the socket named after it instead.
        self.w.write_config([dict(name="echo", port=by_addr, count=2, reuse_port=True),
                             dict(name="named", port=named_elsewhere, count=1)])
        p = self.start_activated([listening_socket(by_addr), listening_socket(by_name)],
                                 ["web", "named"])
        self.w.wait_settled(2, "echo")
        self.w.wait_settled(1, "named")
        for port in (by_addr, by_name):
            with LineClient(port) as c:
                self.assertEqual(c.ask("via %d" % port), "via %d" % port)
        # Nothing bound the configured port of "named": its socket came from the manager.
        self.assertTrue(port_refuses(named_elsewhere))
        log = self.w.log_text()
        self.assertIn("worker echo: serving 127.0.0.1:%d from the socket passed" % by_addr, log)
        self.assertIn("worker named: serving 127.0.0.1:%d from the socket passed" % by_name, log)
        # Both "echo" slots accept from the one passed socket (reuse_port cannot apply).
        pids = set()
        def both_slots_seen():
            with LineClient(by_addr) as c:
                pids.add(c.ask("pid"))
            return len(pids) == 2
        wait_until(both_slots_seen, what="both echo workers answering on the passed socket",
                   interval=0)
        # A reload keeps serving from the same passed sockets.
        r = self.w.cli("reload")
        self.assertEqual(r.returncode, 0, r.stderr + self.w.log_tail())
        for port in (by_addr, by_name):
            with LineClient(port) as c:
                self.assertEqual(c.ask("after reload"), "after reload")
        r = self.w.cli("stop")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(p.wait(WAIT), 0)

    def test_listen_pid_of_another_process_is_ignored(self):
        port = free_port()
        self.w.write_config([dict(name="echo", port=port, count=1)])
        # wman binds the port itself; the passed socket (same port) makes that fail unless
        # SO_REUSEADDR lets both bind. Use a socket on another port instead: it must stay
        # unserved while wman serves its own bind.
        other = free_port()
        p = self.start_activated([listening_socket(other)], ["echo"], listen_pid_self=False)
        self.w.wait_settled(1)
        with LineClient(port) as c:
            self.assertEqual(c.ask("own bind"), "own bind")
        self.assertIn("LISTEN_PID=1 is not this process", self.w.log_text())
        self.assertNotIn("from the socket passed", self.w.log_text())
        r = self.w.cli("stop")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(p.wait(WAIT), 0)


class UnitFileTest(unittest.TestCase):
    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_units_verify(self):
        d = tempfile.mkdtemp(prefix="wman-unit-")
        try:
            for name in ("wman.service", "wman.socket"):
                with open(os.path.join(SOURCE, "scripts/systemd", name)) as f:
                    text = f.read()
                # verify checks that ExecStart= binaries exist: point it at this build.
                with open(os.path.join(d, name), "w") as f:
                    f.write(text.replace("/usr/bin/wman", WMAN))
            r = subprocess.run(["systemd-analyze", "verify", "--man=no",
                                os.path.join(d, "wman.service"), os.path.join(d, "wman.socket")],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            # Unknown keys are only warnings: any output at all is a failure here.
            self.assertEqual(r.stdout + r.stderr, "")
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_service_has_the_promised_settings(self):
        with open(os.path.join(SOURCE, "scripts/systemd/wman.service")) as f:
            lines = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        for want in ("Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict",
                     "ProtectHome=yes", "PrivateTmp=yes", "RuntimeDirectory=wman"):
            self.assertIn(want, lines)
        self.assertTrue(any(l.startswith("LimitNOFILE=") for l in lines))
        reload = [l for l in lines if l.startswith("ExecReload=")]
        self.assertEqual(len(reload), 2, reload)
        self.assertIn(" check ", reload[0])
        self.assertIn(" reload ", reload[1])
        self.assertTrue(any(l.startswith("ExecStartPre=") and " check " in l for l in lines))


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

"""Shared helpers for the multi-process tests: a wman instance in a temp run_dir, config
writing, CLI calls, status polling, line clients, and a tear-down that leaves no process.

The tests run with Debian's /usr/bin/python3 and the standard library only.
"""
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time

# Everything is ~3x slower under ASan; every wait below is bounded but generous.
WAIT = 20.0


def free_port():
    """A TCP port nothing listens on right now (bind port 0, read it, release it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def no_core_dumps():
    # Workers of the test app abort() on purpose; keep core files out of the file system.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def pid_alive(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # The state follows the parenthesised command name, which may itself contain ')'.
    state = stat[stat.rindex(")") + 2:].split()[0]
    return state not in ("Z", "X")


def wait_until(predicate, timeout=WAIT, what="condition", interval=0.05):
    """Polls `predicate` (for things that have no notification) until it returns a truthy
    value, which is returned; fails after `timeout` seconds."""
    end = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= end:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


class LineClient:
    """A blocking client of a text:// (newline-delimited) listener."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send_line(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def read_line(self):
        """The next line without its newline; raises EOFError when the server closed."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def ask(self, line):
        self.send_line(line)
        return self.read_line()

    def closed_by_server(self, timeout=WAIT):
        """True if the server closes (EOF or reset) within `timeout` seconds."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Wman:
    """One wman instance: its run_dir, config, CLI and the processes it started."""

    def __init__(self, binary, app):
        self.binary = binary
        self.app = app
        self.dir = tempfile.mkdtemp(prefix="wman-proc-")
        self.config_path = os.path.join(self.dir, "wman.toml")
        self.log_path = os.path.join(self.dir, "wman.log")
        self.pid_path = os.path.join(self.dir, "wman.pid")
        self.sock_path = os.path.join(self.dir, "wman.sock")
        self.seen_pids = set()   # master + every worker pid we saw; killed in cleanup()
        self.foreground = []     # Popen objects of `start` in the foreground
        # In a sanitizer build, reports of daemonized processes would go to a closed stderr;
        # send them to files in the run_dir instead (cleanup() returns what they say).
        self.env = dict(os.environ)
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            prefix = self.env.get(var, "")
            self.env[var] = (prefix + ":" if prefix else "") + \
                "log_path=%s/sanitizer" % self.dir

    # ---- config -------------------------------------------------------------------------
    def write_config(self, workers, stop_timeout="2s", drain_timeout="5s",
                     start_timeout="5s", heartbeat_timeout="30s", log_file=None, raw=None):
        """Writes the config. `workers` is a list of dicts: name, port, count, reuse_port,
        app (default: the test app), options (dict of TOML literal texts)."""
        if raw is not None:
            text = raw
        else:
            lines = ["[daemon]",
                     'run_dir = "%s"' % self.dir,
                     'stop_timeout = "%s"' % stop_timeout,
                     'drain_timeout = "%s"' % drain_timeout,
                     'start_timeout = "%s"' % start_timeout,
                     'heartbeat_timeout = "%s"' % heartbeat_timeout,
                     'log_level = "info"']
            if log_file:
                lines.append('log_file = "%s"' % log_file)
            for w in workers:
                lines += ["", "[[worker]]",
                          'name = "%s"' % w["name"],
                          'listen = "text://127.0.0.1:%d"' % w["port"],
                          "count = %d" % w.get("count", 2),
                          "reuse_port = %s" % ("true" if w.get("reuse_port") else "false"),
                          'app = "%s"' % w.get("app", self.app)]
                if w.get("options"):
                    lines.append("[worker.options]")
                    for k, v in w["options"].items():
                        lines.append("%s = %s" % (k, v))
            text = "\n".join(lines) + "\n"
        with open(self.config_path, "w") as f:
            f.write(text)
        return self.config_path

    # ---- CLI ----------------------------------------------------------------------------
    def cli(self, *args, timeout=60):
        """Runs `wman ARGS -c CONFIG` and returns the CompletedProcess (text output)."""
        return subprocess.run([self.binary, *args, "-c", self.config_path],
                              capture_output=True, text=True, timeout=timeout,
                              preexec_fn=no_core_dumps, env=self.env)

    def cli_bg(self, *args):
        """Starts `wman ARGS -c CONFIG` without waiting; output goes to pipes."""
        return subprocess.Popen([self.binary, *args, "-c", self.config_path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=no_core_dumps, env=self.env)

    def start_daemon(self):
        """`wman start -d`; returns the master pid once every worker is ready."""
        r = self.cli("start", "-d")
        pid = self.read_pid()
        if pid:
            self.seen_pids.add(pid)
        if r.returncode != 0:
            raise AssertionError("start -d failed (%d): %s%s\n%s" % (
                r.returncode, r.stdout, r.stderr, self.log_tail()))
        if not pid:
            raise AssertionError("start -d succeeded but no pid file: " + self.log_tail())
        self.status()  # records the worker pids for cleanup
        return pid

    def start_foreground(self):
        out = open(os.path.join(self.dir, "foreground.log"), "w")
        p = subprocess.Popen([self.binary, "start", "-c", self.config_path], stdout=out,
                             stderr=subprocess.STDOUT, preexec_fn=no_core_dumps, env=self.env)
        out.close()
        self.foreground.append(p)
        self.seen_pids.add(p.pid)
        return p

    def read_pid(self):
        try:
            with open(self.pid_path) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def status(self):
        """`wman status --json`, parsed; remembers every pid it lists."""
        r = self.cli("status", "--json", timeout=30)
        if r.returncode != 0:
            raise AssertionError("status --json failed (%d): %s" % (r.returncode, r.stderr))
        doc = json.loads(r.stdout)
        self.seen_pids.add(doc["pid"])
        for w in doc["workers"]:
            if w.get("pid"):  # a slot backing off has no process
                self.seen_pids.add(w["pid"])
        if doc.get("bus", {}).get("pid"):
            self.seen_pids.add(doc["bus"]["pid"])
        return doc

    def connections(self):
        r = self.cli("connections", "--json", timeout=30)
        if r.returncode != 0:
            raise AssertionError("connections --json failed (%d): %s" % (r.returncode, r.stderr))
        return json.loads(r.stdout)["connections"]

    def ready_workers(self, name=None, generation=None):
        """The status rows of workers in state "ready" (optionally of one name/generation)."""
        doc = self.status()
        return [w for w in doc["workers"] if w["state"] == "ready"
                and (name is None or w["name"] == name)
                and (generation is None or w["generation"] == generation)]

    def wait_settled(self, count, name=None, timeout=WAIT):
        """Waits until exactly `count` workers (of `name`) are listed, all ready, with
        distinct slots 0..count-1; returns the status document."""
        def settled():
            doc = self.status()
            rows = [w for w in doc["workers"] if name is None or w["name"] == name]
            if len(rows) != count or any(w["state"] != "ready" for w in rows):
                return None
            if sorted(w["slot"] for w in rows) != list(range(count)):
                return None
            return doc
        return wait_until(settled, timeout, "%d ready workers" % count)

    # ---- logs ---------------------------------------------------------------------------
    def log_text(self):
        parts = []
        for name in ("wman.log", "foreground.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    parts.append(f.read())
            except OSError:
                pass
        return "".join(parts)

    def log_tail(self, n=40):
        return "\n--- wman log (tail) ---\n" + "\n".join(self.log_text().splitlines()[-n:])

    def log_time(self, pattern):
        """Seconds (epoch-like, from the log's own clock) of the first log line matching the
        regex `pattern`, or None."""
        rx = re.compile(pattern)
        for line in self.log_text().splitlines():
            if rx.search(line):
                m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3})", line)
                if m:
                    t = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"))
                    return t + int(m.group(2)) / 1000.0
        return None

    def spawn_lines(self, name, slot):
        """Log lines of the master announcing a spawn for worker `name` slot `slot`."""
        pat = re.compile(r"worker %s slot %d generation \d+ started, pid (\d+)" %
                         (re.escape(name), slot))
        return [int(m.group(1)) for m in pat.finditer(self.log_text())]

    # ---- tear-down ----------------------------------------------------------------------
    def _is_ours(self, pid):
        try:
            return os.path.realpath("/proc/%d/exe" % pid) == os.path.realpath(self.binary)
        except OSError:
            return False

    def cleanup(self):
        """Kills every process of the tree still alive (master first so nothing respawns),
        then removes the run_dir."""
        master = self.read_pid()
        if master:
            self.seen_pids.add(master)
        if os.path.exists(self.sock_path):
            try:
                self.seen_pids.update(w["pid"] for w in self.status()["workers"] if w.get("pid"))
            except Exception:
                pass
        order = ([master] if master else []) + sorted(self.seen_pids - {master})
        for pid in order:
            if pid and pid_alive(pid) and self._is_ours(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.foreground:
            if p.poll() is None:
                p.kill()
            p.wait()
        reports = self.sanitizer_reports()
        shutil.rmtree(self.dir, ignore_errors=True)
        return reports

    def sanitizer_reports(self):
        """Text of every sanitizer report written so far (sanitizer builds only)."""
        out = []
        for name in sorted(os.listdir(self.dir)):
            if name.startswith("sanitizer"):
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out.append("=== %s ===\n%s" % (name, f.read()))
        return "\n".join(out)


def assert_all_gone(test, pids, timeout=WAIT, what="process"):
    """Fails unless every pid in `pids` is gone within `timeout` seconds."""
    try:
        wait_until(lambda: not any(pid_alive(p) for p in pids), timeout,
                   "every %s to exit" % what)
    except AssertionError:
        test.fail("still alive: %s" % [p for p in pids if pid_alive(p)])

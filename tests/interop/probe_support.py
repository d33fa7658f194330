"""Helpers of the async_client_* interop tests: run build/bin/async_client_probe and parse its
JSON lines, and start / stop the peers it talks to (echo servers that announce their port,
`openssl s_server`), each stopped by its pid.

Runs with Debian's /usr/bin/python3.
"""
import json
import os
import select
import signal
import subprocess
import tempfile
import time

from interop_support import WAIT, free_port

HERE = os.path.dirname(os.path.abspath(__file__))


class ProbeResult:
    """What one probe run printed: `events` (parsed JSON lines), the exit status, stderr."""

    def __init__(self, args, returncode, stdout, stderr):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]

    def first(self, name):
        """The first event called `name`, or None."""
        return next((e for e in self.events if e["event"] == name), None)

    def names(self):
        return [e["event"] for e in self.events]

    def report(self):
        return "probe %s\nexit %s\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(self.args), self.returncode, self.stdout, self.stderr[-4000:])


def run_probe(probe, url, *flags, timeout=WAIT):
    """Runs the probe against `url` with `flags` (str) and returns its ProbeResult; the
    probe's own --timeout is `timeout` unless `flags` set one."""
    args = [probe, url, *flags]
    if "--timeout" not in flags:
        args += ["--timeout", str(timeout)]
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout + WAIT)
    except subprocess.TimeoutExpired as e:  # run() killed it already
        raise AssertionError("probe hung: %s\n%s" % (" ".join(args), e.stdout or ""))
    return ProbeResult(args, r.returncode, r.stdout, r.stderr)


def _read_line(proc, marker, timeout):
    """Reads proc's stdout until a line starting with `marker`; returns that line. Fails
    when the process exits or `timeout` passes first."""
    end = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    buf = b""
    while True:
        while b"\n" in buf:
            line, _, buf = buf.partition(b"\n")
            if line.startswith(marker):
                return line.decode()
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError("%s did not print %r within %.0f s" % (proc.args, marker, timeout))
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError("%s exited (%s) before %r" % (proc.args, proc.wait(), marker))
            buf += chunk


class Peer:
    """A server process the probe connects to, started with `argv` and ready once its stdout
    shows a line starting with `marker` ("port N" gives the port); stopped by its pid in
    stop(). Its stderr is kept for log()."""

    def __init__(self, argv, marker, port=None, cwd=None):
        self.log_file = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.log_file, cwd=cwd)
        try:
            line = _read_line(self.proc, marker, WAIT)
        except BaseException:
            self.stop()
            raise
        self.port = port if port is not None else int(line.split()[1])

    def log(self):
        self.log_file.seek(0)
        return self.log_file.read()[-4000:]

    def stop(self):
        """Kills the peer by pid (SIGTERM, then SIGKILL) and waits for it."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc.stdout.close()
        self.log_file.close()


def python_ws_server(*flags):
    """tests/interop/ws_echo_server.py (python3-websockets) with `flags`."""
    return Peer(["/usr/bin/python3", os.path.join(HERE, "ws_echo_server.py"), *flags], b"port ")


def node_ws_server(node, *flags):
    """tests/interop/ws_echo_server.js (Node's `ws`) with `flags`."""
    return Peer([node, os.path.join(HERE, "ws_echo_server.js"), *flags], b"port ", cwd=HERE)


def openssl_rev_server(certs, name, chain=True):
    """`openssl s_server -rev` on a free 127.0.0.1 port presenting certs/NAME.pem + NAME.key
    (with the intermediate CA when `chain`): it answers every line with the line reversed."""
    port = free_port()
    argv = ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-rev",
            "-cert", os.path.join(certs, name + ".pem"),
            "-key", os.path.join(certs, name + ".key")]
    if chain:
        argv += ["-cert_chain", os.path.join(certs, "intermediate.pem")]
    return Peer(argv, b"ACCEPT", port=port)

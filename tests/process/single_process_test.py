#!/usr/bin/python3
"""Drives the real wman binary: check, start, echo over text and frame, stop by signal.

usage: single_process_test.py WMAN_BINARY SOURCE_DIR
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

WMAN = sys.argv[1] if len(sys.argv) > 1 else "build/bin/wman"
SRC = sys.argv[2] if len(sys.argv) > 2 else "."
TIMEOUT = 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, deadline=TIMEOUT):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError("wman exited early with %s" % proc.returncode)
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            time.sleep(0.05)  # polling a port the daemon has not opened yet
    raise AssertionError("port %d never opened" % port)


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise AssertionError("EOF after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


class WmanProcess(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="wman-test-")
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.dir.cleanup()

    def write_config(self, body):
        path = os.path.join(self.dir.name, "wman.toml")
        with open(path, "w") as f:
            f.write(body)
        return path

    def start(self, config):
        with open(os.path.join(self.dir.name, "out.log"), "w") as log:
            p = subprocess.Popen([WMAN, "start", "-c", config], stdout=log,
                                 stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def log_text(self):
        with open(os.path.join(self.dir.name, "out.log")) as f:
            return f.read()

    def two_worker_config(self):
        self.text_port, self.frame_port = free_port(), free_port()
        return self.write_config(f"""
[daemon]
run_dir = "{self.dir.name}"
drain_timeout = "2s"
[[worker]]
name = "text-echo"
listen = "text://127.0.0.1:{self.text_port}"
app = "echo"
[[worker]]
name = "frame-echo"
listen = "frame://127.0.0.1:{self.frame_port}"
app = "echo"
""")

    def test_check_accepts_default_config(self):
        r = subprocess.run([WMAN, "check", "-c", os.path.join(SRC, "config/wman.toml")],
                           capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("valid", r.stdout)

    def test_check_refuses_bad_config_with_file_line(self):
        path = self.write_config('[[worker]]\nlisten = "text://127.0.0.1:99999"\n')
        r = subprocess.run([WMAN, "check", "-c", path], capture_output=True, text=True,
                           timeout=TIMEOUT)
        self.assertEqual(r.returncode, 1)
        self.assertIn(path + ":2:", r.stderr)
        self.assertIn("out of range", r.stderr)

    def tls_config(self, cert, key):
        certs = os.path.join(self.dir.name, "certs")
        subprocess.run([os.path.join(SRC, "scripts/gen_test_certs"), certs], check=True,
                       capture_output=True, timeout=60)
        return self.write_config(f"""
[daemon]
run_dir = "{self.dir.name}"

[[worker]]
name = "secure"
listen = "wss://127.0.0.1:{free_port()}"
app = "echo"
[worker.tls]
cert = "{certs}/{cert}"
key = "{certs}/{key}"
""")

    def test_check_loads_certificates(self):
        # A key that belongs to another certificate is refused at the worker's line.
        path = self.tls_config("server.pem", "other.key")
        r = subprocess.run([WMAN, "check", "-c", path], capture_output=True, text=True,
                           timeout=TIMEOUT)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(path + ":5:", r.stderr)
        self.assertIn("does not match certificate", r.stderr)
        # So is an expired certificate; `start` refuses it the same way.
        path = self.tls_config("expired.pem", "expired.key")
        r = subprocess.run([WMAN, "check", "-c", path], capture_output=True, text=True,
                           timeout=TIMEOUT)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("expired on", r.stderr)
        p = self.start(path)
        self.assertEqual(p.wait(TIMEOUT), 1)
        self.assertIn("expired on", self.log_text())
        # One that expires within 30 days is accepted with a warning.
        path = self.tls_config("soon.pem", "soon.key")
        r = subprocess.run([WMAN, "check", "-c", path], capture_output=True, text=True,
                           timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(path + ":5: warning:", r.stderr)
        self.assertIn("expires on", r.stderr)

    def test_start_refuses_bad_config(self):
        path = self.write_config(f'[daemon]\nrun_dir = "{self.dir.name}"\nlog_levle = "info"\n')
        p = self.start(path)
        self.assertEqual(p.wait(TIMEOUT), 1)
        self.assertIn(path + ":3:", self.log_text())

    def test_serves_text_and_frame_then_stops_on_sigterm(self):
        p = self.start(self.two_worker_config())
        with wait_for_port(self.text_port, p) as t:
            t.sendall(b"hi\n")
            self.assertEqual(recv_exactly(t, 3), b"hi\n")
        with wait_for_port(self.frame_port, p) as f:
            f.sendall(struct.pack(">I", 9) + b"hello")
            self.assertEqual(recv_exactly(f, 9), struct.pack(">I", 9) + b"hello")
            idle = wait_for_port(self.text_port, p)
            # One round trip first: a connection still in the listen queue when the
            # listener closes is reset by the kernel, not closed by wman.
            idle.sendall(b"idle\n")
            self.assertEqual(recv_exactly(idle, 5), b"idle\n")
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(TIMEOUT), 0)
            # Open connections were closed, not abandoned.
            idle.settimeout(TIMEOUT)
            self.assertEqual(idle.recv(1), b"")
            idle.close()
        self.assertIn("stopped", self.log_text())

    def test_sigint_stops_with_status_zero(self):
        p = self.start(self.two_worker_config())
        wait_for_port(self.text_port, p).close()
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(TIMEOUT), 0)

    def test_port_in_use_fails_start(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            path = self.write_config(f'[daemon]\nrun_dir = "{self.dir.name}"\n[[worker]]\n'
                                     f'listen = "text://127.0.0.1:{port}"\napp = "echo"\n')
            p = self.start(path)
            self.assertEqual(p.wait(TIMEOUT), 1)
            self.assertIn("address already in use", self.log_text().lower())

    def test_unresolvable_host_fails_start_naming_the_host(self):
        # .invalid never resolves (RFC 6761), and fails without leaving the machine.
        path = self.write_config(f'[daemon]\nrun_dir = "{self.dir.name}"\n[[worker]]\n'
                                 f'name = "far"\nlisten = "text://no-such-host.invalid:{free_port()}"\n'
                                 f'app = "echo"\n')
        p = self.start(path)
        self.assertEqual(p.wait(TIMEOUT), 1)
        self.assertRegex(self.log_text(),
                         r"worker far: bind no-such-host\.invalid:\d+: "
                         r"cannot resolve host 'no-such-host\.invalid': \S")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])

"""Shared helpers of the interop tests: a wman instance serving websocket:// (or other) echo
workers (built on tests/process/wman_harness.py), payload generators, a small raw-socket
WebSocket client for the protocol violations real clients refuse to send, and TLS helpers
(throwaway certificates from scripts/gen_test_certs, an `openssl s_client` driver,
certificate fingerprints, a line client over Python's ssl).

Runs with Debian's /usr/bin/python3 (python3-websockets lives there).
"""
import base64
import hashlib
import os
import random
import re
import select
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "process"))
from wman_harness import (WAIT, LineClient, Wman, free_port, pid_alive,  # noqa: E402,F401
                          wait_until)  # (re-exported)

MiB = 1024 * 1024
# The echo sizes every client runs: around the 7-bit / 16-bit / 64-bit length encodings,
# 1 MiB, and exactly the default max_message_size (16 MiB).
ECHO_SIZES = [0, 1, 125, 126, 65535, 65536, MiB, 16 * MiB]
DEFAULT_MAX_MESSAGE = 16 * MiB


def require_node():
    """The path of `node`, after checking that it and the repo's npm `ws` are installed."""
    node = shutil.which("node")
    if not node:
        raise AssertionError("node is not on PATH (scripts/deps installs nodejs)")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "ws")):
        raise AssertionError("tests/interop/node_modules/ws is missing: run scripts/deps "
                             "(npm ci --prefix tests/interop)")
    return node


def toml_str(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def ws_config(run_dir, workers, log_file, daemon=None):
    """Config text for echo workers (websocket:// unless told otherwise). `workers`: list of
    dicts with name, port, and optional `scheme` (default "websocket"), `transport`, and
    `limits` / `websocket` / `tls` dicts of TOML literal texts, e.g.
    {"permessage_deflate": "true", "max_message_size": '"1MiB"'}, plus `sni`: a list of such
    dicts, one per [[worker.tls.sni]]. `daemon`: extra [daemon] keys (TOML literal texts)."""
    lines = ["[daemon]",
             "run_dir = %s" % toml_str(run_dir),
             "log_file = %s" % toml_str(log_file),
             'log_level = "info"',
             'stop_timeout = "2s"',
             'start_timeout = "10s"']
    lines += ["%s = %s" % kv for kv in (daemon or {}).items()]
    for w in workers:
        lines += ["", "[[worker]]",
                  "name = %s" % toml_str(w["name"]),
                  'listen = "%s://127.0.0.1:%d"' % (w.get("scheme", "websocket"), w["port"]),
                  'app = "echo"',
                  "count = 1"]
        if w.get("transport"):
            lines.append("transport = %s" % toml_str(w["transport"]))
        for table in ("limits", "websocket", "tls"):
            if w.get(table):
                lines.append("[worker.%s]" % table)
                lines += ["%s = %s" % kv for kv in w[table].items()]
        for entry in w.get("sni", ()):
            lines.append("[[worker.tls.sni]]")
            lines += ["%s = %s" % kv for kv in entry.items()]
    return "\n".join(lines) + "\n"


def start_echo_wman(binary, workers, daemon=None):
    """Starts wman (daemonized) with the echo `workers` (see ws_config; a free port is filled
    in for each) and returns the Wman once every worker is ready. The caller must call
    cleanup() (it kills every process and returns the sanitizer reports)."""
    w = Wman(os.path.abspath(binary), "echo")
    try:
        for spec in workers:
            spec.setdefault("port", free_port())
        w.write_config(None, raw=ws_config(w.dir, workers, w.log_path, daemon))
        w.start_daemon()
        for spec in workers:
            w.wait_settled(1, name=spec["name"])
    except BaseException:
        w.cleanup()
        raise
    return w


def stop_wman(wman, *dirs):
    """Tears down a wman of start_echo_wman, removes `dirs`, and fails if a sanitizer
    reported anything."""
    reports = wman.cleanup()
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    if reports:
        raise AssertionError("sanitizer reports:\n" + reports[:20000])


# ---- TLS ----------------------------------------------------------------------------------

GEN_TEST_CERTS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "scripts", "gen_test_certs")


def gen_test_certs(*dests):
    """Runs scripts/gen_test_certs into each of `dests` (concurrently; each gets its own fresh
    throwaway CA and certificates: ca.pem, server.pem/.key for localhost + 127.0.0.1,
    other.pem/.key for other.test, client.pem/.key, ...)."""
    procs = [subprocess.Popen([GEN_TEST_CERTS, d], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for d in dests]
    failed = []
    for d, p in zip(dests, procs):
        out, _ = p.communicate(timeout=120)
        if p.returncode != 0:
            failed.append("gen_test_certs %s failed (%d): %s" % (d, p.returncode, out))
    if failed:
        raise AssertionError("\n".join(failed))


def tls_table(certs, name="server", **extra):
    """A [worker.tls] dict (TOML literal texts) for `certs`/NAME.pem + NAME.key, plus `extra`
    keys given as Python values (str, bool, list of str)."""
    table = {"cert": toml_str(os.path.join(certs, name + ".pem")),
             "key": toml_str(os.path.join(certs, name + ".key"))}
    for k, v in extra.items():
        if isinstance(v, bool):
            table[k] = "true" if v else "false"
        elif isinstance(v, (list, tuple)):
            table[k] = "[%s]" % ", ".join(toml_str(x) for x in v)
        else:
            table[k] = toml_str(v)
    return table


def pem_fingerprint(pem):
    """SHA-256 fingerprint (openssl's "AA:BB:..." form) of the first certificate in `pem` (a
    file path or PEM text), computed by `openssl x509`."""
    if "-----BEGIN" in pem:
        r = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=pem,
                           capture_output=True, text=True, timeout=WAIT)
    else:
        r = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", pem],
                           capture_output=True, text=True, timeout=WAIT)
    if r.returncode != 0:
        raise AssertionError("openssl x509 failed: %s" % r.stderr)
    return r.stdout.strip().split("=", 1)[1]


class SClient:
    """`openssl s_client -brief` connected to 127.0.0.1:PORT, driven line by line through its
    stdin/stdout. stderr (the -brief summary, errors, alerts) goes to a file; finish() closes
    stdin (s_client then sends close_notify and exits) and returns (returncode, stderr)."""

    def __init__(self, port, *args):
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-brief", "-no_ign_eof",
             *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err)
        self.buf = b""
        self.eof = False

    def echo(self, line, timeout=WAIT):
        """Sends `line` and returns the next line received (without its newline), or None when
        s_client ends (handshake or session failed) before a whole line arrived."""
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        end = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            if self.eof:
                return None
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("s_client: no answer to %r within %.0f s" % (line, timeout))
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                self.buf += chunk
                self.eof = not chunk
        out, _, self.buf = self.buf.partition(b"\n")
        return out.decode()

    def finish(self, timeout=WAIT):
        """Closes stdin, waits for s_client to exit; returns (returncode, stderr text)."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("s_client did not exit within %.0f s" % timeout)
        finally:
            self.proc.stdout.close()
        self.err.seek(0)
        text = self.err.read()
        self.err.close()
        return self.proc.returncode, text

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except (BrokenPipeError, OSError):
                pass
        self.err.close()


def s_client_peer_cert(port, *args):
    """Runs `openssl s_client` (stdin empty: it handshakes, then closes) and returns
    (returncode, SHA-256 fingerprint of the certificate the server presented or None, output)."""
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, *args],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=WAIT)
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", r.stdout, re.S)
    return r.returncode, pem_fingerprint(m.group(0)) if m else None, r.stdout + r.stderr


def tls_client_context(cafile):
    """An ssl client context trusting only `cafile`, checking the host name."""
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)


class TlsLineClient(LineClient):
    """LineClient over TLS (Python's ssl), verifying the server against `cafile`."""

    def __init__(self, port, cafile, timeout=WAIT, server_hostname="localhost"):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            self.sock = tls_client_context(cafile).wrap_socket(raw,
                                                               server_hostname=server_hostname)
        except BaseException:
            raw.close()
            raise
        self.buf = b""

    def peer_fingerprint(self):
        digest = hashlib.sha256(self.sock.getpeercert(binary_form=True)).hexdigest().upper()
        return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


# ---- payloads -----------------------------------------------------------------------------

_UTF8_UNIT = "a\u00e9\u20ac\U0001F600"  # 1 + 2 + 3 + 4 bytes of UTF-8


def text_of_size(n):
    """A str whose UTF-8 encoding is exactly `n` bytes, mostly multi-byte characters."""
    unit_bytes = len(_UTF8_UNIT.encode())
    s = _UTF8_UNIT * (n // unit_bytes)
    s += "x" * (n - len(s.encode()))
    assert len(s.encode()) == n
    return s


def binary_of_size(n, seed=0):
    """`n` pseudo-random bytes (incompressible, reproducible)."""
    return random.Random(seed + n).randbytes(n)


# ---- raw-socket client ----------------------------------------------------------------------

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class RawWs:
    """A blocking, deliberately naive RFC 6455 client: sends exactly the frames it is told to
    (masked unless told otherwise), so tests can send what a conforming client would not."""

    def __init__(self, port, timeout=WAIT, extensions=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n" % (port, key))
        if extensions:
            req += "Sec-WebSocket-Extensions: %s\r\n" % extensions
        self.sock.sendall((req + "\r\n").encode())
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        status = head.split("\r\n", 1)[0]
        if " 101 " not in status + " ":
            raise AssertionError("handshake refused: %r" % head)
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        if ("sec-websocket-accept: %s" % accept.lower()) not in head.lower():
            raise AssertionError("bad Sec-WebSocket-Accept in %r" % head)
        self.response_head = head

    def _read_until(self, marker):
        while marker not in self.buf:
            self._fill()
        out, _, self.buf = self.buf.partition(marker)
        return out

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("server closed the TCP connection")
        self.buf += chunk

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_frame(self, opcode, payload=b"", fin=True, rsv1=False, mask=True):
        b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
        n = len(payload)
        mbit = 0x80 if mask else 0
        if n < 126:
            head = struct.pack("!BB", b0, mbit | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, mbit | 126, n)
        else:
            head = struct.pack("!BBQ", b0, mbit | 127, n)
        if mask:
            key = os.urandom(4)
            k = int.from_bytes((key * (n // 4 + 1))[:n], "big")
            payload = (int.from_bytes(payload, "big") ^ k).to_bytes(n, "big") if n else b""
            head += key
        self.sock.sendall(head + payload)

    def send_close(self, code=None, reason=b""):
        self.send_frame(OP_CLOSE, b"" if code is None else struct.pack("!H", code) + reason)

    def read_frame(self):
        """(fin, opcode, payload) of the next frame; fails on a masked server frame."""
        b0, b1 = self._take(2)
        if b1 & 0x80:
            raise AssertionError("server sent a masked frame")
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._take(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._take(8))[0]
        return bool(b0 & 0x80), b0 & 0x0F, self._take(n)

    def read_close(self):
        """Reads frames until a Close; returns (code, reason bytes) or (None, b"") for an
        empty Close. Raises EOFError if the TCP connection ends first."""
        while True:
            _, op, payload = self.read_frame()
            if op == OP_CLOSE:
                if not payload:
                    return None, b""
                return struct.unpack("!H", payload[:2])[0], payload[2:]

    def closed_by_server(self):
        """True once the server ends the TCP connection (EOF or reset) within the socket
        timeout; data still arriving before that is discarded."""
        try:
            while self.sock.recv(65536):
                pass
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

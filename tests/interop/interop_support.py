"""Shared helpers of the interop tests: a wman instance serving websocket:// echo workers
(built on tests/process/wman_harness.py), payload generators, and a small raw-socket
WebSocket client for the protocol violations real clients refuse to send.

Runs with Debian's /usr/bin/python3 (python3-websockets lives there).
"""
import base64
import hashlib
import os
import random
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "process"))
from wman_harness import WAIT, Wman, free_port, pid_alive  # noqa: E402,F401  (re-exported)

MiB = 1024 * 1024
# The echo sizes every client runs: around the 7-bit / 16-bit / 64-bit length encodings,
# 1 MiB, and exactly the default max_message_size (16 MiB).
ECHO_SIZES = [0, 1, 125, 126, 65535, 65536, MiB, 16 * MiB]
DEFAULT_MAX_MESSAGE = 16 * MiB


def toml_str(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def ws_config(run_dir, workers, log_file):
    """Config text for websocket echo workers. `workers`: list of dicts with name, port,
    and optional `websocket` / `limits` dicts of TOML literal texts, e.g.
    {"permessage_deflate": "true", "max_message_size": '"1MiB"'}."""
    lines = ["[daemon]",
             "run_dir = %s" % toml_str(run_dir),
             "log_file = %s" % toml_str(log_file),
             'log_level = "info"',
             'stop_timeout = "2s"',
             'start_timeout = "10s"']
    for w in workers:
        lines += ["", "[[worker]]",
                  "name = %s" % toml_str(w["name"]),
                  'listen = "websocket://127.0.0.1:%d"' % w["port"],
                  'app = "echo"',
                  "count = 1"]
        for table in ("limits", "websocket"):
            if w.get(table):
                lines.append("[worker.%s]" % table)
                lines += ["%s = %s" % kv for kv in w[table].items()]
    return "\n".join(lines) + "\n"


def start_echo_wman(binary, workers):
    """Starts wman (daemonized) with the websocket echo `workers` (see ws_config; a free port
    is filled in for each) and returns the Wman once every worker is ready. The caller must
    call cleanup() (it kills every process and returns the sanitizer reports)."""
    w = Wman(os.path.abspath(binary), "echo")
    try:
        for spec in workers:
            spec.setdefault("port", free_port())
        w.write_config(None, raw=ws_config(w.dir, workers, w.log_path))
        w.start_daemon()
        for spec in workers:
            w.wait_settled(1, name=spec["name"])
    except BaseException:
        w.cleanup()
        raise
    return w


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

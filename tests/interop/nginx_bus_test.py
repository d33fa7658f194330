#!/usr/bin/python3
"""Interop: Debian's nginx as the WebSocket reverse proxy in front of two wman nodes running
the built-in chat app (websocket://), linked by one redis-server. nginx sends /a to node A
and /b to node B; a python3-websockets client on A takes the nick "ann", a client on B sends
"/msg ann hello", and the client on A receives "... (private): hello".

Everything (nginx, redis-server, both wman) runs from temp dirs on free loopback ports and
is stopped by pid.

usage: nginx_bus_test.py WMAN_BINARY [unittest args]
"""
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_support import (WAIT, Wman, free_port, stop_wman, toml_str,  # noqa: E402
                             wait_until)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "process"))
from bus_cluster_test import RedisServer  # noqa: E402

import websockets  # noqa: E402  (Debian's python3-websockets)

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"
NGINX = "/usr/sbin/nginx"

# The proxy: one upstream per node, WebSocket upgrade passed through (HTTP/1.1, Upgrade and
# Connection headers), long read timeout so idle chat connections stay open.
NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/tmp/body;
  proxy_temp_path {dir}/tmp/proxy;
  fastcgi_temp_path {dir}/tmp/fastcgi;
  uwsgi_temp_path {dir}/tmp/uwsgi;
  scgi_temp_path {dir}/tmp/scgi;

  map $http_upgrade $connection_upgrade {{
    default upgrade;
    ''      close;
  }}
  upstream wman_a {{ server 127.0.0.1:{port_a}; }}
  upstream wman_b {{ server 127.0.0.1:{port_b}; }}

  server {{
    listen 127.0.0.1:{port};
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_read_timeout 1h;
    proxy_send_timeout 1h;

    location /a {{ proxy_pass http://wman_a; }}
    location /b {{ proxy_pass http://wman_b; }}
  }}
}}
"""


def chat_config(w, node, port, redis_port):
    return "\n".join([
        "[daemon]",
        "run_dir = %s" % toml_str(w.dir),
        "log_file = %s" % toml_str(w.log_path),
        'log_level = "info"',
        'stop_timeout = "2s"',
        "[bus]",
        "node = %s" % toml_str(node),
        'redis = "redis://127.0.0.1:%d"' % redis_port,
        "[[worker]]",
        'name = "chat"',
        'listen = "websocket://127.0.0.1:%d"' % port,
        'app = "chat"',
        "count = 2",
        ""])


class Nginx:
    def __init__(self, port_a, port_b):
        if not os.access(NGINX, os.X_OK):
            raise unittest.SkipTest("%s is not installed (scripts/deps installs nginx-light)"
                                    % NGINX)
        self.dir = tempfile.mkdtemp(prefix="wman-nginx-")
        os.makedirs(os.path.join(self.dir, "tmp"))
        self.port = free_port()
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, port=self.port, port_a=port_a,
                                      port_b=port_b))
        self.proc = None

    def start(self):
        err = os.path.join(self.dir, "error.log")
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", self.conf, "-e", err],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_until(lambda: self.proc.poll() is not None or self.listening(),
                   what="nginx to listen")
        if self.proc.poll() is not None:
            raise AssertionError("nginx exited %d:\n%s" % (self.proc.returncode, self.log()))

    def listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def log(self):
        try:
            with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            # SIGQUIT: graceful stop of master and worker; the worker is its child.
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class NginxBusTest(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer()
        self.addCleanup(self.redis.cleanup)
        self.redis.start()
        self.nodes = []
        ports = []
        for name in ("a", "b"):
            w = Wman(WMAN, "chat")
            self.nodes.append(w)
            self.addCleanup(stop_wman, w)
            port = free_port()
            ports.append(port)
            w.write_config(None, raw=chat_config(w, name, port, self.redis.port))
            w.start_daemon()
            w.wait_settled(2, name="chat")
        for w in self.nodes:
            wait_until(lambda: w.status()["bus"].get("stats", {}).get("redis") == "up",
                       what="the bus of %s to reach redis" % w.dir)
        self.nginx = Nginx(*ports)
        self.addCleanup(self.nginx.cleanup)
        self.nginx.start()

    def url(self, path):
        return "ws://127.0.0.1:%d%s" % (self.nginx.port, path)

    def test_private_message_crosses_nodes_through_nginx(self):
        async def scenario():
            connect = dict(ping_interval=None, open_timeout=WAIT, close_timeout=WAIT)
            async with websockets.connect(self.url("/a"), **connect) as ann, \
                    websockets.connect(self.url("/b"), **connect) as bea:
                await ann.send("/nick ann")
                # The bind is announced to the room once made; after it, wait until the
                # uid's channel has node A as a subscriber.
                while "is now ann" not in await ann.recv():
                    pass
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: wait_until(lambda: self.redis.numsub("wman:uid:ann") == 1,
                                             what="node a to subscribe to uid ann"))
                await bea.send("/msg ann hello")
                while True:
                    text = await ann.recv()
                    if "(private)" in text:
                        return text

        text = asyncio.run(asyncio.wait_for(scenario(), 3 * WAIT))
        self.assertRegex(text, r"^guest[0-9-]+ \(private\): hello$")
        self.assertIn('"GET /a HTTP/1.1" 101', self.access_log())
        self.assertIn('"GET /b HTTP/1.1" 101', self.access_log())

    def access_log(self):
        # nginx writes an access line when the upgraded connection ends: after the clients
        # closed above; give it the moment it needs.
        path = os.path.join(self.nginx.dir, "access.log")

        def text():
            try:
                with open(path) as f:
                    return f.read()
            except OSError:
                return ""
        return wait_until(lambda: (lambda t: t if t.count(" 101 ") >= 2 else None)(text()),
                          what="two 101 lines in nginx's access log")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])

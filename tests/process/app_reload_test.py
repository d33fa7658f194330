#!/usr/bin/python3
"""App modules and code reload, the way a developer works: build a module, start wman with
it, edit the source, rebuild in place, `wman reload`. New connections get the new code while
a client loop sees zero failed connects; a module that throws in init, cannot be loaded or
has no entry point fails the reload with the reason and the old code keeps serving.

The module is compiled here with the same compiler as the build, against the headers of
this source tree; it links nothing of wman (symbols resolve against the running wman).

usage: app_reload_test.py WMAN_BINARY CXX SOURCE_DIR
"""
import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wman_harness import WAIT, LineClient, Wman, free_port, wait_until  # noqa: E402

WMAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/wman"
CXX = sys.argv[2] if len(sys.argv) > 2 else "c++"
SOURCE = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else "."

IO_TIMEOUT = 5.0

# The app: "<version>:<line>" back for every line, and "<version>:<greeting option>" for
# "hello". VERSION and INIT are filled in per build.
APP_SOURCE = r"""
#include <stdexcept>
#include <string>

#include "wman/app_module.h"

extern "C" void wman_test_missing_symbol();

namespace {

void setup(wman::Worker& w) {
  %(init)s
  std::string greeting = "hi";
  auto it = w.options.find("greeting");
  if (it != w.options.end()) greeting = it->second.text;
  w.onMessage = [greeting](wman::Connection& c, wman::Message m) {
    if (m.view() == "hello") {
      c.send(std::string("%(version)s:") + greeting);
    } else {
      c.send(std::string("%(version)s:") + std::string(m.view()));
    }
  };
}

}  // namespace

%(entry)s
"""


class ClientLoop:
    """Threads that connect, send one line, read the answer, close, and repeat, counting
    answers per version and every failure (refused connect, timeout, wrong answer)."""

    def __init__(self, port, threads=3):
        self.port = port
        self.cond = threading.Condition()
        self.running = True
        self.versions = {}
        self.server_closed = 0
        self.failures = []
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def run(self):
        n = 0
        while True:
            with self.cond:
                if not self.running:
                    return
            n += 1
            try:
                c = LineClient(self.port, timeout=IO_TIMEOUT)
            except Exception as e:  # noqa: BLE001 - a refused or slow connect is the failure
                with self.cond:
                    self.failures.append("connect: %r" % e)
                    self.cond.notify_all()
                continue
            try:
                answer = c.ask("ping%d" % n)
            except (EOFError, ConnectionResetError, BrokenPipeError):
                # A plain reload closes the old generation's connections, one accepted just
                # before the swap included (a reset when our line was still unread). The
                # connect worked; the client would reconnect.
                with self.cond:
                    self.server_closed += 1
                continue
            except Exception as e:  # noqa: BLE001 - a timeout is a lost answer
                with self.cond:
                    self.failures.append("answer: %r" % e)
                    self.cond.notify_all()
                continue
            finally:
                c.close()
            version, _, rest = answer.partition(":")
            with self.cond:
                if rest != "ping%d" % n:
                    self.failures.append("wrong answer %r" % answer)
                self.versions[version] = self.versions.get(version, 0) + 1
                self.cond.notify_all()

    def wait_for(self, version, n, timeout=WAIT):
        with self.cond:
            target = self.versions.get(version, 0) + n
            ok = self.cond.wait_for(
                lambda: self.versions.get(version, 0) >= target or self.failures, timeout)
            return ok and not self.failures

    def stop(self):
        with self.cond:
            self.running = False
        for t in self.threads:
            t.join(IO_TIMEOUT * 3)


class AppReloadTest(unittest.TestCase):
    def setUp(self):
        self.w = Wman(WMAN, None)
        self.src = os.path.join(self.w.dir, "app.cpp")
        self.module = os.path.join(self.w.dir, "libapp.so")
        self.port = free_port()
        self.loop = None

    def tearDown(self):
        if self.loop:
            self.loop.stop()
        reports = self.w.cleanup()
        self.assertEqual(reports, "", "sanitizer reports:\n" + reports)

    def build(self, version, init="", entry="WMAN_APP(setup)"):
        """Writes the app source and rebuilds the module in place, as `make` would."""
        with open(self.src, "w") as f:
            f.write(APP_SOURCE % dict(version=version, init=init, entry=entry))
        cmd = [CXX, "-std=c++20", "-shared", "-fPIC", "-O1",
               "-I", os.path.join(SOURCE, "core/include"),
               "-I", os.path.join(SOURCE, "config/include"),
               "-I", os.path.join(SOURCE, "protocols/include"),
               self.src, "-o", self.module]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, "module build failed:\n" + r.stderr)

    def write_config(self):
        self.w.write_config([dict(name="app", port=self.port, count=2, app=self.module,
                                  options={"greeting": '"welcome"'})])

    def answer(self, line):
        with LineClient(self.port) as c:
            return c.ask(line)

    def reload_fails_with(self, reason):
        r = self.w.cli("reload")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("old workers keep serving", r.stderr)
        self.assertIn(reason, r.stderr)

    def test_reload_runs_new_code_and_a_broken_module_keeps_the_old(self):
        self.build("v1")
        self.write_config()
        self.w.start_daemon()
        self.assertEqual(self.answer("hello"), "v1:welcome")
        self.loop = ClientLoop(self.port)
        self.assertTrue(self.loop.wait_for("v1", 20), self.loop.failures)

        # Edit, rebuild in place, reload: new connections run the new code.
        self.build("v2")
        r = self.w.cli("reload")
        self.assertEqual(r.returncode, 0, r.stderr + self.w.log_tail())
        for _ in range(10):
            self.assertEqual(self.answer("hello"), "v2:welcome")
        self.assertTrue(self.loop.wait_for("v2", 20), self.loop.failures)

        # Init throws: the reload fails with its message, v2 keeps serving.
        self.build("v3", init='throw std::runtime_error("database unreachable");')
        self.reload_fails_with("init threw: database unreachable")
        self.assertEqual(self.answer("hello"), "v2:welcome")
        self.assertTrue(self.loop.wait_for("v2", 20), self.loop.failures)

        # A module that cannot be loaded (a symbol nothing defines): the loader's reason.
        self.build("v4", init="wman_test_missing_symbol();")
        self.reload_fails_with("undefined symbol: wman_test_missing_symbol")
        self.assertEqual(self.answer("hello"), "v2:welcome")

        # No WMAN_APP entry point.
        self.build("v5", entry="")
        self.reload_fails_with("no WMAN_APP entry point")
        self.assertEqual(self.answer("hello"), "v2:welcome")

        # Not a shared object at all.
        with open(self.module, "w") as f:
            f.write("not an ELF file\n")
        self.reload_fails_with(self.module)
        self.assertEqual(self.answer("hello"), "v2:welcome")

        # Fixed again: the next reload runs it.
        self.build("v6")
        r = self.w.cli("reload")
        self.assertEqual(r.returncode, 0, r.stderr + self.w.log_tail())
        self.assertEqual(self.answer("hello"), "v6:welcome")
        self.assertTrue(self.loop.wait_for("v6", 20), self.loop.failures)

        self.loop.stop()
        print("\nclient loop: answers per version %s, closed by a retiring worker %d, "
              "failures %d" % (dict(sorted(self.loop.versions.items())),
                               self.loop.server_closed, len(self.loop.failures)),
              file=sys.stderr)
        self.assertEqual(self.loop.failures, [], "failed connects or answers during reloads")
        self.assertGreater(self.loop.versions.get("v1", 0), 0)
        self.assertNotIn("v3", self.loop.versions)
        # App code lives in the workers only: the master never maps the module.
        doc = self.w.status()
        self.assertEqual(doc["last_reload"]["ok"], True)
        with open("/proc/%d/maps" % doc["pid"]) as f:
            self.assertNotIn(self.module, f.read())
        with open("/proc/%d/maps" % doc["workers"][0]["pid"]) as f:
            self.assertIn(self.module, f.read())
        r = self.w.cli("stop")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_start_with_a_broken_module_fails_with_the_reason(self):
        self.build("v1", init='throw std::runtime_error("missing option");')
        self.write_config()
        r = self.w.cli("start", "-d")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("init threw: missing option", r.stderr + self.w.log_text())
        wait_until(lambda: not os.path.exists(self.w.sock_path), what="the master to exit")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

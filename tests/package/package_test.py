#!/usr/bin/python3
"""The SDK and the .deb, used the way a user would, from a build tree that is already built.

sdk: `cmake --install` into a temp prefix; every installed header compiles on its own;
     examples/app builds out of tree twice (CMake + find_package, make + pkg-config); the
     installed wman (no LD_LIBRARY_PATH: its RPATH must find libwman.so) serves both modules
     in the foreground, proving each answers with its own greeting, and every process maps
     the one installed libwman.so.
deb: `cpack -G DEB` into a temp dir; the contents, control fields (no -dev Depends) and
     conffiles are right; the extracted wman runs from any root by its RPATH.

usage: package_test.py {sdk|deb} --build DIR --source DIR --cmake CMAKE --cpack CPACK
                       --cxx CXX --version X.Y.Z
Debian's python3, standard library only.
"""
import argparse
import glob
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

ARGS = None
# The process tests' helpers: a free port, a text:// line client.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "process"))
from wman_harness import LineClient, free_port  # noqa: E402

WAIT = 60.0  # ASan builds are ~3x slower; every wait is bounded but generous
BUILD_TIMEOUT = 300


def run(cmd, env=None, cwd=None, timeout=BUILD_TIMEOUT):
    """Runs `cmd`; returns its stdout; fails the test with its output if it fails."""
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(cmd), r.returncode, r.stdout,
                                                        r.stderr))
    return r.stdout


def clean_env(**extra):
    """The environment without anything that could find libwman.so besides the RPATH."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_LIBRARY_PATH", "LD_PRELOAD", "PKG_CONFIG_PATH", "CMAKE_PREFIX_PATH",
                        "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES")}
    env.update(extra)
    return env


def public_headers(source):
    """Names of the public headers in the source tree (what include/wman/ must hold)."""
    names = set()
    for part in ("core", "config", "protocols"):
        names.update(os.path.basename(p)
                     for p in glob.glob(os.path.join(source, part, "include", "wman", "*.h")))
    return names


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] not in ("Z", "X")


def mapped_libwman(pid):
    """Real paths of every libwman.so* file that process `pid` maps."""
    with open("/proc/%d/maps" % pid) as f:
        return {os.path.realpath(line.split(None, 5)[5].strip())
                for line in f if len(line.split(None, 5)) == 6 and "/libwman.so" in line}


class Sdk(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wman-sdk-")
        self.prefix = os.path.join(self.tmp, "prefix")
        self.proc = None
        self.pids = set()

    def tearDown(self):
        # The master first (its workers die with it, PR_SET_PDEATHSIG), then any straggler.
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()
        for pid in self.pids:
            if pid_alive(pid) and os.path.realpath("/proc/%d/exe" % pid) == self.wman_path():
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def wman_path(self):
        return os.path.realpath(os.path.join(self.prefix, "bin", "wman"))

    def test_install_build_an_app_module_out_of_tree_and_serve_it(self):
        run([ARGS.cmake, "--install", ARGS.build, "--prefix", self.prefix])
        pc = glob.glob(os.path.join(self.prefix, "lib*", "**", "pkgconfig", "wman.pc"),
                       recursive=True)
        self.assertEqual(len(pc), 1, "expected one wman.pc under the prefix")
        with open(pc[0]) as f:
            self.assertIn("prefix=%s\n" % self.prefix, f.read())
        self.assertEqual(set(os.listdir(os.path.join(self.prefix, "include", "wman"))),
                         public_headers(ARGS.source))
        self.assertTrue(os.path.isfile(os.path.join(self.prefix, "etc", "wman", "wman.toml")))

        # Each public header stands alone with only the installed include dir.
        for header in sorted(os.listdir(os.path.join(self.prefix, "include", "wman"))):
            r = subprocess.run([ARGS.cxx, "-std=c++20", "-fsyntax-only", "-I",
                                os.path.join(self.prefix, "include"), "-x", "c++", "-"],
                               input='#include "wman/%s"\n' % header, capture_output=True,
                               text=True, timeout=BUILD_TIMEOUT)
            self.assertEqual(r.returncode, 0, "wman/%s alone:\n%s" % (header, r.stderr))

        app_src = os.path.join(ARGS.source, "examples", "app")
        env = clean_env()
        # 1. CMake: find_package(wman) with the prefix on CMAKE_PREFIX_PATH.
        cmake_dir = os.path.join(self.tmp, "cmake-build")
        run([ARGS.cmake, "-S", app_src, "-B", cmake_dir, "-DCMAKE_PREFIX_PATH=" + self.prefix,
             "-DCMAKE_CXX_COMPILER=" + ARGS.cxx], env=env)
        run([ARGS.cmake, "--build", cmake_dir], env=env)
        cmake_module = os.path.join(cmake_dir, "libgreeter.so")
        # 2. make + pkg-config, in a copy: the source tree stays clean.
        make_dir = os.path.join(self.tmp, "make-build")
        os.mkdir(make_dir)
        for name in ("app.cpp", "Makefile"):
            shutil.copy(os.path.join(app_src, name), make_dir)
        run(["make", "CXX=" + ARGS.cxx], cwd=make_dir,
            env=clean_env(PKG_CONFIG_PATH=os.path.dirname(pc[0])))
        make_module = os.path.join(make_dir, "libgreeter.so")

        # The installed wman serves both modules; each proves itself by its greeting.
        ports = {"cmake": free_port(), "make": free_port()}
        run_dir = os.path.join(self.tmp, "run")
        config = os.path.join(self.tmp, "wman.toml")
        with open(config, "w") as f:
            f.write('[daemon]\nrun_dir = "%s"\nstop_timeout = "5s"\ndrain_timeout = "5s"\n'
                    % run_dir)
            for name, module in (("cmake", cmake_module), ("make", make_module)):
                f.write('\n[[worker]]\nname = "greeter-%s"\nlisten = "text://127.0.0.1:%d"\n'
                        'app = "%s"\ncount = 1\n[worker.options]\ngreeting = "built by %s"\n'
                        % (name, ports[name], module, name))
        run([self.wman_path(), "check", "-c", config], env=env)

        # Play the service manager: READY=1 on NOTIFY_SOCKET says every worker accepts.
        notify_path = os.path.join(self.tmp, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        run_env = clean_env(NOTIFY_SOCKET=notify_path)
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):  # sanitizer builds: reports to files
            run_env[var] = (run_env[var] + ":" if run_env.get(var) else "") + \
                "log_path=%s/sanitizer" % self.tmp
        log_path = os.path.join(self.tmp, "wman.log")
        with open(log_path, "w") as log:
            self.proc = subprocess.Popen([self.wman_path(), "start", "-c", config], stdout=log,
                                         stderr=subprocess.STDOUT, env=run_env)
        self.pids.add(self.proc.pid)
        try:
            self.wait_ready(notify)
        finally:
            notify.close()

        status = json.loads(run([self.wman_path(), "status", "--json", "-c", config], env=env))
        workers = [w["pid"] for w in status["workers"]]
        self.pids.update(workers)
        self.assertEqual(len(workers), 2)

        for name, port in ports.items():
            c = LineClient(port, timeout=WAIT)
            try:
                self.assertEqual(c.read_line(), "built by %s" % name)
                self.assertEqual(c.ask("hello from the %s build" % name),
                                 "HELLO FROM THE %s BUILD" % name.upper())
                self.assertEqual(c.ask("/who"), "1 connected")
            finally:
                c.close()

        # One libwman.so in every process, the installed one: the binary found it by its
        # RPATH and the modules bound to that same copy.
        installed = os.path.realpath(glob.glob(os.path.join(os.path.dirname(pc[0]), "..",
                                                            "libwman.so"))[0])
        for pid in [self.proc.pid] + workers:
            self.assertEqual(mapped_libwman(pid), {installed}, "pid %d" % pid)

        self.proc.send_signal(signal.SIGTERM)  # graceful stop, as systemd would
        self.assertEqual(self.proc.wait(timeout=WAIT), 0, self.log_text(log_path))
        reports = "".join(open(p, errors="replace").read()
                          for p in glob.glob(os.path.join(self.tmp, "sanitizer*")))
        self.assertEqual(reports, "", "sanitizer reports:\n" + reports)

    def wait_ready(self, notify):
        """Waits for READY=1 (or the master's exit) without polling."""
        pidfd = os.pidfd_open(self.proc.pid)
        try:
            while True:
                readable, _, _ = select.select([notify, pidfd], [], [], WAIT)
                if not readable:
                    raise AssertionError("no READY=1 within %.0f s" % WAIT)
                if pidfd in readable:
                    raise AssertionError("wman exited (%s) before READY=1:\n%s" % (
                        self.proc.wait(), self.log_text(os.path.join(self.tmp, "wman.log"))))
                if "READY=1" in notify.recv(65536).decode().split("\n"):
                    return
        finally:
            os.close(pidfd)

    @staticmethod
    def log_text(path):
        with open(path, errors="replace") as f:
            return f.read()[-4000:]


class Deb(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wman-deb-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_cpack_deb_contents_depends_and_relocated_run(self):
        out = os.path.join(self.tmp, "out")
        run([ARGS.cpack, "-G", "DEB", "-B", out, "--config",
             os.path.join(ARGS.build, "CPackConfig.cmake")], cwd=ARGS.build)
        arch = run(["dpkg", "--print-architecture"]).strip()
        deb = os.path.join(out, "wman_%s_%s.deb" % (ARGS.version, arch))
        self.assertTrue(os.path.isfile(deb), "no %s in %s" % (os.path.basename(deb),
                                                               os.listdir(out)))

        # Contents: paths as dpkg-deb -c lists them, "./usr/bin/wman" -> "usr/bin/wman".
        paths = set()
        for line in run(["dpkg-deb", "-c", deb]).splitlines():
            path = line.split(None, 5)[5].split(" -> ")[0]
            paths.add(path[2:].rstrip("/"))
        for required in (r"usr/bin/wman", r"usr/lib/(.+/)?libwman\.so\.%s" % re.escape(
                ARGS.version), r"usr/lib/(.+/)?libwman\.so", r"usr/include/wman/worker\.h",
                r"usr/lib/(.+/)?cmake/wman/wmanConfig\.cmake",
                r"usr/lib/(.+/)?cmake/wman/wmanConfigVersion\.cmake",
                r"usr/lib/(.+/)?cmake/wman/wmanTargets\.cmake",
                r"usr/lib/(.+/)?pkgconfig/wman\.pc", r"etc/wman/wman\.toml",
                r"lib/systemd/system/wman\.service", r"lib/systemd/system/wman\.socket",
                r"usr/share/wman/demo/index\.html", r"usr/share/doc/wman/README\.md",
                r"usr/share/doc/wman/examples/app/app\.cpp"):
            self.assertTrue(any(re.fullmatch(required, p) for p in paths),
                            "%s missing from the .deb:\n%s" % (required, "\n".join(sorted(paths))))
        headers = {p[len("usr/include/wman/"):] for p in paths
                   if p.startswith("usr/include/wman/")}
        self.assertEqual(headers, public_headers(ARGS.source))
        for p in paths:
            self.assertFalse(p.startswith("usr/etc") or p.startswith("usr/local"), p)
            self.assertFalse(p.endswith(".a"), "static library in the .deb: " + p)
            self.assertNotRegex(os.path.basename(p), r"^(test_|unit_|integration_|bench|fuzz_)|"
                                r"loadgen|example_", "test/bench/example file: " + p)

        # Control: a real maintainer and description; Depends only runtime libraries.
        fields = {k: run(["dpkg-deb", "-f", deb, k]).strip()
                  for k in ("Package", "Version", "Architecture", "Maintainer", "Description",
                            "Depends")}
        self.assertEqual(fields["Package"], "wman")
        self.assertEqual(fields["Version"], ARGS.version)
        self.assertEqual(fields["Architecture"], arch)
        self.assertRegex(fields["Maintainer"], r".+ <.+@.+>")
        self.assertTrue(fields["Description"])
        depends = [d.strip().split()[0] for d in fields["Depends"].split(",") if d.strip()]
        for name in ("libc6", "libuv1", "libssl3", "libstdc++6"):
            self.assertIn(name, depends, fields["Depends"])
        self.assertEqual([d for d in depends if d.endswith("-dev")], [], fields["Depends"])
        self.assertNotIn("wman", depends)
        conffiles = run(["dpkg-deb", "--info", deb, "conffiles"]).split()
        self.assertEqual(conffiles, ["/etc/wman/wman.toml"])

        # Extracted anywhere, usr/bin/wman finds its libwman.so by RPATH alone.
        root = os.path.join(self.tmp, "root")
        run(["dpkg-deb", "-x", deb, root])
        wman = os.path.join(root, "usr", "bin", "wman")
        r = subprocess.run([wman, "--version"], env=clean_env(), capture_output=True,
                           text=True, timeout=WAIT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "wman " + ARGS.version)
        ldd = run(["ldd", wman], env=clean_env())
        m = re.search(r"libwman\.so\S* => (\S+)", ldd)
        self.assertTrue(m, ldd)
        self.assertTrue(os.path.realpath(m.group(1)).startswith(os.path.realpath(root) + "/"),
                        ldd)
        # The packaged config keeps its run_dir in the unit's RuntimeDirectory, and the
        # packaged binary accepts it.
        config = os.path.join(root, "etc", "wman", "wman.toml")
        with open(config) as f:
            self.assertRegex(f.read(), r'\nrun_dir = "/run/wman"\n')
        r = subprocess.run([wman, "check", "-c", config], env=clean_env(), capture_output=True,
                           text=True, timeout=WAIT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(glob.glob(os.path.join(root, "usr", "lib", "**", "wman.pc"),
                            recursive=True)[0]) as f:
            self.assertIn("prefix=/usr\n", f.read())


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("suite", choices=["sdk", "deb"])
    p.add_argument("--build", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--cmake", default="cmake")
    p.add_argument("--cpack", default="cpack")
    p.add_argument("--cxx", default="c++")
    p.add_argument("--version", required=True)
    ARGS = p.parse_args()
    ARGS.build = os.path.abspath(ARGS.build)
    ARGS.source = os.path.abspath(ARGS.source)
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Sdk if ARGS.suite == "sdk" else Deb)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()

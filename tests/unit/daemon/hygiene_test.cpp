// Daemon hygiene utilities, exercised with real processes: pid file locking across fork(),
// readiness reports from a child, wait statuses of real deaths, credential and limit changes.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "daemonize.h"
#include "exit_status.h"
#include "pid_file.h"
#include "privileges.h"

using namespace wman::daemon;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/wman-hygiene-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path, ignored); }
  std::error_code ignored;
};

// A pipe for synchronising with children: one byte means "go on", EOF means "the other side
// is gone". Never sleep to synchronise.
struct Pipe {
  int r = -1, w = -1;
  Pipe() { REQUIRE(::pipe2(&r, O_CLOEXEC) == 0); }
  ~Pipe() { closeRead(), closeWrite(); }
  void closeRead() { ::close(std::exchange(r, -1)); }
  void closeWrite() { ::close(std::exchange(w, -1)); }
  bool signal(char c = '!') { return ::write(w, &c, 1) == 1; }
  bool await() {
    char c;
    ssize_t n;
    while ((n = ::read(r, &c, 1)) < 0 && errno == EINTR) {
    }
    return n == 1;
  }
};

// A forked child that is always reaped: wait() returns its status, and a test that fails
// early kills it in the destructor instead of leaking it.
struct Child {
  pid_t pid = -1;
  Child() = default;
  template <typename F>
  explicit Child(F body) {
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) ::_exit(body());
  }
  int wait() {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
    return status;
  }
  ~Child() {
    if (pid > 0) ::kill(pid, SIGKILL), wait();
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

DaemonReadiness makeChannel() {
  std::error_code ec;
  DaemonReadiness channel = DaemonReadiness::create(ec);
  REQUIRE_FALSE(ec);
  REQUIRE(channel.valid());
  return channel;
}

std::string ourPidLine() {
  return std::to_string(::getpid()) + "\n";
}

}  // namespace

TEST_CASE("PidFile: acquire creates the directory, writes our pid, and readPid reports it") {
  TempDir dir;
  const std::string path = dir.path + "/run/sub/wman.pid";
  auto result = PidFile::acquire(path);
  REQUIRE(std::holds_alternative<PidFile>(result));
  CHECK(std::get<PidFile>(result).owner() == ::getpid());
  CHECK(slurp(path) == ourPidLine());
  CHECK(PidFile::readPid(path) == ::getpid());

  // flock() locks belong to open file descriptions, so even this process is locked out.
  auto second = PidFile::acquire(path);
  REQUIRE(std::holds_alternative<PidFileBusy>(second));
  CHECK(std::get<PidFileBusy>(second).pid == ::getpid());

  CHECK_FALSE(std::get<PidFile>(result).write(4242));
  CHECK(slurp(path) == "4242\n");
  CHECK(PidFile::readPid(path) == 4242);
}

TEST_CASE("PidFile: destruction unlinks the file and frees the lock") {
  TempDir dir;
  const std::string path = dir.path + "/wman.pid";
  {
    auto result = PidFile::acquire(path);
    REQUIRE(std::holds_alternative<PidFile>(result));
    PidFile moved = std::move(std::get<PidFile>(result));
    REQUIRE(exists(path));
  }
  CHECK_FALSE(exists(path));
  CHECK_FALSE(PidFile::readPid(path));
  CHECK(std::holds_alternative<PidFile>(PidFile::acquire(path)));
}

TEST_CASE("PidFile: a lock held by another process is busy, and readPid names that process") {
  TempDir dir;
  const std::string path = dir.path + "/wman.pid";
  Pipe ready, release;
  Child holder([&] {
    auto result = PidFile::acquire(path);
    if (!std::holds_alternative<PidFile>(result)) return 10;
    ready.signal();
    release.await();
    return 0;  // The PidFile goes out of scope here and unlinks.
  });
  ready.closeWrite();
  REQUIRE(ready.await());

  auto second = PidFile::acquire(path);
  REQUIRE(std::holds_alternative<PidFileBusy>(second));
  CHECK(std::get<PidFileBusy>(second).pid == holder.pid);
  CHECK(PidFile::readPid(path) == holder.pid);

  release.signal();
  CHECK(describeExit(holder.wait()) == "exited with status 0");
  CHECK_FALSE(exists(path));
  CHECK_FALSE(PidFile::readPid(path));
}

TEST_CASE("PidFile: a stale file is reported as not running and taken over") {
  TempDir dir;
  const std::string path = dir.path + "/wman.pid";
  SECTION("left with a long pid and no lock") {
    std::ofstream(path) << "2147483647123\n";
    CHECK_FALSE(PidFile::readPid(path));
  }
  SECTION("left by a holder killed with SIGKILL") {
    Pipe ready, release;
    Child holder([&] {
      auto result = PidFile::acquire(path);
      if (!std::holds_alternative<PidFile>(result)) return 10;
      ready.signal();
      release.await();
      return 0;
    });
    ready.closeWrite();
    REQUIRE(ready.await());
    const pid_t holder_pid = holder.pid;
    REQUIRE(PidFile::readPid(path) == holder_pid);
    ::kill(holder.pid, SIGKILL);
    CHECK(describeExit(holder.wait()) == "killed by signal 9 (SIGKILL: Killed)");
    CHECK(slurp(path) == std::to_string(holder_pid) + "\n");
    CHECK_FALSE(PidFile::readPid(path));
  }

  auto result = PidFile::acquire(path);
  REQUIRE(std::holds_alternative<PidFile>(result));
  CHECK(slurp(path) == ourPidLine());
  CHECK(PidFile::readPid(path) == ::getpid());
}

TEST_CASE("PidFile: a forked child that drops its copy neither unlinks nor unlocks") {
  TempDir dir;
  const std::string path = dir.path + "/wman.pid";
  auto result = PidFile::acquire(path);
  REQUIRE(std::holds_alternative<PidFile>(result));
  const pid_t master = ::getpid();

  SECTION("by destruction") {
    Child worker([&] {
      { PidFile copy = std::move(std::get<PidFile>(result)); }
      return exists(path) && PidFile::readPid(path) == master ? 0 : 1;
    });
    CHECK(describeExit(worker.wait()) == "exited with status 0");
  }
  SECTION("by detachAfterFork") {
    Child worker([&] {
      std::get<PidFile>(result).detachAfterFork();
      return exists(path) && PidFile::readPid(path) == master ? 0 : 1;
    });
    CHECK(describeExit(worker.wait()) == "exited with status 0");
  }

  CHECK(exists(path));
  CHECK(PidFile::readPid(path) == master);
  CHECK(std::holds_alternative<PidFileBusy>(PidFile::acquire(path)));
}

TEST_CASE("PidFile: claimForThisProcess hands the file to a daemonized grandchild") {
  TempDir dir;
  const std::string path = dir.path + "/wman.pid";
  // The grandchild is orphaned as in daemonize(); being its subreaper lets this test reap it.
  REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  Pipe ready, release;
  Child foreground([&] {
    auto result = PidFile::acquire(path);
    if (!std::holds_alternative<PidFile>(result)) return 10;
    const pid_t daemon = ::fork();
    if (daemon < 0) return 11;
    if (daemon == 0) {
      {
        PidFile owned = std::move(std::get<PidFile>(result));
        if (owned.claimForThisProcess()) ::_exit(12);
        const pid_t me = ::getpid();
        if (::write(ready.w, &me, sizeof me) != sizeof me) ::_exit(13);
        release.await();
      }  // The destructor runs here, as on the master's normal exit.
      ::_exit(0);
    }
    ::_exit(0);  // Like daemonize()'s foreground process: no destructors.
  });
  ready.closeWrite();
  CHECK(describeExit(foreground.wait()) == "exited with status 0");
  pid_t daemon_pid = 0;
  REQUIRE(::read(ready.r, &daemon_pid, sizeof daemon_pid) == sizeof daemon_pid);
  Child daemon;  // Adopted, so that a failing check still reaps it.
  daemon.pid = daemon_pid;

  CHECK(PidFile::readPid(path) == daemon_pid);
  CHECK(slurp(path) == std::to_string(daemon_pid) + "\n");
  release.signal();
  CHECK(describeExit(daemon.wait()) == "exited with status 0");
  CHECK_FALSE(exists(path));
}

TEST_CASE("PidFile: acquire reports unusable paths as errors") {
  TempDir dir;
  std::ofstream(dir.path + "/file") << "x";
  REQUIRE(::symlink((dir.path + "/target").c_str(), (dir.path + "/link").c_str()) == 0);

  auto under_file = PidFile::acquire(dir.path + "/file/wman.pid");
  REQUIRE(std::holds_alternative<std::error_code>(under_file));
  CHECK(std::get<std::error_code>(under_file) == std::errc::not_a_directory);
  CHECK(std::holds_alternative<std::error_code>(PidFile::acquire(dir.path)));
  CHECK(std::holds_alternative<std::error_code>(PidFile::acquire(dir.path + "/link")));
  CHECK_FALSE(exists(dir.path + "/target"));
  CHECK(std::holds_alternative<std::error_code>(PidFile::acquire("")));
  CHECK_FALSE(PidFile::readPid(dir.path + "/missing.pid"));
}

TEST_CASE("ensureDirectory has mkdir -p semantics") {
  TempDir dir;
  const mode_t mask = ::umask(0);
  ::umask(mask);

  const std::string nested = dir.path + "/a//b/c/";
  CHECK_FALSE(ensureDirectory(nested, 0750));
  struct stat st {};
  REQUIRE(::stat(nested.c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 0777) == (0750 & ~mask));
  CHECK_FALSE(ensureDirectory(nested, 0750));

  std::ofstream(dir.path + "/plain") << "x";
  CHECK(ensureDirectory(dir.path + "/plain", 0755) == std::errc::not_a_directory);
  CHECK(ensureDirectory(dir.path + "/plain/sub", 0755) == std::errc::not_a_directory);
  CHECK(ensureDirectory("", 0755) == std::errc::invalid_argument);
}

TEST_CASE("describeExit words the statuses of real children") {
  Child three([] { return 3; });
  CHECK(describeExit(three.wait()) == "exited with status 3");

  Child segv([] {
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    // Sanitizer runtimes install their own SIGSEGV handler; the default action is under test.
    ::signal(SIGSEGV, SIG_DFL);
    ::raise(SIGSEGV);
    return 1;
  });
  const int segv_status = segv.wait();
  // core_pattern may pipe to a helper that the kernel runs even with RLIMIT_CORE 0.
  CHECK(describeExit(segv_status) ==
        std::string("killed by signal 11 (SIGSEGV: Segmentation fault)") +
            (WCOREDUMP(segv_status) ? ", core dumped" : ""));

  Pipe never;
  Child blocked([&] { return never.await() ? 1 : 0; });
  ::kill(blocked.pid, SIGKILL);
  CHECK(describeExit(blocked.wait()) == "killed by signal 9 (SIGKILL: Killed)");
}

TEST_CASE("describeExit words synthetic statuses: core dumps, stops, continues") {
  CHECK(describeExit(SIGSEGV | WCOREFLAG) ==
        "killed by signal 11 (SIGSEGV: Segmentation fault), core dumped");
  CHECK(describeExit(W_EXITCODE(255, 0)) == "exited with status 255");
  CHECK(describeExit(W_STOPCODE(SIGSTOP)) == "stopped by signal 19 (SIGSTOP: Stopped (signal))");
  CHECK(describeExit(0xffff) == "continued");
  CHECK(describeSignal(SIGRTMIN + 2) == "SIGRTMIN+2: Real-time signal 2");
  CHECK(describeSignal(SIGTERM) == "SIGTERM: Terminated");
  CHECK(describeSignal(0) == "unknown signal");
  CHECK(describeSignal(999) == "unknown signal");
}

TEST_CASE("dropPrivileges: no-op without a user, clear errors for bad names") {
  std::string reason = "untouched";
  CHECK_FALSE(dropPrivileges("", "", &reason));
  CHECK(reason == "untouched");

  CHECK(dropPrivileges("wman-no-such-user", "", &reason));
  CHECK(reason == "unknown user 'wman-no-such-user'");
  CHECK(dropPrivileges("root", "wman-no-such-group", &reason));
  CHECK(reason == "unknown group 'wman-no-such-group'");
  CHECK(dropPrivileges("", "root", &reason) == std::errc::invalid_argument);
  CHECK(reason.find("user is not") != std::string::npos);
}

TEST_CASE("dropPrivileges: root drops to nobody for good; non-root is refused") {
  const passwd* nobody = ::getpwnam("nobody");
  if (::geteuid() != 0 || nobody == nullptr) {
    WARN("needs root and a 'nobody' user; only the refusal is checked");
    std::string reason;
    CHECK(dropPrivileges("root", "", &reason) == std::errc::operation_not_permitted);
    return;
  }
  const uid_t uid = nobody->pw_uid;
  const gid_t gid = nobody->pw_gid;
  Child dropped([&] {
    const gid_t root_groups[] = {0};  // So that a drop which keeps them is caught.
    if (::setgroups(1, root_groups) != 0) return 9;
    std::string reason;
    if (dropPrivileges("nobody", "", &reason)) return 10;
    if (::getuid() != uid || ::geteuid() != uid) return 11;
    if (::getgid() != gid || ::getegid() != gid) return 12;
    if (::setuid(0) == 0 || ::seteuid(0) == 0) return 13;
    gid_t groups[64];
    const int n = ::getgroups(64, groups);
    if (n < 0 || std::find(groups, groups + n, gid_t{0}) != groups + n) return 14;
    // Already that user: fine. Anyone else: refused with a reason.
    if (dropPrivileges("nobody", "", &reason)) return 15;
    if (dropPrivileges("root", "", &reason) != std::errc::operation_not_permitted) return 16;
    if (reason.find("only root") == std::string::npos) return 17;
    return 0;
  });
  CHECK(describeExit(dropped.wait()) == "exited with status 0");
}

TEST_CASE("setOpenFileLimit: 0 is a no-op, current values work, above the hard limit fails") {
  rlimit before{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
  std::string reason;
  CHECK_FALSE(setOpenFileLimit(0, &reason));
  rlimit after{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &after) == 0);
  CHECK(after.rlim_cur == before.rlim_cur);
  CHECK(after.rlim_max == before.rlim_max);

  // Setting soft = hard changes this process for good, so it happens in children.
  for (const rlim_t n : {before.rlim_cur, before.rlim_max}) {
    Child child([&] {
      std::string why;
      if (setOpenFileLimit(n, &why)) return 10;
      rlimit now{};
      ::getrlimit(RLIMIT_NOFILE, &now);
      return now.rlim_cur == n && now.rlim_max == n ? 0 : 11;
    });
    CHECK(describeExit(child.wait()) == "exited with status 0");
  }

  if (before.rlim_max == RLIM_INFINITY) return;
  Child unprivileged([&] {
    if (::geteuid() == 0 && dropPrivileges("nobody", "", nullptr)) return 10;
    std::string why;
    const auto ec = setOpenFileLimit(before.rlim_max + 1, &why);
    const std::string want = "max_open_files " + std::to_string(before.rlim_max + 1) +
                             " exceeds the hard limit " + std::to_string(before.rlim_max) +
                             "; only root can raise it";
    return ec == std::errc::operation_not_permitted && why == want ? 0 : 11;
  });
  CHECK(describeExit(unprivileged.wait()) == "exited with status 0");
}

TEST_CASE("DaemonReadiness: the foreground learns ready, failure, or death") {
  auto channel = makeChannel();
  SECTION("ready") {
    Child daemon([&] {
      channel.becomeReporter();
      return channel.reportReady() ? 1 : 0;
    });
    const Verdict verdict = channel.waitForVerdict(std::chrono::seconds(30));
    CHECK(verdict.kind == Verdict::Kind::Ready);
    CHECK(verdict.exitCode() == 0);
    CHECK(verdict.message().empty());
    CHECK(describeExit(daemon.wait()) == "exited with status 0");
  }
  SECTION("failure, with newlines flattened") {
    Child daemon([&] {
      channel.becomeReporter();
      channel.reportFailure("cannot listen on 0.0.0.0:80:\nPermission denied");
      return 1;
    });
    const Verdict verdict = channel.waitForVerdict(std::chrono::seconds(30));
    CHECK(verdict.kind == Verdict::Kind::Failed);
    CHECK(verdict.exitCode() == 1);
    CHECK(verdict.message() == "cannot listen on 0.0.0.0:80: Permission denied");
    daemon.wait();
  }
  SECTION("death without a report") {
    Child daemon([&] {
      channel.becomeReporter();
      return 7;
    });
    const Verdict verdict = channel.waitForVerdict(std::chrono::seconds(30));
    CHECK(verdict.kind == Verdict::Kind::Died);
    CHECK(verdict.exitCode() == 1);
    CHECK(verdict.message() == "wman exited during start-up");
    CHECK(describeExit(daemon.wait()) == "exited with status 7");
  }
  CHECK_FALSE(channel.valid());
}

TEST_CASE("DaemonReadiness: ready arrives even while a worker still holds the write end") {
  auto channel = makeChannel();
  Pipe release;
  Child master([&] {
    channel.becomeReporter();
    const pid_t worker = ::fork();
    if (worker == 0) {
      release.await();  // Holds its inherited copy of the write end until released.
      ::_exit(0);
    }
    const int rc = channel.reportReady() ? 1 : 0;
    ::waitpid(worker, nullptr, 0);
    return rc;
  });
  release.closeRead();
  const Verdict verdict = channel.waitForVerdict(std::chrono::seconds(30));
  CHECK(verdict.kind == Verdict::Kind::Ready);
  release.signal();
  CHECK(describeExit(master.wait()) == "exited with status 0");
}

TEST_CASE("DaemonReadiness: the wait is bounded by its timeout") {
  auto channel = makeChannel();
  Pipe release;
  Child daemon([&] {
    channel.becomeReporter();
    release.await();
    return 0;
  });
  release.closeRead();
  const Verdict verdict = channel.waitForVerdict(std::chrono::milliseconds(100));
  CHECK(verdict.kind == Verdict::Kind::TimedOut);
  CHECK(verdict.message().find("within 100 ms") != std::string::npos);
  release.signal();
  daemon.wait();
}

TEST_CASE("DaemonReadiness: reporting to a vanished foreground fails quietly, without SIGPIPE") {
  auto channel = makeChannel();
  Pipe reader_gone;
  Child daemon([&] {
    channel.becomeReporter();
    reader_gone.await();
    if (channel.reportReady() != std::errc::broken_pipe) return 1;
    return channel.reportFailure("late") ? 2 : 0;  // Already closed: a no-op.
  });
  channel.closeWithoutReport();
  reader_gone.signal();
  CHECK(describeExit(daemon.wait()) == "exited with status 0");
  CHECK(DaemonReadiness().waitForVerdict(std::chrono::seconds(1)).kind == Verdict::Kind::Error);
}

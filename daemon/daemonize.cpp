#include "daemonize.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <utility>

namespace wman::daemon {
namespace {

using Clock = std::chrono::steady_clock;

// Report framing: one tag byte, the text, a newline. The newline lets the reader stop without
// waiting for EOF, which matters because workers forked before the report may inherit the
// write end. A report stays far below the socket buffer, so one send() never blocks.
constexpr char kReadyTag = 'R';
constexpr char kFailureTag = 'F';
constexpr size_t kMaxReason = 4000;

std::error_code lastError() {
  return {errno, std::system_category()};
}

void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string formatTimeout(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

// poll() takes whole milliseconds: rounding up avoids spinning on a sub-millisecond remainder.
int pollTimeoutMs(Clock::time_point deadline) {
  const auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

[[noreturn]] void failInChild(DaemonReadiness& readiness, const char* step) {
  const std::string reason = std::string("daemonize: ") + step + " failed: " + std::strerror(errno);
  readiness.reportFailure(reason);
  ::_exit(1);
}

}  // namespace

std::string Verdict::message() const {
  if (kind == Kind::Ready) return {};
  if (!reason.empty()) return reason;
  switch (kind) {
    case Kind::Failed:
      return "wman failed during start-up";
    case Kind::TimedOut:
      return "wman did not report ready in time";
    case Kind::Error:
      return "reading the daemon's readiness report failed";
    default:
      return "wman exited during start-up";
  }
}

DaemonReadiness DaemonReadiness::create(std::error_code& ec) {
  int fds[2];
  DaemonReadiness channel;
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    ec = lastError();
    return channel;
  }
  ec.clear();
  channel.read_fd_ = fds[0];
  channel.write_fd_ = fds[1];
  return channel;
}

DaemonReadiness::DaemonReadiness(DaemonReadiness&& other) noexcept
    : read_fd_(std::exchange(other.read_fd_, -1)), write_fd_(std::exchange(other.write_fd_, -1)) {}

DaemonReadiness& DaemonReadiness::operator=(DaemonReadiness&& other) noexcept {
  if (this != &other) {
    closeWithoutReport();
    read_fd_ = std::exchange(other.read_fd_, -1);
    write_fd_ = std::exchange(other.write_fd_, -1);
  }
  return *this;
}

DaemonReadiness::~DaemonReadiness() {
  closeWithoutReport();
}

void DaemonReadiness::closeWithoutReport() {
  closeFd(read_fd_);
  closeFd(write_fd_);
}

void DaemonReadiness::becomeReporter() {
  closeFd(read_fd_);
}

Verdict DaemonReadiness::waitForVerdict(std::chrono::milliseconds timeout) {
  // Our own copy of the write end would keep the channel open and hide the daemon's death.
  closeFd(write_fd_);
  if (read_fd_ < 0) return {Verdict::Kind::Error, "the readiness channel is not open"};

  const auto deadline = Clock::now() + timeout;
  std::string report;
  bool complete = false;
  while (!complete) {
    pollfd pfd{read_fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, pollTimeoutMs(deadline));
    if (ready < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::string("poll: ") + std::strerror(errno);
      closeFd(read_fd_);
      return {Verdict::Kind::Error, why};
    }
    if (ready == 0) {
      closeFd(read_fd_);
      return {Verdict::Kind::TimedOut, "wman did not report ready within " +
                                           formatTimeout(timeout) +
                                           "; it may still be starting, see its log"};
    }
    char chunk[512];
    const ssize_t n = ::read(read_fd_, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      const std::string why = std::string("read: ") + std::strerror(errno);
      closeFd(read_fd_);
      return {Verdict::Kind::Error, why};
    }
    if (n == 0) break;
    report.append(chunk, static_cast<size_t>(n));
    if (const auto nl = report.find('\n'); nl != std::string::npos) {
      report.resize(nl);
      complete = true;
    } else if (report.size() > kMaxReason + 1) {
      complete = true;
    }
  }
  closeFd(read_fd_);

  // A report cut short by EOF still carries more information than "exited".
  if (report.empty()) return {Verdict::Kind::Died, "wman exited during start-up"};
  if (report[0] == kReadyTag) return {Verdict::Kind::Ready, {}};
  if (report[0] == kFailureTag) return {Verdict::Kind::Failed, report.substr(1)};
  return {Verdict::Kind::Error, "malformed readiness report from the daemon"};
}

std::error_code DaemonReadiness::reportReady() {
  return send(kReadyTag, {});
}

std::error_code DaemonReadiness::reportFailure(std::string_view reason) {
  return send(kFailureTag, reason);
}

std::error_code DaemonReadiness::send(char tag, std::string_view text) {
  closeFd(read_fd_);
  if (write_fd_ < 0) return {};
  std::string frame(1, tag);
  frame.append(text.substr(0, kMaxReason));
  for (size_t i = 1; i < frame.size(); ++i) {
    if (frame[i] == '\n' || frame[i] == '\r') frame[i] = ' ';
  }
  frame.push_back('\n');

  std::error_code result;
  size_t done = 0;
  while (done < frame.size()) {
    const ssize_t n = ::send(write_fd_, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      result = lastError();
      break;
    }
    done += static_cast<size_t>(n);
  }
  closeFd(write_fd_);
  return result;
}

std::error_code daemonize(DaemonReadiness& readiness, std::chrono::milliseconds timeout,
                          std::string* reason) {
  // Anything still buffered in stdio would otherwise be written once by every process.
  std::fflush(nullptr);

  const pid_t child = ::fork();
  if (child < 0) {
    const auto ec = lastError();
    if (reason) *reason = "daemonize: fork failed: " + ec.message();
    return ec;
  }
  if (child > 0) {
    const Verdict verdict = readiness.waitForVerdict(timeout);
    // The intermediate child only calls setsid() and fork() before exiting, so this is short.
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (verdict.kind != Verdict::Kind::Ready) {
      std::fprintf(stderr, "%s\n", verdict.message().c_str());
      std::fflush(stderr);
    }
    // _exit: the daemon owns every resource now (pid file, listeners); running our destructors
    // and atexit handlers would unlink or flush what is no longer ours.
    ::_exit(verdict.exitCode());
  }

  readiness.becomeReporter();
  if (::setsid() < 0) failInChild(readiness, "setsid");
  const pid_t daemon_pid = ::fork();
  if (daemon_pid < 0) failInChild(readiness, "second fork");
  // A session leader that opens a terminal acquires it; exiting it leaves a process that never can.
  if (daemon_pid > 0) ::_exit(0);

  // "/" keeps the daemon from pinning the mount it was started from.
  if (::chdir("/") != 0) failInChild(readiness, "chdir(\"/\")");
  ::umask(022);

  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) failInChild(readiness, "open(\"/dev/null\")");
  for (int target = STDIN_FILENO; target <= STDERR_FILENO; ++target) {
    // dup2 clears FD_CLOEXEC on the copy, so the standard streams survive exec as expected.
    if (null_fd != target && ::dup2(null_fd, target) < 0) failInChild(readiness, "dup2");
  }
  if (null_fd > STDERR_FILENO) {
    ::close(null_fd);
  } else {
    // A closed standard stream made /dev/null land on it, still carrying O_CLOEXEC.
    ::fcntl(null_fd, F_SETFD, 0);
  }
  return {};
}

}  // namespace wman::daemon

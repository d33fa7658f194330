// `wman start -d`: detach from the terminal, but keep the terminal waiting until the daemon says
// whether start-up worked, so `wman start -d && next-step` means what it says.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <system_error>

namespace wman::daemon {

// What the foreground process learned from the daemon.
struct Verdict {
  enum class Kind {
    Ready,     // The daemon reported ready.
    Failed,    // The daemon reported a failure; `reason` says why.
    Died,      // The channel closed with no report: the daemon exited or crashed.
    TimedOut,  // No report within the timeout; the daemon may still be starting.
    Error,     // Reading the channel failed; `reason` says how.
  };
  Kind kind = Kind::Died;
  std::string reason;

  // The exit status the foreground process ends with: 0 for Ready, 1 for anything else.
  int exitCode() const { return kind == Kind::Ready ? 0 : 1; }

  // One line for stderr, empty for Ready, e.g. "wman exited during start-up".
  std::string message() const;
};

// A one-shot channel from the daemon (writer) to the foreground process (reader). Create it
// before forking; afterwards each side uses only its half. Move-only; descriptors are O_CLOEXEC.
// It is a socketpair rather than a pipe so a report to a reader that gave up (timed out) fails
// with EPIPE instead of killing the daemon with SIGPIPE.
class DaemonReadiness {
 public:
  // Opens the channel; on failure returns an invalid object and sets `ec`.
  static DaemonReadiness create(std::error_code& ec);

  DaemonReadiness() = default;
  DaemonReadiness(DaemonReadiness&& other) noexcept;
  DaemonReadiness& operator=(DaemonReadiness&& other) noexcept;
  DaemonReadiness(const DaemonReadiness&) = delete;
  DaemonReadiness& operator=(const DaemonReadiness&) = delete;
  ~DaemonReadiness();

  // True while either end is still open in this process.
  bool valid() const { return read_fd_ >= 0 || write_fd_ >= 0; }

  // Foreground side, after fork: drops the write end (so a daemon that dies is seen as EOF),
  // then blocks until a report arrives, the channel closes, or `timeout` elapses.
  Verdict waitForVerdict(std::chrono::milliseconds timeout);

  // Daemon side: the master calls this once every worker reported ready. Closes the channel;
  // later reports are no-ops. An error means the foreground process is gone, which is harmless.
  std::error_code reportReady();

  // Daemon side: sends `reason` (newlines become spaces, cut at 4000 bytes) and closes the
  // channel; the foreground prints it to stderr and exits 1.
  std::error_code reportFailure(std::string_view reason);

  // Daemon side, right after fork: drops the read end, which the daemon never uses.
  void becomeReporter();

  // Closes both ends without reporting: for a forked worker, which must not keep the channel
  // open (that would hide the master's death from the foreground process).
  void closeWithoutReport();

 private:
  std::error_code send(char tag, std::string_view text);

  int read_fd_ = -1;
  int write_fd_ = -1;
};

// Detaches the caller (before any thread starts): fork, and the original process waits up to
// `timeout` for `readiness`, prints a non-ready verdict to stderr and _exit()s with its exitCode();
// the child does setsid, forks again, chdir("/"), umask(022), stdio to /dev/null. Returns {} only
// in the daemon, which must then report; returns an error and `reason` only if the first fork
// fails (later failures are reported through `readiness` and the child exits).
std::error_code daemonize(DaemonReadiness& readiness, std::chrono::milliseconds timeout,
                          std::string* reason);

}  // namespace wman::daemon

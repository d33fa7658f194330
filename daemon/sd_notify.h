// The systemd notify protocol, spoken by the master: one datagram per state change to the
// unix socket named by NOTIFY_SOCKET (READY=1, RELOADING=1, STOPPING=1, STATUS=, WATCHDOG=1,
// EXTEND_TIMEOUT_USEC=). Without NOTIFY_SOCKET every call is a no-op, so the master calls it
// unconditionally.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace wman::daemon {

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID and removes them from the
  // environment, so nothing the master forks or runs mistakes itself for the main process.
  // A socket name starting with '@' is in the abstract namespace.
  static SystemdNotifier fromEnvironment();

  SystemdNotifier() = default;
  SystemdNotifier(SystemdNotifier&& other) noexcept;
  SystemdNotifier& operator=(SystemdNotifier&& other) noexcept;
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;
  ~SystemdNotifier();

  // True when a service manager listens: the master then never daemonizes.
  bool enabled() const { return fd_ >= 0; }

  // Sends newline-separated assignments ("READY=1\nSTATUS=..."). Best effort: a manager that
  // went away is not the daemon's problem. Returns false if the datagram was not sent.
  bool send(std::string_view state) const;

  // How often to send WATCHDOG=1: half of WATCHDOG_USEC, or zero when no watchdog is set
  // (or it is set for another process).
  std::chrono::microseconds watchdogInterval() const { return watchdog_ / 2; }

 private:
  int fd_ = -1;
  std::string path_;  // sockaddr_un path; a leading '\0' for the abstract namespace
  std::chrono::microseconds watchdog_{0};
};

// CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants it in MONOTONIC_USEC=.
std::uint64_t monotonicUsec();

}  // namespace wman::daemon

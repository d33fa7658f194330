#include "sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace wman::daemon {
namespace {

std::string takeEnv(const char* name) {
  const char* v = std::getenv(name);
  std::string out = v ? v : "";
  ::unsetenv(name);
  return out;
}

}  // namespace

SystemdNotifier SystemdNotifier::fromEnvironment() {
  SystemdNotifier n;
  std::string path = takeEnv("NOTIFY_SOCKET");
  std::string usec = takeEnv("WATCHDOG_USEC");
  std::string pid = takeEnv("WATCHDOG_PID");
  if (path.empty() || (path[0] != '/' && path[0] != '@') ||
      path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return n;
  }
  if (path[0] == '@') path[0] = '\0';
  n.fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (n.fd_ < 0) return n;
  n.path_ = std::move(path);
  char* end = nullptr;
  unsigned long long us = std::strtoull(usec.c_str(), &end, 10);
  const bool for_us = pid.empty() || std::strtoll(pid.c_str(), nullptr, 10) == ::getpid();
  if (!usec.empty() && end && *end == '\0' && us > 0 && for_us) {
    n.watchdog_ = std::chrono::microseconds(us);
  }
  return n;
}

SystemdNotifier::SystemdNotifier(SystemdNotifier&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), watchdog_(other.watchdog_) {
  other.fd_ = -1;
}

SystemdNotifier& SystemdNotifier::operator=(SystemdNotifier&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    watchdog_ = other.watchdog_;
    other.fd_ = -1;
  }
  return *this;
}

SystemdNotifier::~SystemdNotifier() {
  if (fd_ >= 0) ::close(fd_);
}

bool SystemdNotifier::send(std::string_view state) const {
  if (fd_ < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path_.size());
  ssize_t n;
  do {
    n = ::sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
                 len);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(state.size());
}

std::uint64_t monotonicUsec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace wman::daemon

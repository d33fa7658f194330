#include "socket_activation.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "wman/resolve.h"

namespace wman::daemon {
namespace {

constexpr int kFirstFd = 3;

std::string takeEnv(const char* name) {
  const char* v = std::getenv(name);
  std::string out = v ? v : "";
  ::unsetenv(name);
  return out;
}

bool parsePositive(const std::string& s, long& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtol(s.c_str(), &end, 10);
  return *end == '\0' && out > 0;
}

std::vector<std::string> splitNames(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t colon = s.find(':', start);
    out.push_back(s.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

// True if the socket `fd`, bound to `bound`, serves the address `want`.
bool addressMatches(int fd, const sockaddr_storage& bound, const SocketAddress& want) {
  if (want.family() == AF_INET && bound.ss_family == AF_INET6) {
    // A dual-stack [::] socket (systemd's ListenStream=8080) also serves 0.0.0.0:8080.
    const auto* in = reinterpret_cast<const sockaddr_in*>(want.get());
    const auto* have = reinterpret_cast<const sockaddr_in6*>(&bound);
    int v6only = 1;
    socklen_t v6len = sizeof v6only;
    ::getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &v6len);
    return in->sin_addr.s_addr == htonl(INADDR_ANY) && in->sin_port == have->sin6_port &&
           IN6_IS_ADDR_UNSPECIFIED(&have->sin6_addr) && v6only == 0;
  }
  if (want.family() == AF_INET && bound.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(want.get());
    const auto* have = reinterpret_cast<const sockaddr_in*>(&bound);
    return in->sin_port == have->sin_port && in->sin_addr.s_addr == have->sin_addr.s_addr;
  }
  if (want.family() == AF_INET6 && bound.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(want.get());
    const auto* have = reinterpret_cast<const sockaddr_in6*>(&bound);
    return in6->sin6_port == have->sin6_port &&
           std::memcmp(&in6->sin6_addr, &have->sin6_addr, sizeof in6->sin6_addr) == 0;
  }
  return false;
}

}  // namespace

std::vector<ActivatedSocket> takeActivatedSockets(std::vector<std::string>* warnings) {
  const std::string pid = takeEnv("LISTEN_PID");
  const std::string fds = takeEnv("LISTEN_FDS");
  const std::string names = takeEnv("LISTEN_FDNAMES");
  std::vector<ActivatedSocket> out;
  if (fds.empty()) return out;
  long listen_pid = 0;
  if (!parsePositive(pid, listen_pid) || listen_pid != ::getpid()) {
    if (warnings) {
      warnings->push_back("socket activation: LISTEN_PID=" + pid + " is not this process (" +
                          std::to_string(::getpid()) + "); LISTEN_FDS ignored");
    }
    return out;
  }
  long count = 0;
  if (!parsePositive(fds, count)) {
    if (warnings) warnings->push_back("socket activation: LISTEN_FDS=" + fds + " is not a count");
    return out;
  }
  std::vector<std::string> labels = names.empty() ? std::vector<std::string>{} : splitNames(names);
  for (long i = 0; i < count; ++i) {
    const int fd = kFirstFd + static_cast<int>(i);
    int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) {
      if (warnings) {
        warnings->push_back("socket activation: fd " + std::to_string(fd) + " is not open");
      }
      continue;
    }
    ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    ActivatedSocket s;
    s.fd = fd;
    if (static_cast<std::size_t>(i) < labels.size()) s.name = labels[static_cast<std::size_t>(i)];
    out.push_back(std::move(s));
  }
  return out;
}

bool socketMatches(int fd, const ListenUrl& url) {
  int type = 0;
  int listening = 0;
  socklen_t optlen = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) != 0 || type != SOCK_STREAM) {
    return false;
  }
  optlen = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) != 0 || !listening) {
    return false;
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) return false;
  if (url.isUnix()) {
    if (bound.ss_family != AF_UNIX) return false;
    const auto* un = reinterpret_cast<const sockaddr_un*>(&bound);
    return std::strncmp(un->sun_path, url.path.c_str(), sizeof un->sun_path) == 0;
  }
  // Every address the host has, not just the first a bind would take: the service manager
  // may have bound any of them.
  const ResolveResult resolved = resolve(url.host, url.port);
  for (const SocketAddress& want : resolved.addresses) {
    if (addressMatches(fd, bound, want)) return true;
  }
  return false;
}

std::string describeSocket(int fd) {
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return "fd " + std::to_string(fd);
  }
  char host[INET6_ADDRSTRLEN] = {};
  if (bound.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&bound);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (bound.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&bound);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  if (bound.ss_family == AF_UNIX) {
    return reinterpret_cast<const sockaddr_un*>(&bound)->sun_path;
  }
  return "fd " + std::to_string(fd);
}

}  // namespace wman::daemon

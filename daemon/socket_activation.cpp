#include "socket_activation.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

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
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(url.port);
  if (::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res) != 0) return false;
  bool match = false;
  for (addrinfo* a = res; a && !match; a = a->ai_next) {
    if (a->ai_family == AF_INET && bound.ss_family == AF_INET6) {
      // A dual-stack [::] socket (systemd's ListenStream=8080) also serves 0.0.0.0:8080.
      const auto* want = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      const auto* have = reinterpret_cast<const sockaddr_in6*>(&bound);
      int v6only = 1;
      socklen_t v6len = sizeof v6only;
      ::getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &v6len);
      match = want->sin_addr.s_addr == htonl(INADDR_ANY) && want->sin_port == have->sin6_port &&
              IN6_IS_ADDR_UNSPECIFIED(&have->sin6_addr) && v6only == 0;
      continue;
    }
    if (a->ai_family != bound.ss_family) continue;
    if (a->ai_family == AF_INET) {
      const auto* want = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      const auto* have = reinterpret_cast<const sockaddr_in*>(&bound);
      match = want->sin_port == have->sin_port && want->sin_addr.s_addr == have->sin_addr.s_addr;
    } else if (a->ai_family == AF_INET6) {
      const auto* want = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      const auto* have = reinterpret_cast<const sockaddr_in6*>(&bound);
      match = want->sin6_port == have->sin6_port &&
              std::memcmp(&want->sin6_addr, &have->sin6_addr, sizeof want->sin6_addr) == 0;
    }
  }
  ::freeaddrinfo(res);
  return match;
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

#include "listen_socket.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wman::daemon {
namespace {

constexpr int kBacklog = 1024;

std::error_code lastError() {
  return {errno, std::system_category()};
}

std::error_code resolve(const ListenUrl& url, sockaddr_storage& addr, socklen_t& len) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(url.port);
  int rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) return std::make_error_code(std::errc::address_not_available);
  std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  freeaddrinfo(res);
  return {};
}

int bindOne(const ListenUrl& url, bool reuse_port, std::uint16_t port, std::error_code& ec,
            std::string& what) {
  if (url.isUnix()) {
    what = "bind " + url.path;
    sockaddr_un addr{};
    if (url.path.size() >= sizeof addr.sun_path) {
      ec = std::make_error_code(std::errc::filename_too_long);
      return -1;
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return ec = lastError(), -1;
    struct stat st {};
    // Replace a socket file left behind by an earlier run; never clobber anything else.
    if (::lstat(url.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(url.path.c_str());
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, url.path.c_str(), url.path.size());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, kBacklog) != 0) {
      ec = lastError();
      ::close(fd);
      return -1;
    }
    return fd;
  }
  ListenUrl at = url;
  at.port = port;
  what = "bind " + (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) +
         ":" + std::to_string(port);
  sockaddr_storage addr{};
  socklen_t len = 0;
  if ((ec = resolve(at, addr, len))) return -1;
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ec = lastError(), -1;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, kBacklog) != 0) {
    ec = lastError();
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::vector<int> ListenSocketSet::fdsForSlot(int slot, int count) const {
  if (!reuse_port) return {fds[0]};
  std::vector<int> out;
  for (std::size_t i = static_cast<std::size_t>(slot); i < fds.size();
       i += static_cast<std::size_t>(count)) {
    out.push_back(fds[i]);
  }
  return out;
}

void ListenSocketSet::closeAll() {
  for (int fd : fds) ::close(fd);
  fds.clear();
}

std::string listenKey(const std::string& listen, bool reuse_port) {
  return reuse_port ? listen + "#reuse_port" : listen;
}

int boundPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return 0;
}

std::error_code bindListenSockets(const ListenUrl& url, bool reuse_port, int count,
                                  ListenSocketSet& out, std::string* reason) {
  out.url = url;
  out.reuse_port = reuse_port && !url.isUnix();
  const std::size_t have = out.fds.size();
  const std::size_t want = out.reuse_port ? static_cast<std::size_t>(count) : 1;
  std::uint16_t port = url.port;
  // Clones of a port-0 listener, and clones added later, share the port of the first one.
  if (have > 0 && !url.isUnix()) port = static_cast<std::uint16_t>(boundPort(out.fds[0]));
  for (std::size_t i = have; i < want; ++i) {
    std::error_code ec;
    std::string what;
    int fd = bindOne(url, out.reuse_port, port, ec, what);
    if (fd < 0) {
      if (reason) *reason = what + ": " + ec.message();
      shrinkListenSockets(out, have);
      return ec;
    }
    out.fds.push_back(fd);
    if (port == 0 && !url.isUnix()) port = static_cast<std::uint16_t>(boundPort(fd));
  }
  return {};
}

void shrinkListenSockets(ListenSocketSet& set, std::size_t count) {
  while (set.fds.size() > count) {
    ::close(set.fds.back());
    set.fds.pop_back();
  }
}

}  // namespace wman::daemon

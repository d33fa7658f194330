#include "listen_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "wman/resolve.h"

namespace wman::daemon {
namespace {

constexpr int kBacklog = 1024;

std::error_code lastError() {
  return {errno, std::system_category()};
}

// Each returns the listening fd, or -1 with `ec` set and `reason` saying what failed.
int bindUnix(const ListenUrl& url, std::error_code& ec, std::string& reason) {
  auto fail = [&](std::error_code e, int fd) {
    if (fd >= 0) ::close(fd);
    ec = e;
    reason = "bind " + url.path + ": " + e.message();
    return -1;
  };
  sockaddr_un addr{};
  if (url.path.size() >= sizeof addr.sun_path) {
    return fail(std::make_error_code(std::errc::filename_too_long), -1);
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(lastError(), -1);
  struct stat st {};
  // Replace a socket file left behind by an earlier run; never clobber anything else.
  if (::lstat(url.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(url.path.c_str());
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, url.path.c_str(), url.path.size());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, kBacklog) != 0) {
    return fail(lastError(), fd);
  }
  return fd;
}

// A TCP socket bound and listening, or for udp:// a UDP socket bound (it has no listen).
int bindInet(const ListenUrl& url, bool reuse_port, std::uint16_t port, std::error_code& ec,
             std::string& reason) {
  const std::string what =
      "bind " + (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) + ":" +
      std::to_string(port);
  auto fail = [&](std::error_code e, int fd) {
    if (fd >= 0) ::close(fd);
    ec = e;
    reason = what + ": " + e.message();
    return -1;
  };
  ResolveResult resolved = resolve(url.host, port);
  if (!resolved.ok()) {
    // The resolver's message names the host and the reason ("cannot resolve host 'x': ...").
    ec = resolved.error;
    reason = what + ": " + resolved.message;
    return -1;
  }
  // The first address is the one the system prefers (gai.conf), as the core Listener takes.
  const SocketAddress& addr = resolved.addresses.front();
  int fd = ::socket(addr.family(), (url.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(lastError(), -1);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd, addr.get(), addr.size()) != 0 || (!url.udp && ::listen(fd, kBacklog) != 0)) {
    return fail(lastError(), fd);
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
    std::string why;
    int fd = url.isUnix() ? bindUnix(url, ec, why) : bindInet(url, out.reuse_port, port, ec, why);
    if (fd < 0) {
      if (reason) *reason = why;
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

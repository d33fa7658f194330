#include "detail/listener.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/uv_error.h"
#include "wman/resolve.h"

namespace wman::detail {
namespace {

// The lowest port an unprivileged process may bind (Linux sysctl; 1024 if unreadable).
int unprivilegedPortStart() {
  int port = 1024;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r")) {
    if (std::fscanf(f, "%d", &port) != 1) port = 1024;
    std::fclose(f);
  }
  return port;
}

std::error_code sysError() {
  return uvError(-errno);
}

}  // namespace

Listener::Listener(EventLoop& loop, ListenUrl url, AcceptFn on_accept, ErrorFn on_error)
    : loop_(loop),
      url_(std::move(url)),
      on_accept_(std::move(on_accept)),
      on_error_(std::move(on_error)) {}

Listener::~Listener() {
  close();
}

std::error_code Listener::bind() {
  const int domain = url_.isUnix() ? AF_UNIX : 0;
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (url_.isUnix()) {
    auto* un = reinterpret_cast<sockaddr_un*>(&addr);
    if (url_.path.size() >= sizeof un->sun_path) return uvError(UV_ENAMETOOLONG);
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, url_.path.c_str(), url_.path.size() + 1);
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + url_.path.size() + 1);
    struct stat st {};
    // Replace a socket file left by a previous run; refuse to clobber anything else.
    if (::lstat(url_.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(url_.path.c_str());
  } else {
    // Names are resolved once, synchronously: this runs at start-up, before any traffic.
    // The first address is the one the system prefers, as the master's bind takes it.
    ResolveResult resolved = resolve(url_.host, url_.port);
    if (!resolved.ok()) return resolved.error;
    const SocketAddress& first = resolved.addresses.front();
    len = first.size();
    std::memcpy(&addr, first.get(), len);
  }
  int fd =
      ::socket(domain ? domain : addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return sysError();
  const int on = 1;
  if (!url_.isUnix()) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    auto ec = sysError();
    ::close(fd);
    return ec;
  }
  fd_ = fd;
  return {};
}

std::error_code Listener::adopt(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return sysError();
  fd_ = fd;
  return {};
}

std::error_code Listener::listen(int backlog) {
  if (fd_ < 0) return uvError(UV_EBADF);
  backlog_ = backlog;
  if (!url_.isUnix()) {
    int listening = 0;
    socklen_t len = sizeof listening;
    ::getsockopt(fd_, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
    // A socket that a predecessor shut down out of its SO_REUSEPORT group lost its port:
    // bind it again first, or listen() would pick a random one. A socket that is merely
    // bound refuses the second bind (EINVAL), which is fine.
    addr_len_ = sizeof addr_;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr_), &addr_len_) != 0) addr_len_ = 0;
    if (!listening && addr_len_ > 0 && port() != 0) {
      ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr_), addr_len_);
    }
    const char* single = std::getenv("UV_TCP_SINGLE_ACCEPT");
    batch_ = single && std::strcmp(single, "0") != 0 ? 1 : kAcceptBatch;
    // Leaving the group is safe only if this process may bind the port again.
    can_rejoin_ = port() >= unprivilegedPortStart() || ::geteuid() == 0;
  }
  if (::listen(fd_, backlog) != 0) return sysError();
  return startPolling();
}

std::error_code Listener::startPolling() {
  if (!handle_) {
    handle_ = new uv_poll_t;
    int rc = uv_poll_init(loop_.raw(), handle_, fd_);
    if (rc != 0) {
      delete handle_;
      handle_ = nullptr;
      return uvError(rc);
    }
    handle_->data = this;
  }
  int rc = uv_poll_start(handle_, UV_READABLE, &Listener::onReadable);
  if (rc != 0) return uvError(rc);
  polling_ = true;
  return {};
}

void Listener::onReadable(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<Listener*>(handle->data);
  if (status < 0) {
    self->on_error_(status);
    return;
  }
  self->acceptSome();
}

void Listener::acceptSome() {
  const bool is_pipe = url_.isUnix();
  for (int i = 0; i < batch_ && polling_; ++i) {
    int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // The peer gave up before we took it: nothing to report.
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      on_error_(-errno);
      return;
    }
    if (!is_pipe) {
      const int on = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
    on_accept_(fd, is_pipe);
  }
}

void Listener::pause(bool leave_group) {
  if (!handle_ || !polling_) return;
  uv_poll_stop(handle_);
  polling_ = false;
  if (!leave_group || url_.isUnix() || !can_rejoin_ || addr_len_ == 0) return;
  int reuse = 0;
  socklen_t len = sizeof reuse;
  if (::getsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &reuse, &len) != 0 || !reuse) return;
  // shutdown() takes a listening socket out of LISTEN (and out of its SO_REUSEPORT group)
  // for every process holding it, the master included; resume() binds and listens again.
  if (::shutdown(fd_, SHUT_RD) == 0) left_group_ = true;
}

std::error_code Listener::rejoin() {
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) != 0 && errno != EINVAL) {
    return sysError();
  }
  if (::listen(fd_, backlog_) != 0) return sysError();
  left_group_ = false;
  return {};
}

std::error_code Listener::resume() {
  if (!handle_ || polling_) return {};
  if (left_group_) {
    if (auto ec = rejoin()) return ec;
  }
  return startPolling();
}

void Listener::close() {
  polling_ = false;
  if (handle_) {
    uv_poll_t* h = handle_;
    handle_ = nullptr;
    // uv_close stops the watcher at once, so the fd can be closed right after.
    uv_close(reinterpret_cast<uv_handle_t*>(h),
             [](uv_handle_t* raw) { delete reinterpret_cast<uv_poll_t*>(raw); });
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

std::uint16_t Listener::port() const {
  if (fd_ < 0 || url_.isUnix()) return 0;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
}

}  // namespace wman::detail

#include "detail/listener.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/uv_error.h"

namespace wman::detail {
namespace {

// Resolves a host (literal or name) for binding. Names are resolved once, synchronously:
// this runs at start-up, before any traffic.
std::error_code resolve(const std::string& host, std::uint16_t port, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&out)) == 0) return {};
  if (uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&out)) == 0) return {};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    return uvError(UV_EAI_NONAME);
  }
  std::memcpy(&out, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (out.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&out)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&out)->sin6_port = htons(port);
  }
  return {};
}

}  // namespace

Listener::Listener(EventLoop& loop, ListenUrl url, AcceptFn on_accept)
    : loop_(loop), url_(std::move(url)), on_accept_(std::move(on_accept)) {}

Listener::~Listener() {
  close();
}

std::error_code Listener::init() {
  handle_ = new Handle{};
  int rc = url_.isUnix() ? uv_pipe_init(loop_.raw(), &handle_->pipe, 0)
                         : uv_tcp_init(loop_.raw(), &handle_->tcp);
  if (rc != 0) {
    delete handle_;
    handle_ = nullptr;
    return uvError(rc);
  }
  handle_->handle.data = this;
  return {};
}

std::error_code Listener::bind() {
  if (auto ec = init()) return ec;
  int rc = 0;
  if (url_.isUnix()) {
    struct stat st {};
    // Replace a socket file left by a previous run; refuse to clobber anything else.
    if (::lstat(url_.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(url_.path.c_str());
    rc = uv_pipe_bind(&handle_->pipe, url_.path.c_str());
  } else {
    sockaddr_storage addr{};
    if (auto ec = resolve(url_.host, url_.port, addr)) {
      close();
      return ec;
    }
    rc = uv_tcp_bind(&handle_->tcp, reinterpret_cast<const sockaddr*>(&addr), 0);
  }
  if (rc != 0) {
    close();
    return uvError(rc);
  }
  return {};
}

std::error_code Listener::adopt(int fd) {
  if (auto ec = init()) return ec;
  int rc = url_.isUnix() ? uv_pipe_open(&handle_->pipe, fd) : uv_tcp_open(&handle_->tcp, fd);
  if (rc != 0) {
    close();
    return uvError(rc);
  }
  return {};
}

std::error_code Listener::listen(int backlog) {
  if (!handle_) return uvError(UV_EBADF);
  int rc = uv_listen(&handle_->stream, backlog, &Listener::onConnection);
  if (rc != 0) return uvError(rc);
  listening_ = true;
  return {};
}

void Listener::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<Listener*>(server->data);
  if (status < 0) {
    // EMFILE and friends: log and keep listening; the pending connection stays queued.
    log().warn("accept on {} failed: {}", self->url_.host, uv_strerror(status));
    return;
  }
  self->on_accept_(server, self->url_.isUnix());
}

void Listener::close() {
  if (!handle_) return;
  Handle* h = handle_;
  handle_ = nullptr;
  listening_ = false;
  h->handle.data = h;
  uv_close(&h->handle, [](uv_handle_t* raw) { delete static_cast<Handle*>(raw->data); });
}

std::uint16_t Listener::port() const {
  if (!handle_ || url_.isUnix()) return 0;
  sockaddr_storage addr{};
  int len = sizeof addr;
  if (uv_tcp_getsockname(&handle_->tcp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
}

}  // namespace wman::detail

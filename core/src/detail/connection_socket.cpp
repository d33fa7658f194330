// A connection's socket: readiness from the loop's epoll set, and the socket calls made
// here. The connection already decides when to read (its fairness budget, a
// pause, a response owed) and what to write (one gathered flush per pass, the rest when
// writable), so a stream handle's own buffering added nothing but bytes per connection and
// read()/write() calls, which cost the kernel more than recv()/send() on a socket.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "detail/buffer_pool.h"
#include "detail/connection_impl.h"
#include "detail/event_loop.h"
#include "detail/log.h"
#include "detail/outbound.h"
#include "detail/worker_runtime.h"

namespace wman::detail {
namespace {

// The error the kernel holds for `fd` (a failed connect, a reset), as a libuv status.
int socketError(int fd, int otherwise) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  return err != 0 ? -err : otherwise;
}

}  // namespace

int ConnectionImpl::watchSocket(int fd) {
  // Accepted and connecting sockets are non-blocking already; an adopted one may not be.
  int one = 1;
  if (::ioctl(fd, FIONBIO, &one) != 0) return -errno;
  fd_ = fd;
  return 0;
}

int ConnectionImpl::startConnect(const sockaddr* addr, const std::string& path) {
  sockaddr_un un{};
  socklen_t len = 0;
  if (addr == nullptr) {
    if (path.size() >= sizeof un.sun_path) return UV_ENAMETOOLONG;
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, path.data(), path.size());
    addr = reinterpret_cast<const sockaddr*>(&un);
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  } else {
    len = addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  }
  const int fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (const int rc = watchSocket(fd); rc != 0) {
    ::close(fd);
    return rc;
  }
  if (!isPipe() && transport_->noDelay()) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  set(kConnecting);
  if (::connect(fd, addr, len) != 0 && errno != EINPROGRESS) {
    // Reported from the next loop pass, like a refusal that arrives later: the owner never
    // hears of its link's failure from inside its own connect call.
    linkFailure(uv_strerror(-errno));
    set(kConnectFailed);
    scheduleContinue();
    return 0;
  }
  rearm();
  return 0;
}

void ConnectionImpl::connected() {
  clear(kConnecting);
  const int err = socketError(fd(), 0);
  if (err != 0) {
    linkFailure(uv_strerror(err));
    destroy();
    return;
  }
  rearm();
  outbound_->linkConnected(*this);
  start();
}

void ConnectionImpl::readStart() {
  set(kReading);
  rearm();
}

void ConnectionImpl::readStop() {
  clear(kReading);
  rearm();
}

void ConnectionImpl::rearm() {
  if (stage_ == Stage::Closed) return;
  // Input is read while wanted (a closing connection reads only to see the peer's end
  // while lingering); writability is wanted while a write or a connect is under way.
  const bool read = has(kReading);
  const bool write = writing() || has(kConnecting);
  if (read == has(kWatchRead) && write == has(kWatchWrite)) return;
  const std::uint32_t after = (read ? EPOLLIN : 0u) | (write ? EPOLLOUT : 0u);
  if (const int rc = runtime().loop().watch(fd_, this, watchedEvents(), after); rc != 0) {
    return failed("poll", rc);
  }
  read ? set(kWatchRead) : clear(kWatchRead);
  write ? set(kWatchWrite) : clear(kWatchWrite);
}

void ConnectionImpl::socketEvents(std::uint32_t events) {
  // A connection closed earlier in the same batch is still in memory (EventLoop::retire).
  if (stage_ == Stage::Closed) return;
  if (has(kConnecting)) {
    // Writable, or an error: either way the connect ended.
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) connected();
    return;
  }
  if (events & EPOLLERR) {
    // Input held back by the read budget goes first: the next pass delivers it, reads on and
    // meets the error there.
    if (has(kYielded)) return;
    // An error on the socket (a reset). What the peer sent before it is still read, and
    // its close or the error follows from recv().
    if (has(kReading)) readSocket();
    if (stage_ != Stage::Closed) failed("poll", socketError(fd_, UV_ECONNRESET));
    return;
  }
  // A hang-up is seen by the call that is waiting: recv() reads the end, send() fails.
  if ((events & (EPOLLOUT | EPOLLHUP)) && has(kWatchWrite)) writable();
  if ((events & (EPOLLIN | EPOLLHUP)) && stage_ != Stage::Closed && has(kReading)) readSocket();
}

void ConnectionImpl::readSocket() {
  const auto buffer = runtime().loop().readBuffer();
  const ssize_t n = ::recv(fd(), buffer.data(), buffer.size(), 0);
  if (n > 0) {
    // What the input's handlers queue for this connection goes out in one write as soon as
    // the input is handled, while the socket is still warm in the caches; waiting for the
    // loop's flush pass meant touching every busy socket twice per pass (the worker spent
    // about 10 % more per echoed message with 1,000 connections).
    // Unless the input queued output for other connections too (EventLoop::queued):
    // then the reply follows that output through the flush pass, so a peer told "done"
    // never hears it before what was done (a bus join, a message to others) went out.
    // The replies gather in the loop's cork (takeCork): in the common case they are
    // written from there, and the connection takes no buffer and no busy block for them;
    // held back, they move to its own output (uncork).
    const std::uint64_t queued = runtime().loop().queued();
    set(kCorked);
    takeCork();
    handleInput(buffer.data(), static_cast<std::size_t>(n));
    clear(kCorked);
    if (has(kFlushOwed) && stage_ != Stage::Closed) {
      if (runtime().loop().queued() == queued) {
        flush();  // gives the cork back, and settles after the write
      } else {
        uncork();
        scheduleFlush();
      }
    }
    clear(kFlushOwed);
    if (has(kCorkOut)) uncork();  // nothing was written, or the connection closed
    settle();
  } else if (n == 0) {
    log().debug("conn={} peer closed", id_);
    linkFailure("the server closed the connection during the handshake");
    destroy();
  } else if (errno != EAGAIN && errno != EINTR) {
    failed("read", -errno);
  }
}

int ConnectionImpl::sendParts(const std::string_view* parts, std::size_t count) {
  ssize_t sent;
  if (count == 1) {
    // Every flush: one buffer, so no vector to build.
    if (parts[0].empty()) return 0;
    do {
      sent = ::send(fd(), parts[0].data(), parts[0].size(), MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
  } else {
    std::array<iovec, 4> iov{};
    std::size_t n = 0;
    for (std::size_t i = 0; i < count && n < iov.size(); ++i) {
      if (parts[i].empty()) continue;
      iov[n++] = iovec{const_cast<char*>(parts[i].data()), parts[i].size()};
    }
    if (n == 0) return 0;
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = n;
    do {
      sent = ::sendmsg(fd(), &msg, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
  }
  if (sent < 0) return errno == EAGAIN ? 0 : -errno;
  countWritten(static_cast<std::uint64_t>(sent));
  return static_cast<int>(sent);
}

void ConnectionImpl::writable() {
  if (!writing()) return rearm();
  PendingWrite& p = *held_->pending;
  const std::string_view rest(p.data.data() + p.offset, p.data.size() - p.offset);
  const int n = sendParts(&rest, 1);
  if (n < 0) return failed("write", n);
  p.offset += static_cast<std::size_t>(n);
  if (p.offset < p.data.size()) return;
  buffers().recycle(p.data);
  held_->pending.reset();
  rearm();
  flush();
}

std::uint32_t ConnectionImpl::watchedEvents() const {
  return (has(kWatchRead) ? EPOLLIN : 0u) | (has(kWatchWrite) ? EPOLLOUT : 0u);
}

void ConnectionImpl::closeSocket() {
  runtime().loop().watch(fd_, this, watchedEvents(), 0);
  clear(kWatchRead);
  clear(kWatchWrite);
  ::close(fd_);
  fd_ = -1;
  // Freed after the batch of events being handled, which may still name it.
  runtime().loop().retire(this);
}

}  // namespace wman::detail

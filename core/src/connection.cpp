#include "wman/connection.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <uv.h>

#include <cstddef>
#include <cstring>

#include "detail/connection_impl.h"
#include "detail/datagram_connection.h"
#include "detail/outbound.h"

namespace wman {
namespace {

std::string formatAddress(const sockaddr_storage& addr) {
  char ip[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    uv_ip4_name(a, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(a->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    uv_ip6_name(a, ip, sizeof ip);
    return "[" + std::string(ip) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  return {};
}

// Peer (`peer` true) or local address of a connection; the socket path for unix sockets.
// The socket behind `c`: itself when accepted, an AsyncConnection's open link (or nullptr).
detail::ConnectionImpl* socketOf(const Connection& c, bool outbound) {
  auto& self = const_cast<Connection&>(c);
  return outbound ? detail::Outbound::of(self).openLink() : detail::ConnectionImpl::from(self);
}

std::string address(const Connection& c, bool outbound, bool peer) {
  auto* impl = socketOf(c, outbound);
  if (!impl) return {};
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  const int rc = peer ? ::getpeername(impl->fd(), sa, &len) : ::getsockname(impl->fd(), sa, &len);
  if (rc == 0 && addr.ss_family == AF_UNIX) {
    // The socket path (empty for an unnamed end, as a client's usually is).
    const auto* un = reinterpret_cast<const sockaddr_un*>(&addr);
    const std::size_t room =
        len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
    return std::string(un->sun_path, ::strnlen(un->sun_path, room));
  }
  return rc == 0 ? formatAddress(addr) : std::string();
}

}  // namespace

// An AsyncConnection (outbound_) goes through its Outbound, which queues while it connects;
// a udp:// worker's datagram connection (datagram_) answers its current sender; an accepted
// connection is its own ConnectionImpl.
SendStatus Connection::send(std::string_view data) {
  if (datagram_) return detail::DatagramConnection::of(*this).send(data, std::nullopt, false);
  if (outbound_) {
    auto& o = detail::Outbound::of(*this);
    return o.send(data, o.replyKind(), false);
  }
  auto* impl = detail::ConnectionImpl::from(*this);
  return impl->queue(data, impl->replyKind(), false);
}

SendStatus Connection::send(std::string_view data, MessageKind kind) {
  if (datagram_) return detail::DatagramConnection::of(*this).send(data, kind, false);
  if (outbound_) return detail::Outbound::of(*this).send(data, kind, false);
  return detail::ConnectionImpl::from(*this)->queue(data, kind, false);
}

SendStatus Connection::sendRaw(std::string_view bytes) {
  if (datagram_) return detail::DatagramConnection::of(*this).send(bytes, std::nullopt, true);
  if (outbound_) return detail::Outbound::of(*this).send(bytes, MessageKind::Binary, true);
  return detail::ConnectionImpl::from(*this)->queue(bytes, MessageKind::Binary, true);
}

void Connection::close(std::string_view data) {
  if (datagram_) {
    if (!data.empty()) send(data);
    return;
  }
  if (outbound_) return detail::Outbound::of(*this).close(data);
  detail::ConnectionImpl::from(*this)->close(data);
}

void Connection::close(int code, std::string_view reason) {
  // Codes outside 16 bits become 0, which the codec refuses to send (a Close without one).
  if (datagram_) return;
  const auto wire = code > 0 && code <= 0xffff ? static_cast<std::uint16_t>(code) : 0;
  if (outbound_) return detail::Outbound::of(*this).close(static_cast<std::uint16_t>(wire), reason);
  detail::ConnectionImpl::from(*this)->close(static_cast<std::uint16_t>(wire), reason);
}

void Connection::destroy() {
  if (datagram_) return;
  if (outbound_) return detail::Outbound::of(*this).destroy();
  detail::ConnectionImpl::from(*this)->destroy();
}

void Connection::pauseRecv() {
  if (datagram_) return;
  if (outbound_) return detail::Outbound::of(*this).pause();
  detail::ConnectionImpl::from(*this)->pause();
}

void Connection::resumeRecv() {
  if (datagram_) return;
  if (outbound_) return detail::Outbound::of(*this).resume();
  detail::ConnectionImpl::from(*this)->resume();
}

std::size_t Connection::bufferedAmount() const {
  if (datagram_) return 0;
  if (outbound_) return detail::Outbound::of(const_cast<Connection&>(*this)).buffered();
  return detail::ConnectionImpl::from(*this)->buffered();
}

std::string Connection::remoteAddress() const {
  if (datagram_) return detail::DatagramConnection::of(*this).remoteAddress();
  return address(*this, outbound_, true);
}

std::string Connection::localAddress() const {
  if (datagram_) return detail::DatagramConnection::of(*this).localAddress();
  return address(*this, outbound_, false);
}

std::string Connection::remoteIp() const {
  if (datagram_) return detail::DatagramConnection::of(*this).remoteIp();
  auto* impl = socketOf(*this, outbound_);
  if (!impl || impl->isPipe()) return {};
  std::string a = remoteAddress();
  auto colon = a.rfind(':');
  if (colon == std::string::npos) return a;
  a.resize(colon);
  if (a.size() >= 2 && a.front() == '[') a = a.substr(1, a.size() - 2);
  return a;
}

std::uint16_t Connection::remotePort() const {
  if (datagram_) return detail::DatagramConnection::of(*this).remotePort();
  auto* impl = socketOf(*this, outbound_);
  if (!impl || impl->isPipe()) return 0;
  std::string a = remoteAddress();
  auto colon = a.rfind(':');
  if (colon == std::string::npos || colon + 1 >= a.size()) return 0;
  return static_cast<std::uint16_t>(std::stoul(a.substr(colon + 1)));
}

}  // namespace wman

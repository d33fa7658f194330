#include "detail/datagram_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "detail/udp_endpoint.h"
#include "wman/resolve.h"

namespace wman::detail {

DatagramConnection::DatagramConnection(Worker& worker, UdpEndpoint& endpoint, ConnectionId id)
    : endpoint_(endpoint) {
  worker_ = &worker;
  id_ = id;
  datagram_ = true;
}

SendStatus DatagramConnection::send(std::string_view data, std::optional<MessageKind> kind,
                                    bool raw) {
  if (!peer_) return SendStatus::NotConnected;
  return endpoint_.send(socket_, peer_, peer_len_, data, kind.value_or(kind_), raw);
}

std::string DatagramConnection::remoteAddress() const {
  return peer_ ? SocketAddress(peer_, peer_len_).toString() : std::string();
}

std::string DatagramConnection::remoteIp() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (!peer_) return {};
  if (peer_->sa_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(peer_)->sin_addr, text, sizeof text);
  } else if (peer_->sa_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(peer_)->sin6_addr, text,
                sizeof text);
  }
  return text;
}

std::uint16_t DatagramConnection::remotePort() const {
  return peer_ ? SocketAddress(peer_, peer_len_).port() : 0;
}

std::string DatagramConnection::localAddress() const {
  return endpoint_.localAddress(socket_);
}

}  // namespace wman::detail

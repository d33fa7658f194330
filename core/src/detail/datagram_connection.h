// The Connection a udp:// worker's onMessage receives. A worker has one: before each decoded
// message it is pointed at the datagram's sender (and the socket the datagram came in on),
// and unbound after the call, so delivering a datagram allocates nothing. The contract for
// applications (docs/protocols.md): the reference is valid only during the callback; to
// answer later, keep remoteAddress() and use Worker::sendTo(). Once unbound it sends nothing
// (NotConnected) and reports no address.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "wman/connection.h"

namespace wman::detail {

class UdpEndpoint;

class DatagramConnection final : public Connection {
 public:
  DatagramConnection(Worker& worker, UdpEndpoint& endpoint, ConnectionId id);
  ~DatagramConnection() = default;

  static DatagramConnection& of(Connection& c) { return static_cast<DatagramConnection&>(c); }
  static const DatagramConnection& of(const Connection& c) {
    return static_cast<const DatagramConnection&>(c);
  }

  // Points the connection at `peer` (storage the caller keeps until unbind()), a datagram
  // that arrived on the endpoint's socket number `socket`; replies default to `kind`.
  void bind(const sockaddr* peer, socklen_t len, std::size_t socket, MessageKind kind) {
    peer_ = peer;
    peer_len_ = len;
    socket_ = socket;
    kind_ = kind;
  }
  void unbind() { peer_ = nullptr; }
  void setReplyKind(MessageKind kind) { kind_ = kind; }

  // One datagram to the current sender, encoded by the worker's codec unless `raw`.
  SendStatus send(std::string_view data, std::optional<MessageKind> kind, bool raw);

  std::string remoteAddress() const;
  std::string remoteIp() const;
  std::uint16_t remotePort() const;
  std::string localAddress() const;

 private:
  UdpEndpoint& endpoint_;
  const sockaddr* peer_ = nullptr;
  socklen_t peer_len_ = 0;
  std::size_t socket_ = 0;
  MessageKind kind_ = MessageKind::Binary;
};

}  // namespace wman::detail

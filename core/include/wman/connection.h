// A connection accepted by a Worker. Owned by the worker's runtime; user code gets a
// reference inside callbacks and keeps a ConnectionId for anything longer.
// A udp:// worker's onMessage gets a datagram connection instead: the sender of the datagram
// being delivered, valid only during that call (see docs/protocols.md, "udp://").
#pragma once

#include <any>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "wman/message.h"

namespace wman {

class Worker;
namespace detail {
class ConnectionImpl;
class DatagramConnection;
class Outbound;
}  // namespace detail

// Unique within one worker process for its whole life; never reused.
using ConnectionId = std::uint64_t;

// Result of Connection::send().
enum class SendStatus : std::uint8_t {
  Ok,            // Queued; no earlier bytes are waiting on the kernel.
  Buffered,      // Queued behind bytes the peer has not accepted yet (back-pressure).
  Dropped,       // Not sent: the connection is closing or its send buffer is full.
  NotConnected,  // Worker::send() only: no connection with that id any more.
};

// Workerman's STATUS_* names.
// Connecting: an AsyncConnection before its link is open (connect, TLS and protocol
// handshakes), or waiting to reconnect.
enum class ConnectionState : std::uint8_t { Established, Closing, Closed, Connecting };

// Error codes passed to Worker::onError besides a protocol's own codes.
namespace error_code {
inline constexpr int kSendFail = 2;  // A send was dropped because the send buffer was full.
// An AsyncConnection could not connect: resolve, connect, TLS or handshake failure, timeout.
inline constexpr int kConnectFail = 1;
}  // namespace error_code

class Connection {
 public:
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  ConnectionId id() const { return id_; }
  ConnectionState state() const { return state_; }
  Worker& worker() const { return *worker_; }

  // Encodes `data` with the worker's protocol and queues it; all sends of one loop iteration
  // are written together. The kind defaults to the kind of the message being answered, or the
  // protocol's default outside onMessage.
  SendStatus send(std::string_view data);
  SendStatus send(std::string_view data, MessageKind kind);
  // Sends a received message back with its own kind.
  SendStatus send(const Message& message) { return send(message.view(), message.kind()); }
  // Queues bytes as they are, bypassing the protocol's encoder.
  SendStatus sendRaw(std::string_view bytes);

  // Stops reading, flushes what is queued (plus `data`, encoded, if not empty), then closes.
  // onClose fires once the socket is closed. Safe to call from any callback, repeatedly.
  // WebSocket: `data` goes out as a message, then a Close frame with code 1000.
  // UDP (no connection to close): sends `data`, if not empty, as one datagram; nothing else.
  void close(std::string_view data = {});
  // WebSocket: closes with `code` (1000, 1001, 1008, 1011, 3000-4999, ...) and `reason`
  // (cut to 123 bytes at a character boundary); a code that may not be sent (1005, 1006,
  // 1015, out of range) sends a Close without one. Other protocols: the same as close().
  void close(int code, std::string_view reason);
  // Closes now, discarding unsent data. onClose still fires.
  void destroy();

  // Stop / restart reading from the peer (back-pressure towards the peer). No-ops for UDP,
  // whose socket is shared by every sender.
  void pauseRecv();
  void resumeRecv();
  bool isPaused() const { return paused_; }

  // Bytes queued and not yet accepted by the kernel.
  std::size_t bufferedAmount() const;
  // onBufferFull fires when bufferedAmount() reaches this; further sends are Dropped until
  // the buffer drains. Starts at the worker's limits.max_send_buffer.
  std::size_t maxSendBuffer = 0;

  // Peer and local addresses as "ip:port" ("[v6]:port" for IPv6, the path for unix sockets).
  std::string remoteAddress() const;
  std::string remoteIp() const;
  std::uint16_t remotePort() const;
  std::string localAddress() const;

  std::uint64_t bytesRead() const { return bytes_read_; }
  std::uint64_t bytesWritten() const { return bytes_written_; }

  // The bus (wman/bus.h, docs/cluster.md), for accepted connections. clientId() is this
  // connection's address from any worker or node ("node:incarnation:worker:id"; a stale id
  // never reaches a newer connection). A uid may have many connections; a connection has at
  // most one uid and any number of groups. All membership ends when the connection closes
  // (after onClose, which still sees it).
  std::string clientId() const;
  void bindUid(std::string_view uid);  // replaces an earlier uid; "" unbinds
  void unbindUid();
  const std::string& uid() const;  // "" when unbound
  void joinGroup(std::string_view group);
  void leaveGroup(std::string_view group);
  std::vector<std::string> groups() const;

  // Free slot for the application (Workerman lets apps hang properties on a connection).
  std::any context;

 protected:
  Connection() = default;
  ~Connection() = default;

  // The connection machinery updates the application-visible state of an AsyncConnection
  // (which is not itself the socket's connection object) through these.
  friend class detail::ConnectionImpl;
  friend class detail::DatagramConnection;
  friend class detail::Outbound;

  // An accepted stream connection: the only kind with an address on the bus.
  bool onBus() const { return !outbound_ && !datagram_ && worker_ != nullptr; }

  Worker* worker_ = nullptr;
  ConnectionId id_ = 0;
  ConnectionState state_ = ConnectionState::Established;
  bool paused_ = false;
  bool outbound_ = false;  // an AsyncConnection: the methods above go through its link
  bool datagram_ = false;  // a udp:// worker's DatagramConnection: they act on its sender
  std::uint64_t bytes_read_ = 0;
  std::uint64_t bytes_written_ = 0;
};

}  // namespace wman

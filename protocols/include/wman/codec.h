// The protocol contract every wman codec implements: Workerman's input/decode/encode
// over byte spans, with no sockets, no loop, no clocks and no logging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wman/slot_allocator.h"

namespace wman {

class RequestSession;

using ByteSpan = std::span<const std::byte>;

// How a message's payload is meant to be read. Text/frame/tcp codecs always produce one kind;
// WebSocket carries it per message.
enum class MessageKind : std::uint8_t { Text, Binary };

// Error codes a codec reports in DecodeResult::code. WebSocket codecs use RFC 6455 close
// codes (1002, 1007, 1009, ...) instead; both share the field.
namespace codec_error {
inline constexpr std::uint16_t kTooLarge = 1009;   // A message exceeds the configured maximum.
inline constexpr std::uint16_t kMalformed = 1002;  // The bytes violate the protocol.
}  // namespace codec_error

// Limits a peer cannot exceed; a codec enforces them while decoding.
struct CodecLimits {
  // Largest message (line, frame, ...) accepted, in bytes, headers included. Workerman's
  // default maxPackageSize is 10 MiB; wman uses the same.
  std::size_t max_package_size = 10 * 1024 * 1024;
};

// A parsed upgrade request, handed to the application before a session protocol answers it
// (onWebSocketConnect). Views point into codec-owned storage, valid until the answer.
struct HandshakeRequest {
  std::string_view method;
  std::string_view path;                                               // without the query
  std::string_view query;                                              // without the '?'
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // as received
  // First header named `name` (ASCII case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
};

// The application's verdict on a HandshakeRequest.
struct HandshakeAnswer {
  int status = 101;         // 101 accepts; 4xx/5xx rejects with that status
  std::string reason;       // body/reason text for a rejection
  std::string subprotocol;  // chosen Sec-WebSocket-Protocol ("" = none)
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
};

// Outcome of one decode() call.
//  - NeedMore: no complete message yet. `consumed` may still be > 0 when the codec used bytes
//    internally (the caller drops them and calls again if input remains).
//  - Message: one message; `payload` points into the input span (or into codec-owned storage)
//    and stays valid until the next decode() call or until the input is dropped. `consumed`
//    is the number of input bytes the message occupied.
//  - Error: the input violates the protocol or a limit; the connection must close. `code` and
//    `reason` (a static string) say why. The caller sends encodeError()'s bytes first.
//  Session protocols (websocket, http) add:
//  - Handshake: server role: a complete upgrade request was consumed; the caller reads
//    handshakeRequest(), asks the application, and sends answerHandshake()'s bytes.
//    Client role (a codec that wrote encodeOpening()): the server's acceptance was consumed
//    and validated; the session is open (isOpen() true) and nothing is to be answered.
//  - Ping / Pong: a control frame; `payload` is its application data. The caller answers a
//    Ping with encodeControl(Pong, ...) by itself.
//  - Close: the peer started or answered the close handshake; `code` and `payload` (the
//    reason) carry what it sent (code 1005 when it sent none). The caller answers with
//    encodeControl(Close, ...) unless it already sent one, then closes after flushing.
//  Request/response protocols (http) add, through requests():
//  - Request: a request is ready to be answered: complete, or only its head when its body
//    is streamed (RequestSession::bodyStreamed()) or the client waits for a 100 Continue.
//  - Body: the next piece of a streamed request body in `payload`; `code` is 1 on the last.
struct DecodeResult {
  enum class Status : std::uint8_t {
    NeedMore,
    Message,
    Error,
    Handshake,
    Ping,
    Pong,
    Close,
    Request,
    Body
  };

  Status status = Status::NeedMore;
  std::size_t consumed = 0;
  ByteSpan payload{};
  MessageKind kind = MessageKind::Binary;
  std::uint16_t code = 0;
  std::string_view reason{};

  static DecodeResult needMore(std::size_t consumed = 0) {
    return DecodeResult{Status::NeedMore, consumed, {}, MessageKind::Binary, 0, {}};
  }
  static DecodeResult message(std::size_t consumed, ByteSpan payload, MessageKind kind) {
    return DecodeResult{Status::Message, consumed, payload, kind, 0, {}};
  }
  static DecodeResult error(std::uint16_t code, std::string_view reason) {
    return DecodeResult{Status::Error, 0, {}, MessageKind::Binary, code, reason};
  }
};

// One codec instance serves one connection, so it may keep parsing state between calls
// (for example how far it already scanned for a delimiter). Not thread-safe. A codec lives
// as long as its connection, so codecs are allocated from slots (wman/slot_allocator.h):
// keep the state of an idle connection small, and allocate the rest only while in use.
class Codec : public SlotAllocated {
 public:
  virtual ~Codec() = default;

  // Decodes at most one message from the front of `input`, which holds every byte received
  // and not yet consumed. Must not throw. A codec may rewrite bytes of `input` in place (the
  // WebSocket codec unmasks there), including bytes it has not consumed yet: `input` must be
  // writable memory the caller owns and keeps unchanged until consumed (the runtime's read
  // buffers are).
  virtual DecodeResult decode(ByteSpan input) = 0;

  // Appends the wire form of one message to `out`. Must not throw except std::bad_alloc.
  virtual void encode(ByteSpan payload, MessageKind kind, std::string& out) = 0;

  // Gathered sends. When the wire form of a message is a head, the payload's bytes as they
  // are, then a fixed tail, appends the head to `head`, points `tail` at static storage and
  // returns true: the caller may then hand a large payload to the kernel from where it lies
  // (one gathered write of head, payload and tail) instead of copying it. Returns false,
  // appending nothing, when the codec transforms the payload (compression, masking); the
  // caller then uses encode(). Both ways put the same bytes on the wire.
  virtual bool encodeHead(ByteSpan payload, MessageKind kind, std::string& head,
                          std::string_view& tail) {
    return false;
  }

  // The kind of message this codec produces by default (used when the user sends a string
  // without choosing a kind).
  virtual MessageKind defaultKind() const { return MessageKind::Binary; }

  // True while the codec holds part of a message that earlier decode() calls consumed (a
  // fragmented WebSocket message in progress). Input the caller still holds is not counted:
  // the caller sees that itself. The runtime bounds how long a peer may keep either.
  virtual bool inMessage() const { return false; }

  // Session protocols only (the defaults suit stateless codecs):

  // Client role: appends what must be sent first once an outbound connection is established
  // (a WebSocket upgrade request), before any encode(). Nothing by default, so an outbound
  // connection of a stateless codec simply starts sending.
  virtual void encodeOpening(std::string& out) {}

  // False while a handshake is pending: the connection is not open to the application yet
  // (no onConnect, sends are held back by the caller).
  virtual bool isOpen() const { return true; }
  // After a Handshake result: the parsed request.
  virtual const HandshakeRequest* handshakeRequest() const { return nullptr; }
  // Appends the response for `answer` (101 + negotiated headers, or the rejection) to `out`.
  // Returns true if the session is now open, false if the caller must close after flushing.
  virtual bool answerHandshake(const HandshakeAnswer& answer, std::string& out) { return false; }
  // Appends a control message (Ping, Pong or Close with `code` and `payload` as reason).
  virtual void encodeControl(DecodeResult::Status kind, std::uint16_t code, ByteSpan payload,
                             std::string& out) {}
  // Appends what the peer should receive before the connection closes on a decode Error
  // (a WebSocket close frame with the code, an HTTP 400...). Nothing by default.
  virtual void encodeError(std::uint16_t code, std::string_view reason, std::string& out) {}
  // Client role: after Handshake, the subprotocol the server agreed to ("" for none, and for
  // every codec without subprotocols).
  virtual std::string_view subprotocol() const { return {}; }
  // True while the runtime's heartbeat may ping this session (encodeControl(Ping) means
  // something to the peer): an open WebSocket session.
  virtual bool pings() const { return false; }

  // Request/response protocols (http): the server side of the exchange while the connection
  // carries requests (wman/request_session.h); nullptr for every other protocol, and once an
  // upgrade handed the connection over to another one.
  virtual RequestSession* requests() { return nullptr; }
};

inline ByteSpan asBytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view asString(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace wman

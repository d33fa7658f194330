// The client role of RFC 6455 (with RFC 7692 permessage-deflate) as a pure codec, for outbound
// ws:// and wss:// connections: it writes the opening request, validates the 101 response,
// then masks every frame it sends and rejects masked frames from the server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/http_request_parser.h"
#include "websocket/frame_session.h"
#include "websocket/websocket_client_options.h"
#include "wman/codec.h"
#include "wman/protocol_registry.h"

namespace wman {

// One client-side WebSocket connection. Not thread-safe; one instance per connection (a
// reconnect creates a new one, so it gets a fresh key).
//
// Life cycle, driven by the caller (the core's AsyncConnection):
//  1. Once the transport is connected: encodeOpening() appends the upgrade request with a
//     fresh Sec-WebSocket-Key. isOpen() is false; the caller holds sends back.
//  2. decode() reads the response head. NeedMore consumes what it was given while the head is
//     incomplete. A valid 101 gives Handshake with `consumed` = the head's size, and the
//     session is open (isOpen() true): nothing is answered, unlike the server role. Bytes
//     after the head are frames, left in the caller's buffer for the next decode(). Any
//     problem is Error with `reason` "handshake: ..." and `code` = the response's status
//     when it was not 101, else 1002; encodeError() then writes nothing and the caller closes.
//  3. Open: as the server role (ws::FrameSession), except that masked frames are a 1002
//     error, and frames sent are masked with a fresh key from the random source each.
//  4. After the server's Close, decode() discards whatever follows.
class WebSocketClientCodec final : public Codec {
 public:
  // Messages (after reassembly and decompression) may be at most limits.max_package_size
  // bytes. Throws std::invalid_argument with checkClientOptions()'s reason if `options` is
  // not usable (so a bad configuration fails when the connection is set up, not on the wire).
  WebSocketClientCodec(const CodecLimits& limits, WebSocketClientOptions options);
  ~WebSocketClientCodec() override;
  WebSocketClientCodec(const WebSocketClientCodec&) = delete;
  WebSocketClientCodec& operator=(const WebSocketClientCodec&) = delete;

  // Appends the upgrade request (the first call only; later calls append nothing).
  void encodeOpening(std::string& out) override;

  // See the class comment for the phases. Never throws: an allocation failure is an Error
  // with code 1011. Before encodeOpening(), any input is an Error (a server speaks second).
  DecodeResult decode(ByteSpan input) override;

  // Once open: appends one masked FIN frame, compressed with RSV1 when permessage-deflate
  // was negotiated and the payload is at least min_compress_size bytes. Before the session
  // is open, appends nothing (the caller holds sends back until isOpen()).
  void encode(ByteSpan payload, MessageKind kind, std::string& out) override;

  MessageKind defaultKind() const override { return options_.default_kind; }
  bool inMessage() const override { return session_.inMessage(); }
  // True once decode() returned Handshake, and from then on.
  bool isOpen() const override { return open_; }
  // The heartbeat may ping an open session.
  bool pings() const override { return open_; }

  // Once open: appends a masked Ping, Pong or Close frame (rules as the server codec's).
  void encodeControl(DecodeResult::Status kind, std::uint16_t code, ByteSpan payload,
                     std::string& out) override;

  // Once open: a masked Close frame with `code` and `reason`. Before: nothing, as a client
  // has no way to tell a server its response was refused but to close.
  void encodeError(std::uint16_t code, std::string_view reason, std::string& out) override;

  // After Handshake: the subprotocol the server chose, "" for none.
  std::string_view subprotocol() const override { return subprotocol_; }

  // After Handshake: the negotiated permessage-deflate parameters, or nullptr.
  const ws::DeflateParams* deflateParams() const { return session_.deflateParams(); }

 private:
  enum class Phase : std::uint8_t { Created, AwaitingResponse, Open, PeerClosed, Failed };

  DecodeResult decodeResponse(ByteSpan input);
  DecodeResult decodeFrame(ByteSpan input);
  DecodeResult fail(std::uint16_t code, std::string_view reason);

  WebSocketClientOptions options_;
  Phase phase_ = Phase::Created;
  bool open_ = false;
  std::uint16_t failure_code_ = 0;
  std::string_view failure_reason_{};
  // Handshake phase only: the Sec-WebSocket-Accept the server must send, and its parser.
  std::string expected_accept_;
  std::unique_ptr<HttpRequestParser> response_parser_;
  std::string subprotocol_;
  // The open phase, shared with the server role; it masks with options_.random.
  ws::FrameSession session_;
};

// A factory for client codecs with `options` (checked once here: throws
// std::invalid_argument with the reason when they are unusable). The core's AsyncConnection
// keeps it and calls it for every (re)connection, so each attempt gets a fresh codec and key.
CodecFactory webSocketClientCodecFactory(WebSocketClientOptions options);

}  // namespace wman

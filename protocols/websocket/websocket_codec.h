// The "websocket" protocol: an RFC 6455 server session (opening handshake, frames, control
// frames, close handshake) with RFC 7692 permessage-deflate, as a pure codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/http_request_parser.h"
#include "websocket/deflate.h"
#include "websocket/frame_session.h"
#include "wman/codec.h"
#include "wman/protocol_registry.h"

namespace wman {

// Per-listener settings of the websocket codec. The message size limit is not here: it is
// CodecLimits::max_package_size, like every codec's.
struct WebSocketOptions {
  // Bound on the handshake request head (request line, headers, blank line); beyond it the
  // handshake fails with 431.
  std::size_t max_header_size = HttpRequestParser::kDefaultMaxHeaderSize;
  // Accept permessage-deflate offers (off by default, like [worker.websocket]: it costs
  // about 40 KiB per connection that receives compressed data and ~256 KiB per connection
  // the server compresses for at the default window and memLevel).
  bool permessage_deflate = false;
  // How permessage-deflate is negotiated and run when enabled.
  ws::DeflateOptions deflate{};
  // The kind of a message sent without one (defaultKind()): text, like Workerman's default
  // binaryType, unless the worker's binary_type says "binary".
  MessageKind default_kind = MessageKind::Text;
};

// One server-side WebSocket connection. Not thread-safe; one instance per connection.
//
// Life cycle, driven by the caller (the core's connection):
//  1. Handshake phase, isOpen() false: decode() consumes the HTTP request head and returns
//     Handshake once it is a valid RFC 6455 opening handshake, or Error with code = the HTTP
//     status (400, 405, 426, 431); encodeError() then writes that HTTP response. Until
//     answerHandshake() is called, decode() returns NeedMore without consuming, so frames
//     that arrived with the request stay buffered.
//  2. answerHandshake(): 101 opens the session (isOpen() true), anything else writes the
//     rejection and the caller closes.
//  3. Open phase: decode() returns Message / Ping / Pong / Close or Error with an RFC 6455
//     close code (1002, 1007, 1009); encodeError() then writes the Close frame.
//  4. After a Close from the peer, decode() discards whatever follows (NeedMore with all of
//     the input consumed): RFC 6455 5.5.1 says no data may follow a Close.
//
// In place: to stay zero-copy, decode() unmasks client frames in the caller's buffer, which
// must therefore be writable (the core's read buffer is; a buffer in read-only memory is
// not). It rewrites only payload bytes of the frame at the front of `input` and remembers how
// far it got, so those bytes, consumed or not, must not be changed or re-read from the
// network by the caller. Payload views: an unfragmented, uncompressed data frame, and every
// control frame, point into `input`; fragmented and compressed messages into codec storage.
// Either is valid until the next decode() call.
class WebSocketCodec final : public Codec {
 public:
  // Messages (after reassembly and decompression) may be at most limits.max_package_size
  // bytes; frame headers do not count.
  explicit WebSocketCodec(const CodecLimits& limits = {}, const WebSocketOptions& options = {});
  // Options shared by every codec of a listener (webSocketCodecFactory): a codec holds one
  // counted pointer to them rather than a copy, or a shared_ptr's two words, as each of a
  // million idle connections pays for what its codec holds.
  class SharedOptions {
   public:
    explicit SharedOptions(const WebSocketOptions& options);
    SharedOptions(const SharedOptions& other) noexcept;
    SharedOptions& operator=(const SharedOptions&) = delete;
    ~SharedOptions();
    const WebSocketOptions* operator->() const noexcept;

   private:
    struct Block;
    Block* block_;
  };
  // The same with options shared by every codec of a listener.
  WebSocketCodec(const CodecLimits& limits, const SharedOptions& options);
  ~WebSocketCodec() override;

  // See the class comment for the phases. Never throws: an allocation failure is an Error
  // with code 1011.
  DecodeResult decode(ByteSpan input) override;

  // Appends one unmasked FIN frame (Text or Binary per `kind`); compressed with RSV1 when
  // permessage-deflate was negotiated and the payload is at least min_compress_size bytes.
  void encode(ByteSpan payload, MessageKind kind, std::string& out) override;
  // The frame header alone when the payload goes out unchanged (not compressed).
  bool encodeHead(ByteSpan payload, MessageKind kind, std::string& head,
                  std::string_view& tail) override;

  // WebSocketOptions::default_kind (text unless configured otherwise).
  MessageKind defaultKind() const override { return options_->default_kind; }

  // True between the first and the last fragment of a fragmented message.
  bool inMessage() const override { return session_.inMessage(); }

  // True once answerHandshake() accepted the session, and from then on.
  bool isOpen() const override { return open_; }
  // The heartbeat may ping an open session.
  bool pings() const override { return open_; }

  // After a Handshake result and until answerHandshake(): the request (views into the codec).
  const HandshakeRequest* handshakeRequest() const override;

  // status 101: appends "101 Switching Protocols" with Sec-WebSocket-Accept, the
  // subprotocol if `answer.subprotocol` is one the client offered (ignored otherwise), the
  // negotiated permessage-deflate response, and `answer.headers`; returns true and the
  // session is open. Any other status: appends that HTTP response with `answer.reason` as
  // the body and returns false. Without a pending Handshake result, appends nothing and
  // returns false.
  bool answerHandshake(const HandshakeAnswer& answer, std::string& out) override;

  // Appends a Ping, Pong or Close frame. Ping/Pong payloads are cut to 125 bytes. A Close
  // carries `code` and `payload` as its reason (cut to 123 bytes at a UTF-8 boundary), or
  // nothing when `code` is 1005 or another code that may not be sent (1004-1006, 1015, ...).
  void encodeControl(DecodeResult::Status kind, std::uint16_t code, ByteSpan payload,
                     std::string& out) override;

  // Before the session is open: the HTTP error response for status `code` (a non-HTTP code
  // is sent as 400) with `reason` as its body. Once open: a Close frame with `code`, `reason`.
  void encodeError(std::uint16_t code, std::string_view reason, std::string& out) override;

  // The negotiated permessage-deflate parameters, or nullptr if it is not in use.
  const ws::DeflateParams* deflateParams() const { return session_.deflateParams(); }

 private:
  enum class Phase : std::uint8_t { Request, AwaitingAnswer, Open, PeerClosed, Rejected, Failed };

  DecodeResult decodeRequest(ByteSpan input);
  DecodeResult decodeFrame(ByteSpan input);
  DecodeResult fail(std::uint16_t code, std::string_view reason);
  bool openDeflate(const HandshakeRequest& request);

  // Shared, read-only: one copy per listener, not per connection.
  SharedOptions options_;

  // Handshake phase only; freed once answered so an open connection does not keep it.
  std::unique_ptr<HttpRequestParser> request_parser_;

  // The Error decode() repeats once failed, kept in three fields (a DecodeResult is 56
  // bytes): the code, and the reason (a static string) as its start and length.
  const char* failure_reason_ = nullptr;

  // The open phase, shared with the client role. Its tail padding holds the fields below.
  [[no_unique_address]] ws::FrameSession session_;
  Phase phase_ = Phase::Request;
  bool open_ = false;
  std::uint16_t failure_code_ = 0;
  std::uint16_t failure_reason_size_ = 0;
};

// A registry factory for websocket codecs with `options` (the built-in "websocket" uses the
// defaults); the core uses it to apply [worker.websocket].
CodecFactory webSocketCodecFactory(const WebSocketOptions& options);

}  // namespace wman

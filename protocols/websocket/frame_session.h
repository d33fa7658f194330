// The open phase of an RFC 6455 connection, for either role: the frame decoder (fragmentation,
// control frames, UTF-8, close payloads, message size, permessage-deflate) and the frame
// encoders. WebSocketCodec (server) and WebSocketClientCodec drive one after their handshakes,
// so both roles share one implementation of section 5 and of RFC 7692 7.2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "websocket/byte_buffer.h"
#include "websocket/deflate.h"
#include "websocket/frame_parser.h"
#include "websocket/utf8_validator.h"
#include "wman/codec.h"

namespace wman::ws {

// Fills its argument with unpredictable bytes (RFC 6455 10.3: masking keys must not be
// guessable by the application's peers). Supplied by whoever creates a client codec, since
// protocols/ has no entropy source of its own; the core passes OpenSSL's CSPRNG.
using RandomSource = std::function<void(std::span<std::byte>)>;

// Not thread-safe; one instance per connection, created when its handshake succeeded.
class FrameSession {
 public:
  // A Server session requires masked frames and sends unmasked ones; a Client session
  // forbids masked frames and masks each frame it sends with 4 fresh bytes from `*random`,
  // which must then be non-null and outlive the session (the server passes nullptr).
  // Messages may be at most `max_message` bytes after reassembly and decompression.
  FrameSession(Role role, std::size_t max_message, const RandomSource* random = nullptr);
  ~FrameSession();

  // Turns on permessage-deflate with the negotiated `params` (RSV1 becomes legal).
  void enableDeflate(const DeflateParams& params, const DeflateOptions& options);

  // Decodes the frame at the front of `input` (the codec contract: writable, continued by the
  // next call). Returns Message, Ping, Pong, Close, NeedMore or Error with an RFC 6455 close
  // code. After an Error or a Close the caller must not call it again. Frames are processed
  // in place as their bytes arrive (unmasked, UTF-8 checked, inflated), so each byte is
  // touched once however many reads a frame spans. May throw std::bad_alloc.
  DecodeResult decode(ByteSpan input);

  // Appends one FIN data frame, compressed with RSV1 when deflate is on and the payload is
  // at least min_compress_size bytes, masked in the Client role.
  void encode(ByteSpan payload, MessageKind kind, std::string& out);
  // Appends the header of the frame encode() would write and returns true when its payload
  // goes out unchanged (server role, not compressed); else appends nothing, returns false.
  bool encodeHead(ByteSpan payload, MessageKind kind, std::string& head);

  // Appends a Ping, Pong or Close frame; see WebSocketCodec::encodeControl for the rules.
  void encodeControl(DecodeResult::Status kind, std::uint16_t code, ByteSpan payload,
                     std::string& out);

  // True between the first and the last fragment of a fragmented message.
  bool inMessage() const { return in_message_; }

  // The negotiated permessage-deflate parameters, or nullptr if it is not in use.
  const DeflateParams* deflateParams() const { return deflate_ ? &deflate_->params() : nullptr; }

 private:
  // Every frame decode() does not take on its fast path: fragments, control frames,
  // compressed or partial frames, and errors. Kept out of line so decode() stays small
  // (few registers to save) for the frames that are whole messages.
  [[gnu::noinline]] DecodeResult decodeFrame(ByteSpan input);
  DecodeResult checkSessionRules(const FrameHeader& frame);
  DecodeResult processPayload(const FrameHeader& frame, std::byte* data, std::size_t size);
  DecodeResult finishFrame(const FrameHeader& frame, std::byte* payload, std::size_t consumed);
  DecodeResult finishClose(ByteSpan payload, std::size_t consumed);
  DecodeResult inflateChecked(ByteSpan in, bool finish, bool text);
  DecodeResult deliverAssembled(std::size_t consumed);
  void appendFrame(std::uint8_t opcode, ByteSpan payload, std::string& out);
  void appendCompressed(std::uint8_t opcode, ByteSpan payload, std::string& out);
  // Client role: draws a fresh key into `key` and returns it; Server role: nullptr.
  const std::byte* nextMaskKey(std::byte (&key)[4]);

  // Wider fields first: the one-byte ones share the last word (and the codec that holds
  // this session may use its tail padding).
  std::size_t max_message_;
  const RandomSource* random_;
  std::unique_ptr<PerMessageDeflate> deflate_;
  // Payload bytes of the frame at the front of the input already unmasked and checked, so
  // a frame arriving in many reads is processed once in total.
  std::uint64_t frame_done_ = 0;
  // A fragmented or compressed data message's payload so far (unallocated between messages).
  ByteBuffer message_;
  FrameRules rules_{};
  // The message in progress: its kind, and whether message_ was returned last (to clear it
  // on the next call).
  bool in_message_ = false;
  bool message_text_ = false;
  bool message_compressed_ = false;
  bool message_delivered_ = false;
  Role role_;
  Utf8Validator utf8_;
};

}  // namespace wman::ws

// The protocol contract every wman codec implements: Workerman's input/decode/encode
// over byte spans, with no sockets, no loop, no clocks and no logging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace wman {

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

// Outcome of one decode() call.
//  - NeedMore: no complete message yet. `consumed` may still be > 0 when the codec used bytes
//    internally (the caller drops them and calls again if input remains).
//  - Message: one message; `payload` points into the input span (or into codec-owned storage)
//    and stays valid until the next decode() call or until the input is dropped. `consumed`
//    is the number of input bytes the message occupied.
//  - Error: the input violates the protocol or a limit; the connection must close. `code` and
//    `reason` (a static string) say why.
struct DecodeResult {
  enum class Status : std::uint8_t { NeedMore, Message, Error };

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
// (for example how far it already scanned for a delimiter). Not thread-safe.
class Codec {
 public:
  virtual ~Codec() = default;

  // Decodes at most one message from the front of `input`, which holds every byte received
  // and not yet consumed. Must not throw.
  virtual DecodeResult decode(ByteSpan input) = 0;

  // Appends the wire form of one message to `out`. Must not throw except std::bad_alloc.
  virtual void encode(ByteSpan payload, MessageKind kind, std::string& out) = 0;

  // The kind of message this codec produces by default (used when the user sends a string
  // without choosing a kind).
  virtual MessageKind defaultKind() const { return MessageKind::Binary; }
};

inline ByteSpan asBytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view asString(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace wman

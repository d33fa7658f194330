// The "tcp" protocol: no framing at all, every read is a message (Workerman's plain TCP).
#pragma once

#include <cstddef>
#include <string>

#include "wman/codec.h"

namespace wman {

// Delivers the bytes exactly as they arrived. Stateless apart from the limit, so one instance
// could serve many connections, but the registry still hands out one per connection.
class RawCodec final : public Codec {
 public:
  // Messages are at most limits.max_package_size bytes (at least 1, so a zero limit cannot
  // stall the connection).
  explicit RawCodec(const CodecLimits& limits = {});

  // Returns all of `input` as one Binary message, or its first max_package_size bytes when the
  // input is larger (the caller calls again for the rest). Empty input yields NeedMore.
  // Never returns Error: raw TCP has no message boundary a peer could violate.
  DecodeResult decode(ByteSpan input) override;

  // Appends `payload` unchanged; `kind` is ignored because raw TCP cannot carry it.
  void encode(ByteSpan payload, MessageKind kind, std::string& out) override;
  bool encodeHead(ByteSpan, MessageKind, std::string&, std::string_view& tail) override {
    tail = {};
    return true;
  }

 private:
  std::size_t max_chunk_;
};

}  // namespace wman

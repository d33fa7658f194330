// The "frame" protocol: a 4-byte big-endian length that counts itself, then the body
// (Workerman's Frame protocol).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "wman/codec.h"

namespace wman {

// Length-prefixed binary messages. Stateless between calls: the header is re-read from the
// front of the input each time, which costs four loads.
class FrameCodec final : public Codec {
 public:
  // Bytes in the length header.
  static constexpr std::size_t kHeaderSize = 4;

  // Frames, header included, may be at most limits.max_package_size bytes.
  explicit FrameCodec(const CodecLimits& limits = {});

  // Returns one frame's body as a Binary message pointing into `input`; `consumed` is the
  // frame's total length. Errors as soon as the header is complete: kMalformed when the length
  // is below 4, kTooLarge when it exceeds max_package_size (the header counts toward it).
  DecodeResult decode(ByteSpan input) override;

  // Appends the header (payload size + 4) and `payload`; `kind` is ignored. Throws
  // std::length_error, leaving `out` unchanged, if payload size + 4 does not fit in 32 bits,
  // because no header could describe that frame.
  void encode(ByteSpan payload, MessageKind kind, std::string& out) override;
  bool encodeHead(ByteSpan payload, MessageKind kind, std::string& head,
                  std::string_view& tail) override;

 private:
  std::size_t max_frame_;
};

}  // namespace wman

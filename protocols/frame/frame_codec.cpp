#include "frame/frame_codec.h"

#include <limits>
#include <stdexcept>

namespace wman {

FrameCodec::FrameCodec(const CodecLimits& limits) : max_frame_(limits.max_package_size) {}

DecodeResult FrameCodec::decode(ByteSpan input) {
  if (input.size() < kHeaderSize) return DecodeResult::needMore();
  const auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(input[i]); };
  const std::uint32_t length = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
  if (length < kHeaderSize) {
    return DecodeResult::error(codec_error::kMalformed, "frame length smaller than its header");
  }
  if (length > max_frame_) {
    return DecodeResult::error(codec_error::kTooLarge, "frame exceeds max_package_size");
  }
  if (input.size() < length) return DecodeResult::needMore();
  return DecodeResult::message(length, input.subspan(kHeaderSize, length - kHeaderSize),
                               MessageKind::Binary);
}

void FrameCodec::encode(ByteSpan payload, MessageKind kind, std::string& out) {
  std::string_view tail;
  encodeHead(payload, kind, out, tail);
  out.append(asString(payload));
}

bool FrameCodec::encodeHead(ByteSpan payload, MessageKind /*kind*/, std::string& head,
                            std::string_view& tail) {
  constexpr std::size_t kMaxPayload = std::numeric_limits<std::uint32_t>::max() - kHeaderSize;
  if (payload.size() > kMaxPayload) {
    throw std::length_error("wman::FrameCodec: payload does not fit a 32-bit frame length");
  }
  const auto length = static_cast<std::uint32_t>(payload.size() + kHeaderSize);
  const char header[kHeaderSize] = {static_cast<char>(length >> 24),
                                    static_cast<char>(length >> 16), static_cast<char>(length >> 8),
                                    static_cast<char>(length)};
  head.append(header, kHeaderSize);
  tail = {};
  return true;
}

}  // namespace wman

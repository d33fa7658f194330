#include "tcp/raw_codec.h"

#include <algorithm>

namespace wman {

// A limit of 0 would make every decode() a zero-byte message and the caller would spin
// forever, so at least one byte is always delivered.
RawCodec::RawCodec(const CodecLimits& limits)
    : max_chunk_(std::max<std::size_t>(limits.max_package_size, 1)) {}

DecodeResult RawCodec::decode(ByteSpan input) {
  if (input.empty()) return DecodeResult::needMore();
  const std::size_t n = std::min(input.size(), max_chunk_);
  return DecodeResult::message(n, input.first(n), MessageKind::Binary);
}

void RawCodec::encode(ByteSpan payload, MessageKind /*kind*/, std::string& out) {
  out.append(asString(payload));
}

}  // namespace wman

#include "text/text_codec.h"

#include <algorithm>
#include <cstring>

namespace wman {

TextCodec::TextCodec(const CodecLimits& limits) : max_line_(limits.max_package_size) {}

DecodeResult TextCodec::decode(ByteSpan input) {
  if (input.empty()) return DecodeResult::needMore();
  // A shorter input than what was already scanned means the caller started a new buffer;
  // rescanning is the only safe answer.
  if (scanned_ > input.size()) scanned_ = 0;

  // A newline beyond the first max_line_ bytes could only end an oversize line, so the search
  // never looks further; this also bounds the work for a huge read of garbage.
  const std::size_t window = std::min(input.size(), max_line_);
  const char* base = reinterpret_cast<const char*>(input.data());
  if (scanned_ < window) {
    const void* nl = std::memchr(base + scanned_, '\n', window - scanned_);
    if (nl != nullptr) {
      const std::size_t eol = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
      // The caller drops this line, so the next input starts at the next line.
      scanned_ = 0;
      const std::size_t len = (eol > 0 && base[eol - 1] == '\r') ? eol - 1 : eol;
      return DecodeResult::message(eol + 1, input.first(len), MessageKind::Text);
    }
    scanned_ = window;
  }

  // max_line_ bytes without a newline: even if the very next byte were "\n", the line would
  // be one byte too long, so there is no point waiting for it.
  if (input.size() >= max_line_) {
    scanned_ = 0;
    return DecodeResult::error(codec_error::kTooLarge, "line exceeds max_package_size");
  }
  return DecodeResult::needMore();
}

void TextCodec::encode(ByteSpan payload, MessageKind /*kind*/, std::string& out) {
  out.append(asString(payload));
  out.push_back('\n');
}

bool TextCodec::encodeHead(ByteSpan /*payload*/, MessageKind /*kind*/, std::string& /*head*/,
                           std::string_view& tail) {
  tail = "\n";
  return true;
}

}  // namespace wman

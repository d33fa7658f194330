// The "text" protocol: newline-terminated lines (Workerman's Text protocol).
#pragma once

#include <cstddef>
#include <string>

#include "wman/codec.h"

namespace wman {

// Splits the byte stream at '\n'. Remembers how far it already searched, so a long line that
// arrives in many reads is scanned once in total, not once per read.
class TextCodec final : public Codec {
 public:
  // Lines, terminator included, may be at most limits.max_package_size bytes.
  explicit TextCodec(const CodecLimits& limits = {});

  // Returns the first line as a Text message without its "\n" (and without a "\r" right before
  // it); `consumed` includes the "\n". A line whose length with the "\n" would exceed
  // max_package_size is an Error(kTooLarge) as soon as that many bytes are buffered without a
  // newline. Expects `input` to start where the previous call's input started plus the bytes
  // consumed since (the read-buffer contract of Codec::decode).
  DecodeResult decode(ByteSpan input) override;

  // Appends `payload` and "\n". The payload must not contain "\n" itself, or the peer sees
  // several lines; the codec does not check because Workerman does not either.
  void encode(ByteSpan payload, MessageKind kind, std::string& out) override;
  bool encodeHead(ByteSpan payload, MessageKind kind, std::string& head,
                  std::string_view& tail) override;

  // Text, so a string sent without a kind goes out as a line of text.
  MessageKind defaultKind() const override { return MessageKind::Text; }

 private:
  std::size_t max_line_;
  // Bytes at the front of the pending input already known to contain no '\n'.
  std::size_t scanned_ = 0;
};

}  // namespace wman

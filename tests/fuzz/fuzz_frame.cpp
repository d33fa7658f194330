// libFuzzer target for the "frame" codec. The first byte picks the read size of a simulated
// connection (0 = everything at once), the second the frame limit; the rest is the peer's bytes.
// Every result is checked against the frame rules, every frame must re-encode to the exact
// bytes it came from, and the events must equal those of feeding the same bytes in one read.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "frame/frame_codec.h"

#include "fuzz_check.h"

namespace {

using wman::asBytes;
using wman::asString;
using wman::CodecLimits;
using wman::DecodeResult;
using wman::FrameCodec;

struct Event {
  std::uint16_t error = 0;
  std::string payload;
  bool operator==(const Event&) const = default;
};

std::vector<Event> feed(std::string_view input, std::size_t read_size, std::size_t max) {
  FrameCodec codec{CodecLimits{max}};
  std::vector<Event> events;
  std::string buffer;
  std::size_t pos = 0;
  while (pos < input.size()) {
    const std::size_t n = read_size == 0 ? input.size() - pos : read_size;
    buffer.append(input.substr(pos, n));
    pos += std::min(n, input.size() - pos);

    while (!buffer.empty()) {
      const DecodeResult r = codec.decode(asBytes(buffer));
      FUZZ_CHECK(r.consumed <= buffer.size());
      // The oracle: a complete header announces the frame's total length.
      const bool have_header = buffer.size() >= FrameCodec::kHeaderSize;
      std::uint32_t length = 0;
      for (std::size_t i = 0; have_header && i < FrameCodec::kHeaderSize; ++i) {
        length = (length << 8) | static_cast<std::uint8_t>(buffer[i]);
      }

      if (r.status == DecodeResult::Status::Error) {
        FUZZ_CHECK(have_header);
        if (length < FrameCodec::kHeaderSize) {
          FUZZ_CHECK(r.code == wman::codec_error::kMalformed);
        } else {
          FUZZ_CHECK(r.code == wman::codec_error::kTooLarge);
          FUZZ_CHECK(length > max);
        }
        events.push_back({r.code, {}});
        return events;
      }
      if (r.status == DecodeResult::Status::NeedMore) {
        FUZZ_CHECK(r.consumed == 0);
        FUZZ_CHECK(!have_header ||
                   (length >= FrameCodec::kHeaderSize && length <= max && buffer.size() < length));
        break;
      }
      FUZZ_CHECK(have_header && length >= FrameCodec::kHeaderSize && length <= max);
      FUZZ_CHECK(r.consumed == length);
      FUZZ_CHECK(r.kind == wman::MessageKind::Binary);
      const auto* begin = reinterpret_cast<const std::byte*>(buffer.data());
      FUZZ_CHECK(r.payload.size() == length - FrameCodec::kHeaderSize);
      FUZZ_CHECK(r.payload.empty() || r.payload.data() == begin + FrameCodec::kHeaderSize);
      std::string wire;
      codec.encode(r.payload, wman::MessageKind::Binary, wire);
      FUZZ_CHECK(wire == std::string_view(buffer).substr(0, r.consumed));
      events.push_back({0, std::string(asString(r.payload))});
      buffer.erase(0, r.consumed);
    }
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t read_size = data[0];
  const std::size_t max = data[1] == 0xff ? CodecLimits{}.max_package_size : data[1];
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::vector<Event> chunked = feed(input, read_size, max);
  FUZZ_CHECK(chunked == feed(input, 0, max));
  return 0;
}

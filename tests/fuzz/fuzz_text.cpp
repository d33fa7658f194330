// libFuzzer target for the "text" codec. The first byte picks the read size of a simulated
// connection (0 = everything at once), the second the line limit; the rest is the peer's bytes.
// Every result is checked against the line rules, and the events must equal those of feeding
// the same bytes in one read.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "text/text_codec.h"

#include "fuzz_check.h"

namespace {

using wman::asBytes;
using wman::asString;
using wman::CodecLimits;
using wman::DecodeResult;
using wman::TextCodec;

struct Event {
  bool error = false;
  std::string payload;
  bool operator==(const Event&) const = default;
};

// Encoding a decoded line and decoding it again must give the line back, unless the line ends
// in "\r": that one would be taken for a CRLF terminator, as the protocol defines.
void checkRoundTrip(std::string_view line) {
  if (!line.empty() && line.back() == '\r') return;
  TextCodec codec;
  std::string wire;
  codec.encode(asBytes(line), wman::MessageKind::Text, wire);
  FUZZ_CHECK(wire.size() == line.size() + 1);
  const DecodeResult r = codec.decode(asBytes(wire));
  FUZZ_CHECK(r.status == DecodeResult::Status::Message);
  FUZZ_CHECK(r.consumed == wire.size());
  FUZZ_CHECK(asString(r.payload) == line);
}

std::vector<Event> feed(std::string_view input, std::size_t read_size, std::size_t max) {
  TextCodec codec{CodecLimits{max}};
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
      // The oracle: the first newline within the first `max` bytes ends a line.
      const std::size_t window = std::min(buffer.size(), max);
      const auto* nl = static_cast<const char*>(std::memchr(buffer.data(), '\n', window));

      if (r.status == DecodeResult::Status::Error) {
        FUZZ_CHECK(r.code == wman::codec_error::kTooLarge);
        FUZZ_CHECK(nl == nullptr && buffer.size() >= max);
        events.push_back({true, {}});
        return events;
      }
      if (r.status == DecodeResult::Status::NeedMore) {
        FUZZ_CHECK(r.consumed == 0);
        FUZZ_CHECK(nl == nullptr && buffer.size() < max);
        break;
      }
      FUZZ_CHECK(r.consumed >= 1);
      FUZZ_CHECK(nl == buffer.data() + r.consumed - 1);
      FUZZ_CHECK(r.kind == wman::MessageKind::Text);
      const auto* begin = reinterpret_cast<const std::byte*>(buffer.data());
      FUZZ_CHECK(r.payload.data() == begin);
      const bool crlf = r.consumed >= 2 && buffer[r.consumed - 2] == '\r';
      FUZZ_CHECK(r.payload.size() == r.consumed - (crlf ? 2 : 1));
      checkRoundTrip(asString(r.payload));
      events.push_back({false, std::string(asString(r.payload))});
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

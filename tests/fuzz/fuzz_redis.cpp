// libFuzzer target for the "redis" codec. The first byte picks the read size of a simulated
// connection (0 = everything at once), the second the reply limit; the rest is the server's
// bytes. Every reply must parse back with parseRedisReply, and the events must equal those of
// feeding the same bytes in one read.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "wman/redis_codec.h"
#include "wman/redis_reply.h"

#include "fuzz_check.h"

namespace {

using wman::asBytes;
using wman::asString;
using wman::CodecLimits;
using wman::DecodeResult;
using wman::RedisCodec;

struct Event {
  std::uint16_t error = 0;
  std::string payload;
  bool operator==(const Event&) const = default;
};

std::vector<Event> feed(std::string_view input, std::size_t read_size, std::size_t max) {
  RedisCodec codec{CodecLimits{max}};
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
      if (r.status == DecodeResult::Status::Error) {
        events.push_back({r.code, {}});
        return events;
      }
      if (r.status == DecodeResult::Status::Message) {
        // Canonical form may write an overflowing integer one byte longer than it came.
        FUZZ_CHECK(r.payload.size() <= 2 * max + 64);
        FUZZ_CHECK(wman::parseRedisReply(r.payload).has_value());
        events.push_back({0, std::string(asString(r.payload))});
      }
      buffer.erase(0, r.consumed);
      if (r.status == DecodeResult::Status::NeedMore && r.consumed == 0) break;
    }
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t read_size = data[0];
  const std::size_t max = data[1] == 0xff ? CodecLimits{}.max_package_size : data[1] * 16u;
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::vector<Event> chunked = feed(input, read_size, max);
  FUZZ_CHECK(chunked == feed(input, 0, max));
  return 0;
}

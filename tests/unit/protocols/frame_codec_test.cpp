// The "frame" protocol: one case per rule of the length-prefixed format and its limits, each
// fed whole, byte by byte and split at every offset.
#include <catch2/catch.hpp>

#include <sys/mman.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "frame/frame_codec.h"
#include "split_feed.h"

namespace wman {
namespace {

using namespace std::literals;
using test::Event;
using test::Feed;

constexpr std::string_view kTooSmall = "frame length smaller than its header";
constexpr std::string_view kTooBig = "frame exceeds max_package_size";

// Built by hand rather than with FrameCodec::encode so the tests do not trust the code under
// test to produce their inputs.
std::string header(std::uint32_t length) {
  return {static_cast<char>(length >> 24), static_cast<char>(length >> 16),
          static_cast<char>(length >> 8), static_cast<char>(length)};
}
std::string frame(std::string_view body) {
  return header(static_cast<std::uint32_t>(body.size() + 4)) + std::string(body);
}

Event binary(std::string_view s) {
  return Event::message(s, MessageKind::Binary);
}
Event malformed() {
  return Event::error(codec_error::kMalformed, kTooSmall);
}
Event tooLarge() {
  return Event::error(codec_error::kTooLarge, kTooBig);
}

test::CodecMaker maker(std::size_t max = CodecLimits{}.max_package_size) {
  return [max] { return std::make_unique<FrameCodec>(CodecLimits{max}); };
}

struct Row {
  const char* rule;
  std::string input;
  std::size_t max;
  Feed expected;
};

TEST_CASE("frame: every rule decodes identically however the input is split", "[frame]") {
  constexpr std::size_t kDefault = CodecLimits{}.max_package_size;
  const std::string body252(252, 'b');
  const std::string binary_body = "\0\xff\x80\n"s;

  const std::vector<Row> rows = {
      {"empty input", "", kDefault, {{}, 0}},
      {"partial header waits", "\0\0\0"s, kDefault, {{}, 3}},
      {"header alone waits for the body", header(9), kDefault, {{}, 4}},
      {"partial body waits", header(9) + "hel", kDefault, {{}, 7}},
      {"one exact frame", frame("hello"), kDefault, {{binary("hello")}, 0}},
      {"zero-length body", frame(""), kDefault, {{binary("")}, 0}},
      {"several frames in one input",
       frame("a") + frame("") + frame("ccc"),
       kDefault,
       {{binary("a"), binary(""), binary("ccc")}, 0}},
      {"a frame then a partial frame", frame("a") + header(6) + "x", kDefault, {{binary("a")}, 5}},
      {"binary body bytes pass through", frame(binary_body), kDefault, {{binary(binary_body)}, 0}},
      {"the length is big-endian", header(256) + body252, kDefault, {{binary(body252)}, 0}},
      {"length 0 is malformed", header(0), kDefault, {{malformed()}, 0}},
      {"length 1 is malformed", header(1) + "x", kDefault, {{malformed()}, 0}},
      {"length 2 is malformed", header(2) + "xy", kDefault, {{malformed()}, 0}},
      {"length 3 is malformed", header(3) + "xyz", kDefault, {{malformed()}, 0}},
      {"frame of exactly max bytes", frame("123456789012"), 16, {{binary("123456789012")}, 0}},
      {"frame of max+1 bytes", frame("1234567890123"), 16, {{tooLarge()}, 0}},
      {"an oversize header fails before its body arrives", header(17), 16, {{tooLarge()}, 0}},
      {"huge length under the default limit",
       header(0xffffffffu) + "x",
       kDefault,
       {{tooLarge()}, 0}},
      {"2 GiB length under the default limit", header(0x80000000u), kDefault, {{tooLarge()}, 0}},
      {"a good frame then an oversize one",
       frame("ok") + header(100) + "x",
       16,
       {{binary("ok"), tooLarge()}, 0}},
      {"nothing is delivered after the error",
       header(1) + frame("ok"),
       kDefault,
       {{malformed()}, 0}},
      {"malformed wins over a limit below the header", header(2), 3, {{malformed()}, 0}},
      {"a limit below the header refuses even empty frames", frame(""), 3, {{tooLarge()}, 0}},
      {"a limit of exactly the header allows empty frames",
       frame("") + frame(""),
       4,
       {{binary(""), binary("")}, 0}},
  };

  for (const Row& row : rows) {
    DYNAMIC_SECTION(row.rule) {
      CHECK(test::decodeEverySplit(maker(row.max), row.input) == row.expected);
    }
  }
}

TEST_CASE("frame: decode consumes the whole frame and points at its body", "[frame]") {
  FrameCodec codec;
  const std::string in = frame("body") + "next";
  const DecodeResult r = codec.decode(asBytes(in));
  REQUIRE(r.status == DecodeResult::Status::Message);
  CHECK(r.consumed == 8);
  CHECK(r.kind == MessageKind::Binary);
  CHECK(r.payload.data() == asBytes(in).data() + 4);
  CHECK(asString(r.payload) == "body");
}

TEST_CASE("frame: errors carry the documented codes and reasons", "[frame]") {
  FrameCodec codec{CodecLimits{16}};
  const DecodeResult small = codec.decode(asBytes(header(3)));
  REQUIRE(small.status == DecodeResult::Status::Error);
  CHECK(small.code == codec_error::kMalformed);
  CHECK(small.reason == kTooSmall);
  const DecodeResult big = codec.decode(asBytes(header(17)));
  REQUIRE(big.status == DecodeResult::Status::Error);
  CHECK(big.code == codec_error::kTooLarge);
  CHECK(big.reason == kTooBig);
}

TEST_CASE("frame: encode writes a big-endian length that counts the header", "[frame]") {
  FrameCodec codec;
  std::string out = "prev";
  codec.encode(asBytes("hello"), MessageKind::Text, out);
  codec.encode(asBytes(""), MessageKind::Binary, out);
  CHECK(out == "prev" + "\0\0\0\x09hello"s + "\0\0\0\x04"s);
  const std::string big(300, 'z');
  std::string wire;
  codec.encode(asBytes(big), MessageKind::Binary, wire);
  CHECK(wire.substr(0, 4) == "\0\0\x01\x30"s);
  CHECK(wire.substr(4) == big);
}

TEST_CASE("frame: encoded frames decode back to the same payloads", "[frame]") {
  FrameCodec codec;
  std::string wire;
  const std::vector<std::string> bodies = {"one", "", std::string(70, '\0'), "four"};
  for (const std::string& body : bodies) codec.encode(asBytes(body), MessageKind::Binary, wire);
  Feed expected;
  for (const std::string& body : bodies) expected.events.push_back(binary(body));
  CHECK(test::decodeEverySplit(maker(), wire) == expected);
}

// A payload whose length plus header overflows 32 bits needs more than 4 GiB of address space;
// an inaccessible anonymous mapping provides it without using memory, and an encoder that
// wrongly copied it would crash at once instead of filling the machine's memory.
TEST_CASE("frame: encode refuses a payload that cannot fit a 32-bit length", "[frame]") {
  constexpr std::size_t kFirstTooBig = std::numeric_limits<std::uint32_t>::max() - 4 + 1;
  void* p =
      ::mmap(nullptr, kFirstTooBig, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  REQUIRE(p != MAP_FAILED);
  FrameCodec codec;
  std::string out = "prev";
  CHECK_THROWS_AS(codec.encode(ByteSpan(static_cast<const std::byte*>(p), kFirstTooBig),
                               MessageKind::Binary, out),
                  std::length_error);
  CHECK(out == "prev");
  ::munmap(p, kFirstTooBig);
}

}  // namespace
}  // namespace wman

// The "text" protocol: one case per rule of the line format and its limit, each fed whole,
// byte by byte and split at every offset.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "split_feed.h"
#include "text/text_codec.h"

namespace wman {
namespace {

using namespace std::literals;
using test::Event;
using test::Feed;

constexpr std::string_view kTooLong = "line exceeds max_package_size";

Event text(std::string_view s) {
  return Event::message(s, MessageKind::Text);
}
Event tooLarge() {
  return Event::error(codec_error::kTooLarge, kTooLong);
}

test::CodecMaker maker(std::size_t max = CodecLimits{}.max_package_size) {
  return [max] { return std::make_unique<TextCodec>(CodecLimits{max}); };
}

struct Row {
  const char* rule;
  std::string_view input;
  std::size_t max;
  Feed expected;
};

TEST_CASE("text: every rule decodes identically however the input is split", "[text]") {
  constexpr std::size_t kDefault = CodecLimits{}.max_package_size;
  const std::string long_line(1000, 'x');
  const std::string long_input = long_line + "\n";

  const std::vector<Row> rows = {
      {"empty input", "", kDefault, {{}, 0}},
      {"partial line waits for the newline", "abc", kDefault, {{}, 3}},
      {"one exact line", "abc\n", kDefault, {{text("abc")}, 0}},
      {"several lines in one input",
       "a\nbb\nccc\n",
       kDefault,
       {{text("a"), text("bb"), text("ccc")}, 0}},
      {"a line then a partial line", "a\nbc", kDefault, {{text("a")}, 2}},
      {"empty lines are messages", "\n\n", kDefault, {{text(""), text("")}, 0}},
      {"CRLF strips the CR", "abc\r\n", kDefault, {{text("abc")}, 0}},
      {"a lone CRLF is an empty line", "\r\n", kDefault, {{text("")}, 0}},
      {"only the CR right before LF is stripped", "abc\r\r\n", kDefault, {{text("abc\r")}, 0}},
      {"CR inside a line is kept", "a\rb\n", kDefault, {{text("a\rb")}, 0}},
      {"CR without LF is not a terminator", "abc\r", kDefault, {{}, 4}},
      {"binary bytes pass through", "a\0\xff\x01\n"sv, kDefault, {{text("a\0\xff\x01"sv)}, 0}},
      {"a long line under the default limit", long_input, kDefault, {{text(long_line)}, 0}},
      {"line of exactly max bytes with its LF", "1234567\n", 8, {{text("1234567")}, 0}},
      {"line of max+1 bytes with its LF", "12345678\n", 8, {{tooLarge()}, 0}},
      {"max bytes without LF fail before the LF arrives", "12345678", 8, {{tooLarge()}, 0}},
      {"max-1 bytes without LF wait", "1234567", 8, {{}, 7}},
      {"CRLF line of exactly max bytes", "abcdef\r\n", 8, {{text("abcdef")}, 0}},
      {"CRLF line of max+1 bytes", "abcdefg\r\n", 8, {{tooLarge()}, 0}},
      {"the limit is per line, not per read",
       "1234567\n1234567\n",
       8,
       {{text("1234567"), text("1234567")}, 0}},
      {"a good line then an oversize one", "ok\n123456789\n", 8, {{text("ok"), tooLarge()}, 0}},
      {"nothing is delivered after the error", "123456789\nok\n", 8, {{tooLarge()}, 0}},
      {"max 1 allows only empty lines", "\n\n", 1, {{text(""), text("")}, 0}},
      {"max 1 refuses one character", "\na\n", 1, {{text(""), tooLarge()}, 0}},
      {"max 0 refuses everything", "\n", 0, {{tooLarge()}, 0}},
  };

  for (const Row& row : rows) {
    DYNAMIC_SECTION(row.rule) {
      CHECK(test::decodeEverySplit(maker(row.max), row.input) == row.expected);
    }
  }
}

TEST_CASE("text: decode reports consumed bytes and points into the input", "[text]") {
  TextCodec codec;
  const std::string_view in = "hi\r\nrest";
  const DecodeResult r = codec.decode(asBytes(in));
  REQUIRE(r.status == DecodeResult::Status::Message);
  CHECK(r.consumed == 4);
  CHECK(r.kind == MessageKind::Text);
  CHECK(r.payload.data() == asBytes(in).data());
  CHECK(asString(r.payload) == "hi");
}

TEST_CASE("text: empty input needs more and consumes nothing", "[text]") {
  TextCodec codec{CodecLimits{0}};
  const DecodeResult r = codec.decode({});
  CHECK(r.status == DecodeResult::Status::NeedMore);
  CHECK(r.consumed == 0);
}

TEST_CASE("text: an oversize line reports the documented code and reason", "[text]") {
  TextCodec codec{CodecLimits{4}};
  const DecodeResult r = codec.decode(asBytes("abcd"));
  REQUIRE(r.status == DecodeResult::Status::Error);
  CHECK(r.code == codec_error::kTooLarge);
  CHECK(r.reason == kTooLong);
}

// The codec trusts that bytes it already scanned are unchanged (they are, under the read-buffer
// contract). Changing them behind its back is the only way to observe that it does not rescan.
TEST_CASE("text: bytes already scanned are not searched again", "[text]") {
  TextCodec codec;
  REQUIRE(codec.decode(asBytes("abcd")).status == DecodeResult::Status::NeedMore);
  const DecodeResult r = codec.decode(asBytes("a\ncdef\n"));
  REQUIRE(r.status == DecodeResult::Status::Message);
  CHECK(asString(r.payload) == "a\ncdef");
  CHECK(r.consumed == 7);
}

TEST_CASE("text: the scan offset restarts after a line is consumed", "[text]") {
  TextCodec codec;
  REQUIRE(codec.decode(asBytes("abcdef")).status == DecodeResult::Status::NeedMore);
  const std::string_view in = "abcdef\n\nlonger";
  const DecodeResult first = codec.decode(asBytes(in));
  REQUIRE(first.status == DecodeResult::Status::Message);
  CHECK(asString(first.payload) == "abcdef");
  // The caller dropped the line; the empty line now at the front lies inside what was scanned
  // before, so a stale offset would skip it.
  const DecodeResult second = codec.decode(asBytes(in.substr(first.consumed)));
  REQUIRE(second.status == DecodeResult::Status::Message);
  CHECK(asString(second.payload) == "");
  CHECK(second.consumed == 1);
}

TEST_CASE("text: a new shorter buffer is scanned from its start", "[text]") {
  TextCodec codec;
  REQUIRE(codec.decode(asBytes("abcdefgh")).status == DecodeResult::Status::NeedMore);
  const DecodeResult r = codec.decode(asBytes("x\n"));
  REQUIRE(r.status == DecodeResult::Status::Message);
  CHECK(asString(r.payload) == "x");
}

TEST_CASE("text: encode appends the payload and a newline", "[text]") {
  TextCodec codec;
  std::string out = "prev";
  codec.encode(asBytes("hello"), MessageKind::Text, out);
  codec.encode(asBytes(""), MessageKind::Binary, out);
  CHECK(out == "prevhello\n\n");
  CHECK(codec.defaultKind() == MessageKind::Text);
}

TEST_CASE("text: encoded lines decode back to the same payloads", "[text]") {
  TextCodec codec;
  std::string wire;
  for (std::string_view line : {"one", "", "three  3"}) {
    codec.encode(asBytes(line), MessageKind::Text, wire);
  }
  const Feed feed = test::decodeEverySplit(maker(), wire);
  CHECK(feed == Feed{{text("one"), text(""), text("three  3")}, 0});
}

}  // namespace
}  // namespace wman

// The "tcp" protocol: every read is delivered as it came, capped at max_package_size per
// message. Its output depends on how the input is split, so the split checks assert the
// invariant instead: the messages, concatenated, are exactly the input.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "split_feed.h"
#include "tcp/raw_codec.h"

namespace wman {
namespace {

using namespace std::literals;
using test::Event;
using test::Feed;

test::CodecMaker maker(std::size_t max) {
  return [max] { return std::make_unique<RawCodec>(CodecLimits{max}); };
}

Event binary(std::string_view s) {
  return Event::message(s, MessageKind::Binary);
}

TEST_CASE("tcp: empty input needs more and consumes nothing", "[tcp]") {
  RawCodec codec;
  const DecodeResult r = codec.decode({});
  CHECK(r.status == DecodeResult::Status::NeedMore);
  CHECK(r.consumed == 0);
}

TEST_CASE("tcp: a read is one message holding all of it", "[tcp]") {
  RawCodec codec;
  const std::string_view in = "abc\n\0\xff"sv;
  const DecodeResult r = codec.decode(asBytes(in));
  REQUIRE(r.status == DecodeResult::Status::Message);
  CHECK(r.consumed == in.size());
  CHECK(r.kind == MessageKind::Binary);
  CHECK(r.payload.data() == asBytes(in).data());
  CHECK(asString(r.payload) == in);
}

TEST_CASE("tcp: a read larger than the limit is delivered in limit-sized chunks", "[tcp]") {
  CHECK(test::feedAt(maker(4), "abcdefghij", {}) ==
        Feed{{binary("abcd"), binary("efgh"), binary("ij")}, 0});
  CHECK(test::feedAt(maker(4), "abcd", {}) == Feed{{binary("abcd")}, 0});
}

TEST_CASE("tcp: a zero limit still makes progress one byte at a time", "[tcp]") {
  CHECK(test::feedAt(maker(0), "ab", {}) == Feed{{binary("a"), binary("b")}, 0});
}

TEST_CASE("tcp: every split delivers the input exactly once, in order, never an error", "[tcp]") {
  const std::string input = "hello\r\nworld\0\x01\x02 and some more bytes"s;
  for (std::size_t max : {std::size_t{1}, std::size_t{5}, std::size_t{1} << 20}) {
    INFO("max_package_size " << max);
    test::forEachSplit(input.size(), [&](const std::vector<std::size_t>& cuts) {
      const Feed feed = test::feedAt(maker(max), input, cuts);
      std::string joined;
      for (const Event& e : feed.events) {
        REQUIRE(e.type == Event::Type::Message);
        CHECK(e.kind == MessageKind::Binary);
        CHECK(!e.payload.empty());
        CHECK(e.payload.size() <= max);
        joined += e.payload;
      }
      CHECK(joined == input);
      CHECK(feed.unconsumed == 0);
    });
  }
}

TEST_CASE("tcp: encode appends the payload unchanged", "[tcp]") {
  RawCodec codec;
  std::string out = "prev";
  codec.encode(asBytes("a\nb\0"sv), MessageKind::Text, out);
  codec.encode(asBytes(""), MessageKind::Binary, out);
  CHECK(out == "preva\nb\0"s);
  CHECK(codec.defaultKind() == MessageKind::Binary);
}

}  // namespace
}  // namespace wman

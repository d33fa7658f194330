// WebSocketCodec, open phase: data frames, fragmentation, control frames in between, and
// every protocol error with its exact close code, each fed whole, byte by byte and split at
// every offset.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "ws_test_util.h"

namespace wman {
namespace {

using namespace std::literals;
using test::Event;
using test::Feed;
using namespace test::ws;

Event protocolError(std::string_view reason) {
  return Event::error(1002, reason);
}
Event invalidPayload(std::string_view reason) {
  return Event::error(1007, reason);
}
Event tooBig() {
  return Event::error(1009, "message too big");
}

constexpr std::string_view kBadUtf8 = "invalid UTF-8 in text message";
constexpr std::string_view kTruncatedUtf8 = "text message ends inside a UTF-8 sequence";
constexpr std::string_view kReservedBits = "reserved bits set without an extension";

struct Row {
  std::string rule;
  std::string input;
  Feed expected;
  std::size_t max = CodecLimits{}.max_package_size;
};

void runRows(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    DYNAMIC_SECTION(row.rule) {
      CHECK(test::decodeEverySplit(openMaker(CodecLimits{row.max}), row.input, kOwned) ==
            row.expected);
    }
  }
}

TEST_CASE("ws frames: data frames (RFC 6455 5.2, 5.6, 5.7)", "[websocket][frames]") {
  const std::string p300(300, 'b');
  const std::string hello = text("Hello");
  runRows({
      {"5.7 masked Hello",
       "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"s,
       {{textEvent("Hello")}, 0}},
      {"empty text", text(""), {{textEvent("")}, 0}},
      {"empty binary", binary(""), {{binaryEvent("")}, 0}},
      {"binary bytes pass through", binary("\0\xff\x80\n"s), {{binaryEvent("\0\xff\x80\n"s)}, 0}},
      {"7-bit length 125",
       binary(std::string(125, 'x')),
       {{binaryEvent(std::string(125, 'x'))}, 0}},
      {"16-bit length", binary(p300), {{binaryEvent(p300)}, 0}},
      {"16-bit length for a short payload",
       clientFrame(kFin | kText, "hi", {.len = Len::Force16}),
       {{textEvent("hi")}, 0}},
      {"64-bit length for a short payload",
       clientFrame(kFin | kText, "hi", {.len = Len::Force64}),
       {{textEvent("hi")}, 0}},
      {"a zero mask key",
       clientFrame(kFin | kText, "zero", {.key = {0, 0, 0, 0}}),
       {{textEvent("zero")}, 0}},
      {"several messages in one read",
       hello + binary("b") + text("c"),
       {{textEvent("Hello"), binaryEvent("b"), textEvent("c")}, 0}},
      {"a message then part of the next", hello + hello.substr(0, 7), {{textEvent("Hello")}, 7}},
      {"header only waits", hello.substr(0, 6), {{}, 6}},
  });
}

TEST_CASE("ws frames: fragmentation (RFC 6455 5.4)", "[websocket][frames]") {
  runRows({
      {"5.7 two fragments",
       clientFrame(kText, "Hel") + clientFrame(kFin | kCont, "lo"),
       {{textEvent("Hello")}, 0}},
      {"three fragments, the middle one empty",
       clientFrame(kBinary, "ab") + clientFrame(kCont, "") + clientFrame(kFin | kCont, "c"),
       {{binaryEvent("abc")}, 0}},
      {"all fragments empty",
       clientFrame(kText, "") + clientFrame(kFin | kCont, ""),
       {{textEvent("")}, 0}},
      {"ping between fragments",
       clientFrame(kText, "Hel") + ping("p") + clientFrame(kFin | kCont, "lo"),
       {{pingEvent("p"), textEvent("Hello")}, 0}},
      {"ping and pong between fragments",
       clientFrame(kText, "a") + ping("1") + clientFrame(kCont, "b") + pong("2") +
           clientFrame(kFin | kCont, "c"),
       {{pingEvent("1"), pongEvent("2"), textEvent("abc")}, 0}},
      {"a 4-byte character split across three fragments",
       clientFrame(kText, "x\xf0\x9f"s) + clientFrame(kCont, "\x98"s) +
           clientFrame(kFin | kCont, "\x80y"s),
       {{textEvent("x\xf0\x9f\x98\x80y"s)}, 0}},
      {"a fragmented message, then a whole one",
       clientFrame(kText, "a") + clientFrame(kFin | kCont, "b") + binary("c"),
       {{textEvent("ab"), binaryEvent("c")}, 0}},
      {"an unfinished fragmented message is nothing yet", clientFrame(kText, "a"), {{}, 0}},
      {"continuation without a message",
       clientFrame(kFin | kCont, "x"),
       {{protocolError("continuation frame without a message")}, 0}},
      {"continuation after a finished message",
       text("a") + clientFrame(kFin | kCont, "x"),
       {{textEvent("a"), protocolError("continuation frame without a message")}, 0}},
      {"new text frame inside a fragmented message",
       clientFrame(kText, "a") + text("b"),
       {{protocolError("new data frame inside a fragmented message")}, 0}},
      {"new binary start inside a fragmented message",
       clientFrame(kText, "a") + clientFrame(kBinary, "b"),
       {{protocolError("new data frame inside a fragmented message")}, 0}},
  });
}

TEST_CASE("ws frames: control frames (RFC 6455 5.5)", "[websocket][frames]") {
  runRows({
      {"ping", ping("Hello"), {{pingEvent("Hello")}, 0}},
      {"empty ping", ping(""), {{pingEvent("")}, 0}},
      {"125-byte ping", ping(std::string(125, 'p')), {{pingEvent(std::string(125, 'p'))}, 0}},
      {"pong", pong("x"), {{pongEvent("x")}, 0}},
      {"ping of 126 bytes",
       ping(std::string(126, 'p')),
       {{protocolError("control frame longer than 125 bytes")}, 0}},
      {"fragmented ping",
       clientFrame(kPing, "p"),
       {{protocolError("fragmented control frame")}, 0}},
      {"fragmented close",
       clientFrame(kClose, ""),
       {{protocolError("fragmented control frame")}, 0}},
      // A 16-bit length is never minimal for a control frame, so its first 7 bits say > 125.
      {"ping with a 16-bit length is refused even for 5 bytes",
       clientFrame(kFin | kPing, "hello", {.len = Len::Force16}),
       {{protocolError("control frame longer than 125 bytes")}, 0}},
  });
}

TEST_CASE("ws frames: frame-level protocol errors are 1002", "[websocket][frames]") {
  std::vector<Row> rows = {
      {"RSV1 without an extension",
       clientFrame(kFin | kRsv1 | kText, "x"),
       {{protocolError(kReservedBits)}, 0}},
      {"RSV2", clientFrame(kFin | kRsv2 | kText, "x"), {{protocolError(kReservedBits)}, 0}},
      {"RSV3", clientFrame(kFin | kRsv3 | kBinary, "x"), {{protocolError(kReservedBits)}, 0}},
      {"RSV on a ping", clientFrame(kFin | kRsv3 | kPing, ""), {{protocolError(kReservedBits)}, 0}},
      {"unmasked frame",
       clientFrame(kFin | kText, "x", {.masked = false}),
       {{protocolError("client frame not masked")}, 0}},
      {"64-bit length with the MSB set",
       "\x82\xff\x80\0\0\0\0\0\0\0"s,
       {{protocolError("64-bit payload length with the most significant bit set")}, 0}},
      {"an error after a good message",
       text("ok") + clientFrame(kFin | 0x3, ""),
       {{textEvent("ok"), protocolError("reserved opcode")}, 0}},
      {"nothing is decoded after an error",
       clientFrame(kFin | 0x3, "") + text("never"),
       {{protocolError("reserved opcode")}, 0}},
  };
  for (std::uint8_t op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    rows.push_back({"reserved opcode " + std::to_string(op),
                    clientFrame(static_cast<std::uint8_t>(kFin | op), "x"),
                    {{protocolError("reserved opcode")}, 0}});
  }
  runRows(rows);
}

TEST_CASE("ws frames: text must be UTF-8, checked as it arrives (RFC 6455 8.1)",
          "[websocket][frames]") {
  const std::string valid = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"s;  // κόσμε
  const std::string bad_frame = text("ab\xc0\xaf" + std::string(40, 'z'));
  runRows({
      {"valid multi-byte text", text(valid), {{textEvent(valid)}, 0}},
      {"overlong", text("\xc0\xaf"s), {{invalidPayload(kBadUtf8)}, 0}},
      {"surrogate", text("\xed\xa0\x80"s), {{invalidPayload(kBadUtf8)}, 0}},
      {"above U+10FFFF", text("\xf4\x90\x80\x80"s), {{invalidPayload(kBadUtf8)}, 0}},
      {"truncated at the end of the message",
       text("ok\xe2\x82"s),
       {{invalidPayload(kTruncatedUtf8)}, 0}},
      {"truncated at the end of a fragmented message",
       clientFrame(kText, "ok") + clientFrame(kFin | kCont, "\xf0\x9f\x98"s),
       {{invalidPayload(kTruncatedUtf8)}, 0}},
      // Fail fast: the bad bytes are reported before the frame (or message) is complete.
      {"invalid bytes before the rest of the frame arrives",
       bad_frame.substr(0, 6 + 4),
       {{invalidPayload(kBadUtf8)}, 0}},
      {"invalid first fragment of an unfinished message",
       clientFrame(kText, "\xff"s),
       {{invalidPayload(kBadUtf8)}, 0}},
      {"invalid second fragment",
       clientFrame(kText, "fine") + clientFrame(kCont, "\xed\xa0\x80"s),
       {{invalidPayload(kBadUtf8)}, 0}},
      {"binary is not checked", binary("\xc0\xaf\xff"s), {{binaryEvent("\xc0\xaf\xff"s)}, 0}},
  });
}

TEST_CASE("ws frames: message size limit is 1009 (max_package_size)", "[websocket][frames]") {
  runRows({
      {"exactly the limit", text(std::string(16, 'a')), {{textEvent(std::string(16, 'a'))}, 0}, 16},
      {"one byte over", text(std::string(17, 'a')), {{tooBig()}, 0}, 16},
      {"part of a 64-bit length waits", "\x82\xff\0"s, {{}, 3}, 16},
      {"a 2^40-byte header fails before its payload",
       "\x82\xff\0\0\x01\0\0\0\0\0\1\2\3\4"s,
       {{tooBig()}, 0},
       16},
      {"fragments that add up to the limit",
       clientFrame(kBinary, std::string(10, 'a')) + clientFrame(kFin | kCont, std::string(6, 'b')),
       {{binaryEvent(std::string(10, 'a') + std::string(6, 'b'))}, 0},
       16},
      {"fragments that add up to one byte over",
       clientFrame(kBinary, std::string(10, 'a')) + clientFrame(kFin | kCont, std::string(7, 'b')),
       {{tooBig()}, 0},
       16},
      {"control frames do not count",
       clientFrame(kText, std::string(16, 'a')) + ping("pp") + clientFrame(kFin | kCont, ""),
       {{pingEvent("pp"), textEvent(std::string(16, 'a'))}, 0},
       16},
  });
}

TEST_CASE("ws frames: unfragmented messages are zero-copy", "[websocket][frames]") {
  // payload_in_input (the default) makes split_feed require every payload inside the input.
  const std::string input = text("Hello") + binary(std::string(300, 'x')) +
                            clientFrame(kFin | kText, "long", {.len = Len::Force64});
  const Feed feed = test::decodeEverySplit(openMaker(), input);
  CHECK(feed.events.size() == 3);

  auto codec = openCodec();
  std::string buffer = text("Hello");
  const DecodeResult r = codec->decode(asBytes(buffer));
  REQUIRE(r.status == DecodeResult::Status::Message);
  CHECK(r.payload.data() == asBytes(buffer).data() + 6);
  CHECK(asString(r.payload) == "Hello");
  CHECK(r.consumed == buffer.size());
  CHECK(buffer.substr(6) == "Hello");  // unmasked in place
}

TEST_CASE("ws frames: a 70000-byte frame (64-bit length) in pieces", "[websocket][frames]") {
  std::string payload;
  for (int i = 0; i < 70000; ++i) payload.push_back(static_cast<char>('a' + i % 26));
  const std::string input = text(payload) + ping("after");
  const Feed feed =
      decodeSomeSplits(openMaker(), input, {1, 2, 9, 14, 15, 4096, 69999, 70013, 70014}, kOwned);
  CHECK(feed == Feed{{textEvent(payload), pingEvent("after")}, 0});

  // Fragmented into 1000-byte frames: assembled in codec storage.
  std::string fragmented;
  for (std::size_t i = 0; i < payload.size(); i += 1000) {
    const bool first = i == 0, last = i + 1000 >= payload.size();
    const std::uint8_t b0 = static_cast<std::uint8_t>((last ? kFin : 0) | (first ? kText : kCont));
    fragmented += clientFrame(b0, std::string_view(payload).substr(i, 1000));
  }
  CHECK(decodeSomeSplits(openMaker(), fragmented, {500, 1006, 1008, 35000}, kOwned) ==
        Feed{{textEvent(payload)}, 0});
}

TEST_CASE("ws frames: errors repeat and become a Close frame", "[websocket][frames]") {
  auto codec = openCodec();
  const std::string bad = clientFrame(kFin | kRsv2 | kText, "x");
  const DecodeResult r = codec->decode(asBytes(bad));
  REQUIRE(r.status == DecodeResult::Status::Error);
  CHECK(r.code == 1002);
  CHECK(codec->decode(asBytes(text("ok"))).code == 1002);
  std::string out;
  codec->encodeError(r.code, r.reason, out);
  CHECK(out == "\x88\x28\x03\xea"s + std::string(kReservedBits));
}

}  // namespace
}  // namespace wman

// Close handshake (RFC 6455 5.5.1, 7.4) and the encoders: close code table, close payload
// rules, what follows a Close, and the exact bytes of server frames.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "websocket/frame_parser.h"
#include "websocket/utf8_validator.h"
#include "ws_test_util.h"

namespace wman {
namespace {

using namespace std::literals;
using test::Event;
using test::Feed;
using namespace test::ws;

Feed feedOpen(const std::string& input) {
  return test::decodeEverySplit(openMaker(), input, kOwned);
}

TEST_CASE("ws close: codes a peer may send are reported, others are 1002", "[websocket][close]") {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                   3999, 4000, 4999}) {
    INFO(code);
    CHECK(feedOpen(closeFrame(static_cast<std::uint16_t>(code))) ==
          Feed{{closeEvent(static_cast<std::uint16_t>(code))}, 0});
  }
  for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    INFO(code);
    CHECK(feedOpen(closeFrame(static_cast<std::uint16_t>(code))) ==
          Feed{{Event::error(1002, "invalid close code")}, 0});
  }
}

TEST_CASE("ws close: payload rules", "[websocket][close]") {
  struct Row {
    const char* rule;
    std::string input;
    Feed expected;
  };
  const Row rows[] = {
      {"empty close means 1005", clientFrame(kFin | kClose, ""), {{closeEvent(1005)}, 0}},
      {"code and reason", closeFrame(1000, "bye"), {{closeEvent(1000, "bye")}, 0}},
      {"UTF-8 reason",
       closeFrame(1001, "\xce\xba\xe1\xbd\xb9"s),
       {{closeEvent(1001, "\xce\xba\xe1\xbd\xb9"s)}, 0}},
      {"123-byte reason",
       closeFrame(1000, std::string(123, 'r')),
       {{closeEvent(1000, std::string(123, 'r'))}, 0}},
      {"1-byte payload",
       clientFrame(kFin | kClose, "\x03"s),
       {{Event::error(1002, "close frame with a 1-byte payload")}, 0}},
      {"reason not UTF-8",
       closeFrame(1000, "\xc0\xaf"s),
       {{Event::error(1007, "close reason is not valid UTF-8")}, 0}},
      {"reason with a truncated character",
       closeFrame(1000, "ok\xe2\x82"s),
       {{Event::error(1007, "close reason is not valid UTF-8")}, 0}},
      {"data after a close is discarded",
       closeFrame(1000) + text("late") + ping("late"),
       {{closeEvent(1000)}, 0}},
      {"garbage after a close is discarded too",
       closeFrame(1000) + "\xff\xff\xff"s,
       {{closeEvent(1000)}, 0}},
      {"close between fragments ends the session",
       clientFrame(kText, "part") + closeFrame(1000) + clientFrame(kFin | kCont, "rest"),
       {{closeEvent(1000)}, 0}},
  };
  for (const Row& row : rows) {
    DYNAMIC_SECTION(row.rule) {
      CHECK(feedOpen(row.input) == row.expected);
    }
  }
}

TEST_CASE("ws close: the reason points into the input", "[websocket][close]") {
  auto codec = openCodec();
  std::string buffer = closeFrame(1001, "going");
  const DecodeResult r = codec->decode(asBytes(buffer));
  REQUIRE(r.status == DecodeResult::Status::Close);
  CHECK(r.code == 1001);
  CHECK(r.consumed == buffer.size());
  CHECK(asString(r.payload) == "going");
  CHECK(r.payload.data() == asBytes(buffer).data() + 8);
  // Everything after it is consumed and dropped.
  const std::string more = text("x");
  const DecodeResult after = codec->decode(asBytes(more));
  CHECK(after.status == DecodeResult::Status::NeedMore);
  CHECK(after.consumed == more.size());
}

TEST_CASE("ws encode: server data frames are unmasked with minimal lengths",
          "[websocket][encode]") {
  auto codec = openCodec();
  std::string out;
  codec->encode(asBytes("Hello"), MessageKind::Text, out);
  CHECK(out == "\x81\x05Hello"s);  // RFC 6455 5.7's unmasked example
  out.clear();
  codec->encode(asBytes(std::string(256, 'b')), MessageKind::Binary, out);
  CHECK(out == "\x82\x7e\x01\x00"s + std::string(256, 'b'));
  out.clear();
  codec->encode(asBytes(std::string(65536, 'c')), MessageKind::Binary, out);
  CHECK(out == "\x82\x7f\0\0\0\0\0\x01\0\0"s + std::string(65536, 'c'));
  out = "kept";
  codec->encode(asBytes(""), MessageKind::Text, out);
  CHECK(out == "kept\x81\x00"s);
  CHECK(codec->defaultKind() == MessageKind::Text);
}

TEST_CASE("ws encode: control frames", "[websocket][encode]") {
  using S = DecodeResult::Status;
  auto codec = openCodec();
  struct Row {
    const char* name;
    S kind;
    std::uint16_t code;
    std::string payload;
    std::string expected;
  };
  const Row rows[] = {
      {"ping", S::Ping, 0, "Hello", "\x89\x05Hello"s},
      {"pong", S::Pong, 0, "Hello", "\x8a\x05Hello"s},
      {"empty pong", S::Pong, 0, "", "\x8a\x00"s},
      {"ping cut to 125", S::Ping, 0, std::string(200, 'p'), "\x89\x7d"s + std::string(125, 'p')},
      {"close with code", S::Close, 1000, "", "\x88\x02\x03\xe8"s},
      {"close with reason", S::Close, 1001, "bye", "\x88\x05\x03\xe9"s + "bye"},
      {"close 1005 is empty", S::Close, 1005, "ignored", "\x88\x00"s},
      {"close 1006 cannot be sent", S::Close, 1006, "", "\x88\x00"s},
      {"close 1015 cannot be sent", S::Close, 1015, "", "\x88\x00"s},
      {"close 4000 is fine", S::Close, 4000, "", "\x88\x02\x0f\xa0"s},
      {"not a control kind", S::Message, 0, "x", ""},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    std::string out;
    codec->encodeControl(row.kind, row.code, asBytes(row.payload), out);
    CHECK(out == row.expected);
  }
}

TEST_CASE("ws encode: a long close reason is cut at a character boundary", "[websocket][encode]") {
  auto codec = openCodec();
  std::string reason;
  for (int i = 0; i < 40; ++i) reason += "\xf0\x9f\x98\x80";  // 160 bytes of 4-byte characters
  std::string out;
  codec->encodeControl(DecodeResult::Status::Close, 1000, asBytes(reason), out);
  const std::size_t payload = static_cast<unsigned char>(out[1]);
  CHECK(payload <= 125);
  CHECK(payload == 2 + 120);  // 30 whole characters fit in 123 bytes; the 31st would not
  CHECK(ws::Utf8Validator::isValid(asBytes(std::string_view(out).substr(4))));
}

}  // namespace
}  // namespace wman

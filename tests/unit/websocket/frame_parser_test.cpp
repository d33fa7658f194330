// RFC 6455 section 5 frame headers: the 5.7 examples, every frame-local rule with the
// number of bytes needed to detect it, unmasking in pieces, and the server header encoder.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <string_view>

#include "websocket/frame_parser.h"
#include "ws_test_util.h"

namespace wman::ws {
namespace {

using namespace std::literals;
using S = HeaderResult::Status;
using test::ws::clientFrame;
using test::ws::FrameOpts;
using test::ws::Len;

HeaderResult parse(std::string_view bytes, FrameRules rules = {}) {
  return parseFrameHeader(asBytes(bytes), rules);
}

TEST_CASE("frame header: RFC 6455 5.7 examples", "[websocket][frame]") {
  const FrameRules unmasked_ok{.rsv1_allowed = false, .require_mask = false};
  struct Row {
    const char* name;
    std::string bytes;
    bool fin;
    std::uint8_t op;
    bool masked;
    std::uint64_t size;
    std::size_t header;
  };
  const Row rows[] = {
      {"unmasked Hello", "\x81\x05Hello"s, true, opcode::kText, false, 5, 2},
      {"masked Hello", "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"s, true, opcode::kText, true,
       5, 6},
      {"first fragment", "\x01\x03Hel"s, false, opcode::kText, false, 3, 2},
      {"last fragment", "\x80\x02lo"s, true, opcode::kContinuation, false, 2, 2},
      {"unmasked Ping", "\x89\x05Hello"s, true, opcode::kPing, false, 5, 2},
      {"masked Pong", "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"s, true, opcode::kPong, true, 5,
       6},
      {"256 bytes, 16-bit length", "\x82\x7e\x01\x00"s, true, opcode::kBinary, false, 256, 4},
      {"64 KiB, 64-bit length", "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"s, true, opcode::kBinary,
       false, 65536, 10},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    const HeaderResult r = parse(row.bytes, unmasked_ok);
    REQUIRE(r.status == S::Ok);
    CHECK(r.header.fin == row.fin);
    CHECK(r.header.opcode == row.op);
    CHECK(r.header.masked == row.masked);
    CHECK(r.header.payload_size == row.size);
    CHECK(r.header.header_size == row.header);
    CHECK_FALSE(r.header.rsv1);
    // Every shorter prefix of the header is NeedMore.
    for (std::size_t n = 0; n < row.header; ++n)
      CHECK(parse(row.bytes.substr(0, n), unmasked_ok).status == S::NeedMore);
  }
}

TEST_CASE("frame header: length encodings, minimal or not", "[websocket][frame]") {
  const std::string payload(300, 'x');
  for (Len len : {Len::Minimal, Len::Force16, Len::Force64}) {
    for (std::size_t n : {0, 1, 125, 126, 300}) {
      if (len == Len::Minimal || n <= 300) {
        const std::string f =
            clientFrame(0x82, std::string_view(payload).substr(0, n), FrameOpts{.len = len});
        const HeaderResult r = parse(f);
        INFO("size " << n << " form " << static_cast<int>(len));
        REQUIRE(r.status == S::Ok);
        CHECK(r.header.payload_size == n);
        const std::size_t expected = len == Len::Force64                ? 14
                                     : (len == Len::Force16 || n > 125) ? 8
                                                                        : 6;
        CHECK(r.header.header_size == expected);
      }
    }
  }
}

TEST_CASE("frame header: each rule fails as soon as its bytes are in", "[websocket][frame]") {
  struct Row {
    const char* name;
    std::string bytes;  // just enough bytes to decide
    FrameRules rules;
    std::string_view reason;
  };
  const FrameRules strict{};
  const FrameRules deflate{.rsv1_allowed = true};
  const Row rows[] = {
      {"RSV2 set", "\xa1"s, strict, "reserved bits set without an extension"},
      {"RSV3 set", "\x91"s, strict, "reserved bits set without an extension"},
      {"RSV2 set even with deflate", "\xe1"s, deflate, "reserved bits set without an extension"},
      {"RSV1 without deflate", "\xc1"s, strict, "reserved bits set without an extension"},
      {"RSV1 on a ping", "\xc9"s, deflate, "RSV1 set on a control frame"},
      {"RSV1 on a continuation", "\xc0"s, deflate, "RSV1 set on a continuation frame"},
      {"opcode 3", "\x83"s, strict, "reserved opcode"},
      {"opcode 7", "\x87"s, strict, "reserved opcode"},
      {"opcode 0xB", "\x8b"s, strict, "reserved opcode"},
      {"opcode 0xF", "\x8f"s, strict, "reserved opcode"},
      {"fragmented ping", "\x09"s, strict, "fragmented control frame"},
      {"fragmented close", "\x08"s, strict, "fragmented control frame"},
      {"unmasked client frame", "\x81\x05"s, strict, "client frame not masked"},
      {"ping of 126 bytes", "\x89\xfe"s, strict, "control frame longer than 125 bytes"},
      {"close with a 64-bit length", "\x88\xff"s, strict, "control frame longer than 125 bytes"},
      {"64-bit length with the MSB set", "\x82\xff\x80"s, strict,
       "64-bit payload length with the most significant bit set"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    const HeaderResult r = parse(row.bytes, row.rules);
    REQUIRE(r.status == S::Error);
    CHECK(r.code == close_code::kProtocolError);
    CHECK(r.reason == row.reason);
  }
}

TEST_CASE("frame header: allowed cases of the same bits", "[websocket][frame]") {
  const FrameRules deflate{.rsv1_allowed = true};
  const HeaderResult r = parse(clientFrame(0xc1, "x"), deflate);  // RSV1 on a first text frame
  REQUIRE(r.status == S::Ok);
  CHECK(r.header.rsv1);
  CHECK(parse(clientFrame(0x41, "x"), deflate).status == S::Ok);  // ... and a non-final one
  CHECK(parse(clientFrame(0x89, std::string(125, 'p'))).status == S::Ok);  // 125-byte ping
  // 2^63 - 1 is the largest legal 64-bit length.
  CHECK(parse("\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff\1\2\3\4"s).status == S::Ok);
}

TEST_CASE("unmask: any size, any starting offset, in any number of pieces", "[websocket][frame]") {
  const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  std::uint32_t mask;
  std::memcpy(&mask, key, 4);
  std::string plain;
  for (int i = 0; i < 77; ++i) plain.push_back(static_cast<char>(i * 13 + 1));
  std::string masked = plain;
  for (std::size_t i = 0; i < masked.size(); ++i)
    masked[i] = static_cast<char>(masked[i] ^ key[i % 4]);

  for (std::size_t size = 0; size <= plain.size(); ++size) {
    std::string whole = masked.substr(0, size);
    unmask(reinterpret_cast<std::byte*>(whole.data()), whole.size(), mask, 0);
    INFO("size " << size);
    CHECK(whole == plain.substr(0, size));
  }
  for (std::size_t cut = 0; cut <= plain.size(); ++cut) {
    std::string buf = masked;
    auto* p = reinterpret_cast<std::byte*>(buf.data());
    unmask(p, cut, mask, 0);
    unmask(p + cut, buf.size() - cut, mask, cut);
    INFO("two pieces cut at " << cut);
    CHECK(buf == plain);
  }
  // Unmasking twice restores the masked bytes: it is an XOR.
  std::string twice = masked;
  unmask(reinterpret_cast<std::byte*>(twice.data()), twice.size(), mask, 0);
  unmask(reinterpret_cast<std::byte*>(twice.data()), twice.size(), mask, 0);
  CHECK(twice == masked);
}

TEST_CASE("server frame header: shortest length encoding", "[websocket][frame]") {
  struct Row {
    std::uint64_t size;
    std::string header;
  };
  const Row rows[] = {
      {0, "\x82\x00"s},
      {125, "\x82\x7d"s},
      {126, "\x82\x7e\x00\x7e"s},
      {65535, "\x82\x7e\xff\xff"s},
      {65536, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"s},
      {0x0102030405060708ull, "\x82\x7f\x01\x02\x03\x04\x05\x06\x07\x08"s},
  };
  for (const Row& row : rows) {
    std::string out = "prefix";
    appendFrameHeader(out, true, false, opcode::kBinary, row.size);
    INFO("size " << row.size);
    CHECK(out == "prefix" + row.header);
  }
  std::string out;
  appendFrameHeader(out, false, true, opcode::kText, 3);
  CHECK(out == "\x41\x03"s);
}

TEST_CASE("close codes: RFC 6455 7.4 and the IANA registry", "[websocket][close]") {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                   3999, 4000, 4999}) {
    INFO(code);
    CHECK(isValidCloseCode(static_cast<std::uint16_t>(code)));
  }
  for (int code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    INFO(code);
    CHECK_FALSE(isValidCloseCode(static_cast<std::uint16_t>(code)));
  }
}

}  // namespace
}  // namespace wman::ws

// SHA-1 against the FIPS 180 test vectors, base64 against RFC 4648 section 10, and both
// together against RFC 6455's Sec-WebSocket-Accept example.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "websocket/base64.h"
#include "websocket/sha1.h"
#include "websocket/websocket_handshake.h"

namespace wman::ws {
namespace {

std::string hex(const Sha1::Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : d) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

TEST_CASE("sha1: FIPS 180 test vectors", "[websocket][sha1]") {
  struct Row {
    std::string input;
    const char* digest;
  };
  const Row rows[] = {
      {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
      {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
      {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmn"
       "opqrsmnopqrstnopqrstu",
       "a49b2446a02c645bf419f995b67091253a04a259"},
      {std::string(1000000, 'a'), "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
  };
  for (const Row& row : rows) {
    INFO("input of " << row.input.size() << " bytes");
    CHECK(hex(Sha1::of(row.input)) == row.digest);
  }
}

TEST_CASE("sha1: padding boundaries (55, 56, 63, 64 bytes)", "[websocket][sha1]") {
  // Reference digests from sha1sum; these lengths straddle the one-or-two-block padding.
  CHECK(hex(Sha1::of(std::string(55, 'a'))) == "c1c8bbdc22796e28c0e15163d20899b65621d65a");
  CHECK(hex(Sha1::of(std::string(56, 'a'))) == "c2db330f6083854c99d4b5bfb6e8f29f201be699");
  CHECK(hex(Sha1::of(std::string(63, 'a'))) == "03f09f5b158a7a8cdad920bddc29b81c18a551f5");
  CHECK(hex(Sha1::of(std::string(64, 'a'))) == "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

TEST_CASE("sha1: feeding in pieces gives the same digest", "[websocket][sha1]") {
  std::string input;
  for (int i = 0; i < 300; ++i) input.push_back(static_cast<char>(i * 7));
  const Sha1::Digest whole = Sha1::of(input);
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    Sha1 s;
    s.update(std::string_view(input).substr(0, cut));
    s.update(std::string_view(input).substr(cut));
    INFO("cut at " << cut);
    CHECK(s.digest() == whole);
  }
}

TEST_CASE("base64: RFC 4648 section 10 vectors both ways", "[websocket][base64]") {
  const std::pair<const char*, const char*> rows[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : rows) {
    INFO(plain);
    std::string out;
    base64Encode(plain, out);
    CHECK(out == encoded);
    CHECK(base64Decode(encoded) == std::optional<std::string>(plain));
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  std::string encoded;
  base64Encode(all, encoded);
  CHECK(base64Decode(encoded) == std::optional<std::string>(all));
}

TEST_CASE("base64: decoding refuses anything but canonical padded base64", "[websocket][base64]") {
  for (const char* bad : {"Zg=", "Zg", "Zh==", "Zm9=", "Zm9v!A==", "Z===", "====", "=Zm9", "Zm=v",
                          "Zm9v Yg==", "Zm9vYg==\n", "Zm9-", "Zm9_"}) {
    INFO(bad);
    CHECK_FALSE(base64Decode(bad).has_value());
  }
}

TEST_CASE("accept key: RFC 6455 1.3 example", "[websocket][handshake]") {
  CHECK(acceptKey("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  // A second known pair (the one Wikipedia's WebSocket article shows).
  CHECK(acceptKey("x3JJHMbDL1EzLkh9GBhXDw==") == "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

}  // namespace
}  // namespace wman::ws

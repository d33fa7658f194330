// UTF-8 validation per RFC 3629 (and Autobahn case 6's edge cases): each row says where a
// byte-by-byte feed must fail, or whether the text ends complete or inside a character.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "websocket/utf8_validator.h"
#include "wman/codec.h"

namespace wman::ws {
namespace {

constexpr std::size_t kValid = static_cast<std::size_t>(-1);
constexpr std::size_t kIncomplete = static_cast<std::size_t>(-2);

// Where a byte-at-a-time feed fails (index of the first bad byte), or kValid / kIncomplete.
std::size_t byteByByte(std::string_view s) {
  Utf8Validator v;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!v.feed(asBytes(s.substr(i, 1)))) return i;
  }
  return v.complete() ? kValid : kIncomplete;
}

std::size_t whole(std::string_view s) {
  Utf8Validator v;
  if (!v.feed(asBytes(s))) return 0;  // position unknown; only "failed" matters here
  return v.complete() ? kValid : kIncomplete;
}

struct Row {
  const char* name;
  std::string bytes;
  std::size_t verdict;  // first bad byte, kValid or kIncomplete
};

TEST_CASE("utf8: RFC 3629 table, failing at the first bad byte", "[websocket][utf8]") {
  const std::string ascii20(20, 'a');
  const Row rows[] = {
      {"empty", "", kValid},
      {"ASCII", "Hello-\x7f", kValid},
      {"Greek kosme (Autobahn 6.2)", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", kValid},
      {"U+0080 smallest 2-byte", "\xc2\x80", kValid},
      {"U+07FF largest 2-byte", "\xdf\xbf", kValid},
      {"U+0800 smallest 3-byte", "\xe0\xa0\x80", kValid},
      {"U+D7FF just below the surrogates", "\xed\x9f\xbf", kValid},
      {"U+E000 just above the surrogates", "\xee\x80\x80", kValid},
      {"U+FFFE noncharacter is still valid", "\xef\xbf\xbe", kValid},
      {"U+FFFF largest 3-byte", "\xef\xbf\xbf", kValid},
      {"U+10000 smallest 4-byte", "\xf0\x90\x80\x80", kValid},
      {"U+10FFFF largest code point", "\xf4\x8f\xbf\xbf", kValid},
      {"emoji among ASCII", "ok \xf0\x9f\x98\x80 ok", kValid},
      {"overlong '/' in 2 bytes", "\xc0\xaf", 0},
      {"overlong U+007F in 2 bytes", "\xc1\xbf", 0},
      {"overlong '/' in 3 bytes", "\xe0\x80\xaf", 1},
      {"overlong U+07FF in 3 bytes", "\xe0\x9f\xbf", 1},
      {"overlong '/' in 4 bytes", "\xf0\x80\x80\xaf", 1},
      {"overlong U+FFFF in 4 bytes", "\xf0\x8f\xbf\xbf", 1},
      {"surrogate U+D800", "\xed\xa0\x80", 1},
      {"surrogate U+DFFF", "\xed\xbf\xbf", 1},
      {"surrogate pair", "\xed\xa0\x80\xed\xb0\x80", 1},
      {"U+110000", "\xf4\x90\x80\x80", 1},
      {"F5 lead byte", "\xf5\x80\x80\x80", 0},
      {"5-byte form", "\xf8\x88\x80\x80\x80", 0},
      {"FE", "\xfe", 0},
      {"FF", "\xff", 0},
      {"lone continuation byte", "\x80", 0},
      {"continuation after ASCII", "a\xbf", 1},
      {"2-byte lead then ASCII", "\xc2\x41", 1},
      {"3-byte lead, bad second byte", "\xe2\x28\xa1", 1},
      {"3-byte lead, bad third byte", "\xe2\x82\x28", 2},
      {"4-byte lead, bad fourth byte", "\xf0\x9f\x98\x28", 3},
      {"lead byte instead of a continuation", "\xe2\x82\xe2", 2},
      {"truncated 2-byte at the end", "\xc2", kIncomplete},
      {"truncated 3-byte at the end", "abc\xe2\x82", kIncomplete},
      {"truncated 4-byte at the end", "\xf0\x9f\x98", kIncomplete},
      {"invalid after an ASCII run (fast path)", ascii20 + "\xff" + ascii20, 20},
      {"invalid right after 8 ASCII bytes", "12345678\xc0\xaf", 8},
      {"valid after an ASCII run", ascii20 + "\xc3\xa9" + ascii20, kValid},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    CHECK(byteByByte(row.bytes) == row.verdict);
    const std::size_t expected_whole =
        row.verdict == kValid || row.verdict == kIncomplete ? row.verdict : 0;
    CHECK(whole(row.bytes) == expected_whole);
    CHECK(Utf8Validator::isValid(asBytes(row.bytes)) == (row.verdict == kValid));
  }
}

TEST_CASE("utf8: a character split anywhere between feeds is still valid", "[websocket][utf8]") {
  const std::string text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";  // 1-, 2-, 3-, 4-byte chars
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    Utf8Validator v;
    INFO("cut at " << cut);
    CHECK(v.feed(asBytes(std::string_view(text).substr(0, cut))));
    CHECK(v.feed(asBytes(std::string_view(text).substr(cut))));
    CHECK(v.complete());
  }
}

TEST_CASE("utf8: a failed validator stays failed until reset", "[websocket][utf8]") {
  Utf8Validator v;
  CHECK_FALSE(v.feed(asBytes("\xff")));
  CHECK(v.failed());
  CHECK_FALSE(v.feed(asBytes("abc")));
  CHECK_FALSE(v.feed({}));
  v.reset();
  CHECK(v.feed(asBytes("abc")));
  CHECK(v.complete());
}

TEST_CASE("utf8: long ASCII and mixed text pass at every alignment", "[websocket][utf8]") {
  std::string big;
  for (int i = 0; i < 4096; ++i) big += (i % 37 == 0) ? "\xe2\x82\xac" : "x";
  for (std::size_t offset = 0; offset < 8; ++offset) {
    INFO("offset " << offset);
    const std::string shifted = std::string(offset, 'a') + big;
    CHECK(Utf8Validator::isValid(asBytes(shifted)));
    CHECK_FALSE(Utf8Validator::isValid(asBytes(shifted + "\xc0")));
  }
}

}  // namespace
}  // namespace wman::ws

#include "websocket/utf8_validator.h"

#include <array>
#include <cstring>

#include "websocket/word.h"

namespace wman::ws {
namespace {

// Byte classes, chosen so every row of RFC 3629's "UTF8-octets" grammar is a class sequence:
//   0 00..7F   1 80..8F   2 90..9F   3 A0..BF   4 C0..C1 and F5..FF (never valid)
//   5 C2..DF   6 E0   7 E1..EC and EE..EF   8 ED   9 F0   10 F1..F3   11 F4
constexpr std::array<std::uint8_t, 256> kClass = [] {
  std::array<std::uint8_t, 256> c{};
  for (int b = 0; b < 256; ++b) {
    std::uint8_t k;
    if (b <= 0x7f)
      k = 0;
    else if (b <= 0x8f)
      k = 1;
    else if (b <= 0x9f)
      k = 2;
    else if (b <= 0xbf)
      k = 3;
    else if (b <= 0xc1)
      k = 4;
    else if (b <= 0xdf)
      k = 5;
    else if (b == 0xe0)
      k = 6;
    else if (b == 0xed)
      k = 8;
    else if (b <= 0xef)
      k = 7;
    else if (b == 0xf0)
      k = 9;
    else if (b <= 0xf3)
      k = 10;
    else if (b == 0xf4)
      k = 11;
    else
      k = 4;
    c[static_cast<std::size_t>(b)] = k;
  }
  return c;
}();

constexpr int kClasses = 12;
// States besides accept (0) and reject (1): how much of a sequence is still expected, and for
// the four lead bytes with a restricted second byte, which restriction applies.
enum : std::uint8_t { kCont1 = 2, kCont2, kCont3, kAfterE0, kAfterED, kAfterF0, kAfterF4, kStates };

constexpr std::array<std::uint8_t, kStates* kClasses> kNext = [] {
  std::array<std::uint8_t, kStates * kClasses> t{};
  t.fill(Utf8Validator::kReject);
  auto set = [&t](int state, int cls, std::uint8_t next) { t[state * kClasses + cls] = next; };
  set(Utf8Validator::kAccept, 0, Utf8Validator::kAccept);
  set(Utf8Validator::kAccept, 5, kCont1);
  set(Utf8Validator::kAccept, 6, kAfterE0);  // E0 A0..BF: below A0 would be overlong
  set(Utf8Validator::kAccept, 7, kCont2);
  set(Utf8Validator::kAccept, 8, kAfterED);  // ED 80..9F: above 9F would be a surrogate
  set(Utf8Validator::kAccept, 9, kAfterF0);  // F0 90..BF: below 90 would be overlong
  set(Utf8Validator::kAccept, 10, kCont3);
  set(Utf8Validator::kAccept, 11, kAfterF4);  // F4 80..8F: above 8F would exceed U+10FFFF
  for (int cls : {1, 2, 3}) {
    set(kCont1, cls, Utf8Validator::kAccept);
    set(kCont2, cls, kCont1);
    set(kCont3, cls, kCont2);
  }
  set(kAfterE0, 3, kCont1);
  set(kAfterED, 1, kCont1);
  set(kAfterED, 2, kCont1);
  set(kAfterF0, 2, kCont2);
  set(kAfterF0, 3, kCont2);
  set(kAfterF4, 1, kCont2);
  return t;
}();

}  // namespace

bool Utf8Validator::feed(std::span<const std::byte> bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const unsigned char* const end = p + bytes.size();
  std::uint8_t state = state_;
  while (p < end) {
    if (state == kAccept) {
      // Text is mostly ASCII: between characters, skip whole words without a high bit, four
      // at a time while there is room (one test per 32 bytes), then one at a time.
      constexpr std::uint64_t kHigh = 0x8080808080808080ull;
      while (end - p >= 32) {
        if (((loadWord(p) | loadWord(p + 8) | loadWord(p + 16) | loadWord(p + 24)) & kHigh) != 0)
          break;
        p += 32;
      }
      while (end - p >= 8 && (loadWord(p) & kHigh) == 0) p += 8;
      while (p < end && *p < 0x80) ++p;
      if (p == end) break;
    }
    state = kNext[state * kClasses + kClass[*p]];
    if (state == kReject) break;
    ++p;
  }
  state_ = state;
  return state != kReject;
}

bool Utf8Validator::isValid(std::span<const std::byte> bytes) {
  Utf8Validator v;
  return v.feed(bytes) && v.complete();
}

}  // namespace wman::ws

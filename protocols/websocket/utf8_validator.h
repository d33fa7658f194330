// Incremental UTF-8 validation (RFC 3629) for WebSocket text messages, which RFC 6455 8.1
// requires to be valid UTF-8, checked as the bytes arrive so a bad message fails fast.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace wman::ws {

// A byte-at-a-time state machine over the RFC 3629 table, so an invalid sequence is rejected
// at its first bad byte: overlongs ("\xc0\xaf", "\xe0\x80\xaf"), surrogates U+D800..U+DFFF
// ("\xed\xa0\x80") and code points above U+10FFFF ("\xf4\x90\x80\x80") included. Runs of ASCII
// are skipped 8 bytes at a time. State carries across feed() calls, so a character may be
// split between fragments or reads.
class Utf8Validator {
 public:
  // Validates the next bytes of the text. Returns false as soon as a byte cannot continue
  // valid UTF-8; from then on the validator stays failed until reset().
  bool feed(std::span<const std::byte> bytes);

  // True if the bytes fed so far are valid and end on a character boundary: a message that
  // ends while this is false ends inside a character (a truncated sequence).
  bool complete() const { return state_ == kAccept; }

  // True once feed() has returned false.
  bool failed() const { return state_ == kReject; }

  // Forgets everything, ready for the next message.
  void reset() { state_ = kAccept; }

  // Whole-string check: valid and complete.
  static bool isValid(std::span<const std::byte> bytes);

  // Internal state numbers, public for the transition table in the .cpp.
  static constexpr std::uint8_t kAccept = 0;
  static constexpr std::uint8_t kReject = 1;

 private:
  std::uint8_t state_ = kAccept;
};

}  // namespace wman::ws

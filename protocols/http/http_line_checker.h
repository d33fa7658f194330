// The line-level rules of RFC 9112 that the llhttp build wman links (llhttp 8, loose mode,
// no lenient flags) does not enforce itself: every line ends in CRLF (llhttp takes a bare LF
// after the request line and for the blank line), no obs-fold (a header line starting with
// whitespace), and a request line of exactly "method SP target SP version". Each of these
// is a request-smuggling shape when a proxy in front reads the bytes differently, so the
// decoder refuses them with 400. A CR inside a line is left to llhttp, which refuses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wman::detail {

// Scans the raw bytes of one head (or trailer section) as they arrive, in any split, and
// stops at the blank line that ends it, so body bytes are never taken for lines.
class HttpLineChecker {
 public:
  // Starts a head; `request_line` says whether its first non-empty line is a request line
  // (false for a trailer section, which has header lines only).
  void start(bool request_line);

  // Checks the next bytes. Returns how many of them were accepted: all of them, or up to
  // and including the head's final LF (then ended() is true), or up to the first byte that
  // breaks a rule (then error() says which and every later call accepts nothing).
  std::size_t scan(std::string_view bytes);

  bool ended() const { return ended_; }
  // A static reason, or nullptr while the rules hold.
  const char* error() const { return error_; }

 private:
  bool step(char c);  // one byte at a line start, in the request line or at a line end

  const char* error_ = nullptr;
  bool ended_ = false;
  bool prev_cr_ = false;
  bool at_line_start_ = true;
  bool in_request_line_ = false;  // still before the request line's CRLF
  bool request_line_seen_ = false;
  std::uint8_t spaces_ = 0;  // SP characters on the request line so far
};

}  // namespace wman::detail

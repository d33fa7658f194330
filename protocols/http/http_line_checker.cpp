#include "http/http_line_checker.h"

namespace wman::detail {

void HttpLineChecker::start(bool request_line) {
  *this = HttpLineChecker{};
  request_line_seen_ = !request_line;
}

std::size_t HttpLineChecker::scan(std::string_view bytes) {
  if (ended_ || error_ != nullptr) return 0;
  std::size_t i = 0;
  while (i < bytes.size()) {
    // Inside a header line only its end matters: a CR elsewhere in it is llhttp's to refuse
    // (no header value, name or target may hold one), so jump to the next LF.
    if (!at_line_start_ && !in_request_line_) {
      const std::size_t lf = bytes.find('\n', i);
      if (lf == std::string_view::npos) {
        prev_cr_ = bytes.back() == '\r';
        return bytes.size();
      }
      prev_cr_ = lf > i ? bytes[lf - 1] == '\r' : prev_cr_;
      i = lf;
    }
    if (!step(bytes[i])) return i;
    ++i;
    if (ended_) return i;
  }
  return bytes.size();
}

bool HttpLineChecker::step(char c) {
  if (prev_cr_ != (c == '\n')) {
    error_ = prev_cr_ ? "bare CR in request head" : "bare LF in request head";
    return false;
  }
  if (c == '\n') {
    if (in_request_line_ && spaces_ != 2) {
      error_ = "malformed request line";
      return false;
    }
    // RFC 9112 2.2 lets a server skip empty lines before the request line; an empty line
    // after it ends the head.
    ended_ = at_line_start_ && request_line_seen_;
    if (in_request_line_) request_line_seen_ = true;
    in_request_line_ = false;
    prev_cr_ = false;
    at_line_start_ = true;
    return true;
  }
  prev_cr_ = c == '\r';
  if (prev_cr_) return true;
  if (at_line_start_) {
    if (request_line_seen_ && (c == ' ' || c == '\t')) {
      error_ = "obs-fold in request head";
      return false;
    }
    in_request_line_ = !request_line_seen_;
    at_line_start_ = false;
  }
  if (in_request_line_ && (c == '\t' || (c == ' ' && ++spaces_ > 2))) {
    error_ = "malformed request line";
    return false;
  }
  return true;
}

}  // namespace wman::detail

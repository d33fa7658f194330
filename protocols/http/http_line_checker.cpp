#include "http/http_line_checker.h"

namespace wman::detail {

void HttpLineChecker::start(bool request_line) {
  *this = HttpLineChecker{};
  request_line_seen_ = !request_line;
}

std::size_t HttpLineChecker::scan(std::string_view bytes) {
  if (ended_ || error_ != nullptr) return 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (prev_cr_ != (c == '\n')) {
      error_ = prev_cr_ ? "bare CR in request head" : "bare LF in request head";
      return i;
    }
    if (c == '\n') {
      if (in_request_line_ && spaces_ != 2) {
        error_ = "malformed request line";
        return i;
      }
      // RFC 9112 2.2 lets a server skip empty lines before the request line; an empty
      // line after it ends the head.
      ended_ = at_line_start_ && request_line_seen_;
      if (in_request_line_) request_line_seen_ = true;
      in_request_line_ = false;
      prev_cr_ = false;
      at_line_start_ = true;
      if (ended_) return i + 1;
      continue;
    }
    prev_cr_ = c == '\r';
    if (prev_cr_) continue;
    if (at_line_start_) {
      if (request_line_seen_ && (c == ' ' || c == '\t')) {
        error_ = "obs-fold in request head";
        return i;
      }
      in_request_line_ = !request_line_seen_;
      at_line_start_ = false;
    }
    if (in_request_line_ && (c == '\t' || (c == ' ' && ++spaces_ > 2))) {
      error_ = "malformed request line";
      return i;
    }
  }
  return bytes.size();
}

}  // namespace wman::detail

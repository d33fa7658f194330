#include "http/http_response_encoder.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "http/http_head_collector.h"

namespace wman {
namespace {

bool isSafeValue(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// A header line an application may not smuggle into the response: a name that is not a
// token or a value holding CR, LF or NUL would let it split the response in two.
bool isValidHeader(std::string_view name, std::string_view value) {
  return !name.empty() && std::all_of(name.begin(), name.end(), detail::isTokenChar) &&
         isSafeValue(value);
}

// Headers whose meaning is the encoder's to decide (see the class comment).
bool isFramingHeader(std::string_view name, int status) {
  if (equalsIgnoreCase(name, "Content-Length") || equalsIgnoreCase(name, "Transfer-Encoding")) {
    return true;
  }
  return status != 101 && equalsIgnoreCase(name, "Connection");
}

void appendNumber(std::uint64_t n, int base, std::string& out) {
  std::array<char, 24> buf;
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), n, base);
  out.append(buf.data(), end);
}

void appendStatusLine(const HttpResponseHead& head, int status, std::string& out) {
  std::string_view reason = head.reason;
  if (reason.empty() || !isSafeValue(reason)) reason = httpReasonPhrase(status);
  if (reason.empty()) reason = "Unknown";
  out.append("HTTP/1.1 ");
  appendNumber(static_cast<std::uint64_t>(status), 10, out);
  out.append(" ").append(reason).append("\r\n");
}

}  // namespace

HttpResponseEncoder::HttpResponseEncoder(const HttpRequest& request)
    : HttpResponseEncoder(request.isHead(), request.version_minor, request.keep_alive) {}

HttpResponseEncoder::HttpResponseEncoder(bool head_request, int version_minor, bool keep_alive)
    : head_request_(head_request), version_minor_(version_minor), keep_alive_(keep_alive) {}

void HttpResponseEncoder::encodeWhole(const HttpResponseHead& head, std::string_view body,
                                      std::string_view date, std::string& out) {
  encodeHead(head, static_cast<std::int64_t>(body.size()), date, out);
  encodeBody(body, out);
  encodeEnd(out);
}

void HttpResponseEncoder::encodeHead(const HttpResponseHead& head, std::int64_t content_length,
                                     std::string_view date, std::string& out) {
  const int status = head.status >= 100 && head.status <= 999 ? head.status : 500;
  // RFC 9112 6.3: these never carry a body, whatever their headers say. A HEAD answer
  // announces the GET's length; a 304 could too, but only with the full representation's,
  // which the encoder does not know, so it announces none.
  const bool bodyless_status = status < 200 || status == 204 || status == 304;
  const bool announces_length = !bodyless_status;
  sends_body_ = !bodyless_status && !head_request_;
  for (const auto& [name, value] : head.headers) {
    if (equalsIgnoreCase(name, "Connection") && headerListHas(value, "close")) keep_alive_ = false;
  }
  chunked_ = content_length < 0 && sends_body_ && version_minor_ >= 1;
  // An HTTP/1.0 client knows no chunks: a body of unknown length ends when the connection does.
  if (content_length < 0 && sends_body_ && !chunked_) keep_alive_ = false;
  remaining_ = content_length;

  appendStatusLine(head, status, out);
  if (!date.empty() && head.get("Date").empty()) out.append("Date: ").append(date).append("\r\n");
  for (const auto& [name, value] : head.headers) {
    if (isFramingHeader(name, status) || !isValidHeader(name, value)) continue;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (announces_length && content_length >= 0) {
    out.append("Content-Length: ");
    appendNumber(static_cast<std::uint64_t>(content_length), 10, out);
    out.append("\r\n");
  } else if (chunked_) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  if (status != 101) {
    if (!keep_alive_) {
      out.append("Connection: close\r\n");
    } else if (version_minor_ == 0) {
      out.append("Connection: keep-alive\r\n");
    }
  }
  out.append("\r\n");
}

bool HttpResponseEncoder::encodeBody(std::string_view data, std::string& out) {
  if (!sends_body_ || data.empty()) return true;
  if (chunked_) {
    appendNumber(data.size(), 16, out);
    out.append("\r\n").append(data).append("\r\n");
    return true;
  }
  if (remaining_ < 0) {
    out.append(data);
    return true;
  }
  const auto fits = std::min<std::uint64_t>(data.size(), static_cast<std::uint64_t>(remaining_));
  out.append(data.substr(0, fits));
  remaining_ -= static_cast<std::int64_t>(fits);
  if (fits == data.size()) return true;
  keep_alive_ = false;
  return false;
}

bool HttpResponseEncoder::countBody(std::uint64_t bytes) {
  if (!sends_body_ || bytes == 0) return true;
  if (chunked_ || remaining_ < 0 || bytes > static_cast<std::uint64_t>(remaining_)) {
    keep_alive_ = false;  // framing the caller bypassed cannot be trusted any more
    return false;
  }
  remaining_ -= static_cast<std::int64_t>(bytes);
  return true;
}

void HttpResponseEncoder::encodeEnd(std::string& out) {
  if (chunked_) {
    out.append("0\r\n\r\n");
    chunked_ = false;
  }
  if (sends_body_ && remaining_ > 0) keep_alive_ = false;
}

void encodeContinue(std::string& out) {
  out.append("HTTP/1.1 100 Continue\r\n\r\n");
}

void encodeErrorResponse(int status, std::string_view message, std::string_view date,
                         std::string& out) {
  HttpResponseEncoder encoder(false, 1, false);
  HttpResponseHead head;
  head.status = status;
  head.add("Content-Type", "text/plain; charset=utf-8");
  encoder.encodeWhole(head, message, date, out);
}

}  // namespace wman

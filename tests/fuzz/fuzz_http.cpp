// libFuzzer target for the HTTP request side. The first byte picks the read size (low six
// bits, 0 = everything at once), whether bodies are streamed (bit 6) and whether the limits
// are small (bit 7, so 431 and 413 are reached); the rest is what a client sends. Checks: the
// decoder keeps its contract on every call (consumed within the input, Body pieces inside
// the consumed bytes, heads and bodies within their limits, an Error's status one of the
// documented ones), requests hold only what a strict parser lets through, the response
// written for each request or error is well-formed, and the outcome does not depend on how
// the bytes were split.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_request_decoder.h"
#include "http/http_response_encoder.h"

#include "fuzz_check.h"

namespace {

using wman::HttpDecodeResult;
using S = HttpDecodeResult::Status;

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

void checkRequest(const wman::HttpRequest& r, const wman::HttpDecoderOptions& options) {
  FUZZ_CHECK(isToken(r.method));
  FUZZ_CHECK(r.path.starts_with('/') || r.path == "*");
  FUZZ_CHECK(r.version_minor == 0 || r.version_minor == 1);
  FUZZ_CHECK(!(r.chunked && r.content_length >= 0));
  FUZZ_CHECK(r.content_length <= static_cast<std::int64_t>(options.max_body_size));
  FUZZ_CHECK(r.body.size() <= options.max_body_size);
  for (const auto& [name, value] : r.headers) {
    FUZZ_CHECK(isToken(name));
    FUZZ_CHECK(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
  }
  if (r.version_minor == 1) FUZZ_CHECK(r.hasHeader("Host"));
}

// The encoder answers the request; whatever the request held, the head it writes is lines
// ending in CRLF up to one blank line.
void checkAnswer(const wman::HttpRequest& r) {
  wman::HttpResponseHead head;
  head.set("X-Echo", r.path);
  head.set("X-Query", r.query);
  std::string out;
  wman::HttpResponseEncoder(r).encodeWhole(head, r.body, "Thu, 01 Jan 1970 00:00:00 GMT", out);
  checkHttpResponseHead(out, "HTTP/1.1 200 OK\r\n");
}

// Every report of one feeding, flattened to a string (body pieces joined, since where they
// are cut depends on the split).
std::string feed(std::string_view input, std::size_t read_size,
                 const wman::HttpDecoderOptions& options) {
  wman::HttpRequestDecoder decoder(options);
  std::string log, buffer, body;
  std::size_t pos = 0;
  while (pos < input.size()) {
    const std::size_t n = read_size == 0 ? input.size() - pos : read_size;
    buffer.append(input.substr(pos, n));
    pos += std::min(n, input.size() - pos);
    while (true) {
      const HttpDecodeResult r = decoder.decode(wman::asBytes(buffer));
      FUZZ_CHECK(r.consumed <= buffer.size());
      if (r.status == S::Error) {
        const int s = r.http_status;
        FUZZ_CHECK(s == 400 || s == 405 || s == 413 || s == 417 || s == 431 || s == 501 ||
                   s == 505);
        FUZZ_CHECK(!r.reason.empty());
        std::string out;
        wman::encodeErrorResponse(s, r.reason, "", out);
        checkHttpResponseHead(out, "HTTP/1.1 " + std::to_string(s) + " ");
        return log + "error " + std::to_string(s);
      }
      if (r.status == S::Body) {
        FUZZ_CHECK(options.stream_body);
        FUZZ_CHECK(!r.data.empty());
        FUZZ_CHECK(r.data.data() >= buffer.data());
        FUZZ_CHECK(r.data.data() + r.data.size() <= buffer.data() + r.consumed);
        body.append(r.data);
        FUZZ_CHECK(body.size() <= options.max_body_size);
      }
      if (r.status == S::Head) log += "head;";
      if (r.status == S::Request) {
        const wman::HttpRequest& q = decoder.request();
        checkRequest(q, options);
        checkAnswer(q);
        log += "request " + std::string(q.method) + " " + std::string(q.target) + " " +
               std::string(options.stream_body ? body : q.body) + ";";
        body.clear();
      }
      buffer.erase(0, r.consumed);
      if (r.status == S::NeedMore) break;
    }
  }
  // An incomplete head or body is stored (or dropped, once framing); only the bytes after
  // an upgrade stay with the caller.
  FUZZ_CHECK(buffer.empty() || decoder.state() == wman::HttpRequestDecoder::State::Upgraded);
  return log + "left " + std::to_string(buffer.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t read_size = data[0] & 0x3f;
  wman::HttpDecoderOptions options;
  options.stream_body = (data[0] & 0x40) != 0;
  if ((data[0] & 0x80) != 0) {
    options.max_header_size = 96;
    options.max_body_size = 16;
  }
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  FUZZ_CHECK(feed(input, read_size, options) == feed(input, 0, options));
  return 0;
}

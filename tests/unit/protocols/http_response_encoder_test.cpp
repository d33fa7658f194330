// HttpResponseEncoder: the exact bytes of whole, streamed, HEAD, bodyless and HTTP/1.0
// responses, what it does with headers an application must not set, and the helpers for
// 100 Continue, error responses and the Date header.
#include <catch2/catch.hpp>

#include <string>

#include "http/http_response_encoder.h"

namespace wman {
namespace {

constexpr std::string_view kDate = "Sun, 06 Nov 1994 08:49:37 GMT";

HttpResponseHead head(int status = 200) {
  HttpResponseHead h;
  h.status = status;
  h.set("Content-Type", "text/plain");
  return h;
}

TEST_CASE("http encoder: a whole response carries Content-Length and Date", "[http]") {
  HttpResponseEncoder e(false, 1, true);
  std::string out;
  e.encodeWhole(head(), "hello", kDate, out);
  CHECK(out ==
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
  CHECK(e.keepAlive());
  CHECK(e.sendsBody());
}

TEST_CASE("http encoder: HEAD gets the GET's length and no body", "[http]") {
  HttpResponseEncoder e(true, 1, true);
  std::string out;
  e.encodeWhole(head(), "hello", "", out);
  CHECK(out == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n");
  CHECK_FALSE(e.sendsBody());
  CHECK(e.keepAlive());

  // Streamed to a HEAD request: no chunk framing, and body pieces vanish.
  HttpResponseEncoder s(true, 1, true);
  std::string streamed;
  s.encodeHead(head(), -1, "", streamed);
  CHECK(s.encodeBody("data", streamed));
  s.encodeEnd(streamed);
  CHECK(streamed == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
  CHECK(s.keepAlive());
}

TEST_CASE("http encoder: streamed HTTP/1.1 bodies are chunked", "[http]") {
  HttpResponseEncoder e(false, 1, true);
  std::string out;
  e.encodeHead(head(), -1, "", out);
  CHECK(e.chunked());
  CHECK(e.encodeBody("hello", out));
  CHECK(e.encodeBody("", out));  // an empty piece must not end the body
  CHECK(e.encodeBody(std::string(26, 'x'), out));
  e.encodeEnd(out);
  CHECK(out ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n1a\r\nxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n0\r\n\r\n");
  CHECK(e.keepAlive());
}

TEST_CASE("http encoder: HTTP/1.0 gets no chunks", "[http]") {
  SECTION("an unknown length ends with the connection") {
    HttpResponseEncoder e(false, 0, true);
    std::string out;
    e.encodeHead(head(), -1, "", out);
    e.encodeBody("abc", out);
    e.encodeEnd(out);
    CHECK(out == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nabc");
    CHECK_FALSE(e.keepAlive());
  }
  SECTION("a keep-alive client is told the connection stays") {
    HttpResponseEncoder e(false, 0, true);
    std::string out;
    e.encodeWhole(head(), "abc", "", out);
    CHECK(out ==
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
          "Connection: keep-alive\r\n\r\nabc");
    CHECK(e.keepAlive());
  }
  SECTION("a client that did not ask for keep-alive is closed") {
    HttpResponseEncoder e(false, 0, false);
    std::string out;
    e.encodeWhole(head(), "abc", "", out);
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
    CHECK_FALSE(e.keepAlive());
  }
}

TEST_CASE("http encoder: a fixed length is kept to", "[http]") {
  HttpResponseEncoder e(false, 1, true);
  std::string out;
  e.encodeHead(head(), 4, "", out);
  CHECK_FALSE(e.chunked());
  CHECK(e.encodeBody("ab", out));
  CHECK_FALSE(e.encodeBody("cdef", out));  // two bytes too many: only "cd" goes out
  CHECK(out.ends_with("\r\n\r\nabcd"));
  CHECK_FALSE(e.keepAlive());

  HttpResponseEncoder short_body(false, 1, true);
  std::string cut;
  short_body.encodeHead(head(), 4, "", cut);
  short_body.encodeBody("ab", cut);
  short_body.encodeEnd(cut);
  CHECK_FALSE(short_body.keepAlive());  // the client would wait for two more bytes
}

TEST_CASE("http encoder: bodyless statuses", "[http]") {
  for (const int status : {204, 304, 101}) {
    INFO(status);
    HttpResponseEncoder e(false, 1, true);
    std::string out;
    e.encodeWhole(head(status), "ignored", "", out);
    CHECK(out.find("Content-Length") == std::string::npos);
    CHECK(out.find("Transfer-Encoding") == std::string::npos);
    CHECK(out.ends_with("\r\n\r\n"));
    CHECK_FALSE(e.sendsBody());
  }
}

TEST_CASE("http encoder: headers the application may not decide", "[http]") {
  HttpResponseHead h = head(299);
  h.add("Content-Length", "999");
  h.add("Transfer-Encoding", "gzip");
  h.add("Connection", "keep-alive, close");
  h.add("X-Split", "a\r\nSet-Cookie: evil=1");
  h.add("Bad Name", "v");
  h.add("Set-Cookie", "a=1");
  h.add("Set-Cookie", "b=2");
  h.add("Date", "Mon, 07 Nov 1994 00:00:00 GMT");
  h.reason = "Fine\r\nX: y";
  HttpResponseEncoder e(false, 1, true);
  std::string out;
  e.encodeWhole(h, "ok", kDate, out);
  CHECK(out ==
        "HTTP/1.1 299 Unknown\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\n"
        "Set-Cookie: b=2\r\nDate: Mon, 07 Nov 1994 00:00:00 GMT\r\nContent-Length: 2\r\n"
        "Connection: close\r\n\r\nok");
  CHECK_FALSE(e.keepAlive());

  HttpResponseHead odd;
  odd.status = 42;
  odd.reason = "Custom";
  std::string bad_status;
  HttpResponseEncoder(false, 1, true).encodeWhole(odd, "", "", bad_status);
  CHECK(bad_status.starts_with("HTTP/1.1 500 Custom\r\n"));
}

TEST_CASE("http encoder: HttpResponseHead edits", "[http]") {
  HttpResponseHead h;
  h.add("X-A", "1");
  h.add("x-a", "2");
  CHECK(h.get("X-a") == "1");
  h.set("X-A", "3");
  CHECK(h.headers.size() == 1);
  CHECK(h.get("x-a") == "3");
  h.remove("X-A");
  CHECK(h.headers.empty());
}

TEST_CASE("http encoder: 100 Continue and error responses", "[http]") {
  std::string out;
  encodeContinue(out);
  CHECK(out == "HTTP/1.1 100 Continue\r\n\r\n");
  out.clear();
  encodeErrorResponse(431, "request header too large", kDate, out);
  CHECK(out ==
        "HTTP/1.1 431 Request Header Fields Too Large\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 24\r\n"
        "Connection: close\r\n\r\nrequest header too large");
  for (const int status : {400, 405, 408, 413, 417, 501, 505}) {
    out.clear();
    encodeErrorResponse(status, "x", "", out);
    CHECK(out.starts_with("HTTP/1.1 " + std::to_string(status) + " " +
                          std::string(httpReasonPhrase(status)) + "\r\n"));
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
  }
}

TEST_CASE("http encoder: Date in IMF-fixdate", "[http]") {
  CHECK(formatHttpDate(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 9110's example
  CHECK(formatHttpDate(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(formatHttpDate(-1) == "Wed, 31 Dec 1969 23:59:59 GMT");
  CHECK(formatHttpDate(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
  CHECK(formatHttpDate(4102444799) == "Thu, 31 Dec 2099 23:59:59 GMT");
}

}  // namespace
}  // namespace wman

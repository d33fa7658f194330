// HttpRequestDecoder refuses every request shape that two HTTP parsers could read
// differently (request smuggling), and the versions, methods and codings it does not serve,
// each with its status, however the bytes are split.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "http_feed.h"

namespace wman {
namespace {

using namespace std::literals;

struct Shape {
  const char* what;
  std::string input;
  int status;
};

// The first line of the outcome must be "error <status> ...", whatever came before it
// (a head may be reported before a body turns out bad).
void checkRefused(const Shape& shape) {
  INFO(shape.what);
  const test::HttpFeed f = test::feedHttpEverySplit(shape.input);
  REQUIRE_FALSE(f.events.empty());
  CHECK(f.events.back().starts_with("error " + std::to_string(shape.status) + " "));
  CHECK(f.state == HttpRequestDecoder::State::Failed);
}

const std::string kPost = "POST / HTTP/1.1\r\nHost: h\r\n";
const std::string kChunked = kPost + "Transfer-Encoding: chunked\r\n\r\n";

TEST_CASE("http smuggling: framing conflicts are 400", "[http]") {
  const std::vector<Shape> shapes = {
      {"Content-Length with Transfer-Encoding",
       kPost + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"Transfer-Encoding then Content-Length",
       kPost + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
      {"two equal Content-Lengths", kPost + "Content-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400},
      {"two different Content-Lengths", kPost + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
       400},
      {"a Content-Length list", kPost + "Content-Length: 5, 6\r\n\r\nhello!", 400},
      {"a Content-Length list of equal values", kPost + "Content-Length: 5,5\r\n\r\nhello", 400},
      {"a signed Content-Length", kPost + "Content-Length: +5\r\n\r\nhello", 400},
      {"an overflowing Content-Length", kPost + "Content-Length: 99999999999999999999999\r\n\r\n",
       400},
      {"Transfer-Encoding without chunked", kPost + "Transfer-Encoding: gzip\r\n\r\nx", 400},
      {"chunked not last", kPost + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400},
      {"chunked twice", kPost + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},
      {"a look-alike of chunked", kPost + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400},
      {"Transfer-Encoding in HTTP/1.0",
       "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"Transfer-Encoding in a trailer", kChunked + "0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
  };
  for (const Shape& s : shapes) checkRefused(s);
}

TEST_CASE("http smuggling: bad chunks are 400", "[http]") {
  const std::vector<Shape> shapes = {
      {"a chunk size that is not hex", kChunked + "zz\r\n", 400},
      {"a negative chunk size", kChunked + "-5\r\nhello\r\n0\r\n\r\n", 400},
      {"a 0x chunk size", kChunked + "0x5\r\nhello\r\n0\r\n\r\n", 400},
      {"an overflowing chunk size", kChunked + "fffffffffffffffffff\r\n", 400},
      {"space after the chunk size", kChunked + "5 \r\nhello\r\n0\r\n\r\n", 400},
      {"an empty chunk size", kChunked + "\r\nhello\r\n0\r\n\r\n", 400},
      {"a bare LF after the chunk size", kChunked + "5\nhello\r\n0\r\n\r\n", 400},
      {"chunk data longer than its size", kChunked + "5\r\nhelloXX\r\n0\r\n\r\n", 400},
      {"a bare LF after chunk data", kChunked + "5\r\nhello\n0\r\n\r\n", 400},
      {"a quote in an extension name", kChunked + "5;a\"b\r\nhello\r\n0\r\n\r\n", 400},
      {"obs-fold in a trailer", kChunked + "0\r\nX: a\r\n b\r\n\r\n", 400},
      {"a bare LF in a trailer", kChunked + "0\r\nX: a\nY: b\r\n\r\n", 400},
      {"a bad trailer name", kChunked + "0\r\nX Y: a\r\n\r\n", 400},
      {"an empty trailer name", kChunked + "0\r\n: a\r\n\r\n", 400},
  };
  for (const Shape& s : shapes) checkRefused(s);
}

TEST_CASE("http smuggling: malformed heads are 400", "[http]") {
  const std::vector<Shape> shapes = {
      {"a bare LF ending the request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
      {"a bare LF ending a header", "GET / HTTP/1.1\r\nHost: h\n\r\n", 400},
      {"a bare LF ending the head", "GET / HTTP/1.1\r\nHost: h\r\n\n", 400},
      {"a bare CR in the request line", "GET / HTTP/1.1\rHost: h\r\n\r\n", 400},
      {"a bare CR in a value", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400},
      {"obs-fold with a space", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400},
      {"obs-fold with a tab", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 400},
      {"whitespace before the first header", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400},
      {"two spaces in the request line", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"a tab in the request line", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"a space in the target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"space after the version", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
      {"space before a header's colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
      {"an empty header name", "GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n", 400},
      {"an empty first header name", "GET / HTTP/1.1\r\n:Host h\r\nHost: h\r\n\r\n", 400},
      {"a header name with a slash", "GET / HTTP/1.1\r\nHost: h\r\nA/B: c\r\n\r\n", 400},
      {"a control character in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", 400},
      {"DEL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fz\r\n\r\n", 400},
      {"NUL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\0z\r\n\r\n"s, 400},
      {"no Host in HTTP/1.1", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400},
      {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"two Hosts in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400},
      {"a target that is no URI form", "GET index.html HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"an asterisk target for GET", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"an unknown method", "FOO / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"a lower-case method", "get / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"a version llhttp does not know", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 400},
      {"no version", "GET /\r\nHost: h\r\n\r\n", 400},
  };
  for (const Shape& s : shapes) checkRefused(s);
}

TEST_CASE("http smuggling: what wman does not serve has its own status", "[http]") {
  const std::vector<Shape> shapes = {
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505},
      {"CONNECT", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", 405},
      {"a coding before chunked", kPost + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
  };
  for (const Shape& s : shapes) checkRefused(s);
}

TEST_CASE("http smuggling: what strictness still accepts", "[http]") {
  // Empty lines before a request line (RFC 9112 2.2), obs-text in values, OWS around
  // values, upper-case chunked, hex sizes in either case with leading zeros.
  const std::string ok = "\r\nGET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9 \r\n\r\n" + kPost +
                         "Transfer-Encoding: CHUNKED\r\n\r\n00A\r\n0123456789\r\n0\r\n\r\n";
  const test::HttpFeed f = test::feedHttpEverySplit(ok);
  CHECK(f.events == std::vector<std::string>{"request GET / HTTP/1.1 ka", "head POST /",
                                             "request POST / HTTP/1.1 ka body=0123456789"});
}

}  // namespace
}  // namespace wman

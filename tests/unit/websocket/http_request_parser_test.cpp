// HttpRequestParser: the request head only, stopping exactly at its blank line, storing the
// pieces across reads, and its two limits (431 for size, 400 for malformed input).
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "http/http_request_parser.h"
#include "ws_test_util.h"

namespace wman {
namespace {

using Status = HttpRequestParser::Result::Status;

struct Outcome {
  Status status = Status::NeedMore;
  std::size_t consumed = 0;  // total over all feeds
  int http_status = 0;
  std::string method, path, query;
  std::vector<std::pair<std::string, std::string>> headers;
  bool operator==(const Outcome&) const = default;
};

// Feeds `input` in chunks cut at `cuts`, dropping consumed bytes like a connection, and
// copies out the request (its views die with the parser).
Outcome run(std::string_view input, const std::vector<std::size_t>& cuts,
            std::size_t max = HttpRequestParser::kDefaultMaxHeaderSize) {
  HttpRequestParser parser(max);
  Outcome o;
  std::string buffer;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : input.size();
    buffer.append(input.substr(start, end - start));
    start = end;
    const HttpRequestParser::Result r = parser.feed(asBytes(buffer));
    REQUIRE(r.consumed <= buffer.size());
    // An incomplete head is stored by the parser, so nothing stays in the buffer.
    if (r.status == Status::NeedMore) CHECK(r.consumed == buffer.size());
    o.consumed += r.consumed;
    buffer.erase(0, r.consumed);
    o.status = r.status;
    if (r.status == Status::Error) {
      // Bytes stored before the error depend on the split; only the verdict matters.
      o.consumed = 0;
      o.http_status = r.http_status;
      CHECK_FALSE(r.reason.empty());
      return o;
    }
    if (r.status == Status::Done) break;
  }
  if (o.status == Status::Done) {
    const HandshakeRequest& req = parser.request();
    o.method = req.method;
    o.path = req.path;
    o.query = req.query;
    for (const auto& [k, v] : req.headers) o.headers.emplace_back(k, v);
  }
  return o;
}

// The same outcome whole, byte by byte and split in two anywhere.
Outcome runEverySplit(std::string_view input,
                      std::size_t max = HttpRequestParser::kDefaultMaxHeaderSize) {
  const Outcome whole = run(input, {}, max);
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
  CHECK(run(input, every, max) == whole);
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    INFO("cut at " << cut);
    REQUIRE(run(input, {cut}, max) == whole);
  }
  return whole;
}

TEST_CASE("http parser: the RFC 6455 example request", "[websocket][http]") {
  const std::string request = test::ws::upgradeRequest();
  const Outcome o = runEverySplit(request);
  CHECK(o.status == Status::Done);
  CHECK(o.consumed == request.size());
  CHECK(o.method == "GET");
  CHECK(o.path == "/chat");
  CHECK(o.query == "");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"Host", "server.example.com"},   {"Upgrade", "websocket"},
      {"Connection", "Upgrade"},        {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
      {"Origin", "http://example.com"}, {"Sec-WebSocket-Protocol", "chat, superchat"},
      {"Sec-WebSocket-Version", "13"},
  };
  CHECK(o.headers == expected);
}

TEST_CASE("http parser: bytes after the head are left alone", "[websocket][http]") {
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string frames = test::ws::text("hi") + test::ws::ping("");
  const Outcome o = runEverySplit(head + frames);
  CHECK(o.status == Status::Done);
  CHECK(o.consumed == head.size());
}

TEST_CASE("http parser: target, query and header values", "[websocket][http]") {
  const Outcome o = runEverySplit(
      "GET /a/b?room=1&x=%20#frag HTTP/1.1\r\n"
      "Host:   spaced   \r\n"
      "X-Empty:\r\n"
      "x-lower: v\r\n"
      "Host: second\r\n\r\n");
  REQUIRE(o.status == Status::Done);
  CHECK(o.path == "/a/b");
  CHECK(o.query == "room=1&x=%20");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"Host", "spaced"}, {"X-Empty", ""}, {"x-lower", "v"}, {"Host", "second"}};
  CHECK(o.headers == expected);
}

TEST_CASE("http parser: a request without a query has an empty one", "[websocket][http]") {
  const Outcome o = run("GET /x? HTTP/1.1\r\nHost: a\r\n\r\n", {});
  CHECK(o.path == "/x");
  CHECK(o.query == "");
}

TEST_CASE("http parser: malformed heads are 400", "[websocket][http]") {
  for (const char* bad : {
           "HELLO\r\n\r\n", "GET / FTP/1.1\r\nHost: a\r\n\r\n",
           "GET / HTTP/1.1\r\nHost : a\r\n\r\n",            // whitespace before the colon
           "GET / HTTP/1.1\r\nHo st: a\r\n\r\n",            // space in a header name
           "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n",         // control character in a value
           "GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n",      // an empty header name
           "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  // a TLS ClientHello on a plain port
       }) {
    INFO(bad);
    const Outcome o = runEverySplit(bad);
    CHECK(o.status == Status::Error);
    CHECK(o.http_status == 400);
  }
}

TEST_CASE("http parser: the head may be max_header_size bytes, not one more", "[websocket][http]") {
  const std::string base = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \r\n\r\n";
  const std::size_t max = 200;
  const std::string exact =
      "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: " + std::string(max - base.size(), 'p') + "\r\n\r\n";
  REQUIRE(exact.size() == max);
  const Outcome ok = runEverySplit(exact, max);
  CHECK(ok.status == Status::Done);
  CHECK(ok.consumed == max);

  const std::string over =
      "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: " + std::string(max + 1 - base.size(), 'p') + "\r\n\r\n";
  const Outcome too_big = runEverySplit(over, max);
  CHECK(too_big.status == Status::Error);
  CHECK(too_big.http_status == 431);
}

TEST_CASE("http parser: an endless head stops at the limit", "[websocket][http]") {
  HttpRequestParser parser(1024);
  const std::string line = "X-Header: value\r\n";
  std::string buffer = "GET / HTTP/1.1\r\n";
  std::size_t fed = 0;
  HttpRequestParser::Result r;
  for (int i = 0; i < 1000; ++i) {
    buffer += line;
    r = parser.feed(asBytes(buffer));
    if (r.status != Status::NeedMore) break;
    fed += r.consumed;
    buffer.erase(0, r.consumed);
  }
  CHECK(r.status == Status::Error);
  CHECK(r.http_status == 431);
  CHECK(fed < 1024);
}

TEST_CASE("http parser: results repeat after the end, reset starts over", "[websocket][http]") {
  HttpRequestParser parser;
  const std::string req = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
  auto r = parser.feed(asBytes(req));
  REQUIRE(r.status == Status::Done);
  r = parser.feed(asBytes("more"));
  CHECK(r.status == Status::Done);
  CHECK(r.consumed == 0);
  CHECK(parser.request().path == "/one");
  CHECK(parser.httpMajor() == 1);
  CHECK(parser.httpMinor() == 1);

  parser.reset();
  r = parser.feed(asBytes("GET /two HTTP/1.0\r\n\r\n"));
  REQUIRE(r.status == Status::Done);
  CHECK(parser.request().path == "/two");
  CHECK(parser.httpMinor() == 0);
  CHECK(parser.request().headers.empty());
}

}  // namespace
}  // namespace wman

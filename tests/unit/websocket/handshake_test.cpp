// The opening handshake (RFC 6455 4.2): each missing or invalid header with its HTTP status,
// the exact 101 response, subprotocols, rejections, and frames that follow the request.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "ws_test_util.h"

namespace wman {
namespace {

using namespace std::literals;
using test::Event;
using test::Feed;
using test::ws::freshMaker;
using test::ws::handshakeEvent;
using test::ws::kOwned;
using test::ws::textEvent;
using test::ws::upgradeRequest;
using S = DecodeResult::Status;

constexpr std::string_view kAccept101 =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    "\r\n";

// A request built from header lines, so each row can drop or change one.
std::string request(std::string_view request_line, std::vector<std::string> headers) {
  std::string r = std::string(request_line) + "\r\n";
  for (const std::string& h : headers) r += h + "\r\n";
  return r + "\r\n";
}

std::vector<std::string> goodHeaders() {
  return {"Host: server.example.com", "Upgrade: websocket", "Connection: Upgrade",
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"};
}

std::vector<std::string> without(std::string_view prefix) {
  std::vector<std::string> h = goodHeaders();
  std::erase_if(h, [&](const std::string& s) { return s.starts_with(prefix); });
  return h;
}

std::vector<std::string> replaced(std::string_view prefix, std::string line) {
  std::vector<std::string> h = without(prefix);
  h.push_back(std::move(line));
  return h;
}

TEST_CASE("handshake: the RFC example gives exactly the RFC's 101", "[websocket][handshake]") {
  WebSocketCodec codec;
  CHECK_FALSE(codec.isOpen());
  CHECK(codec.handshakeRequest() == nullptr);
  const std::string req = upgradeRequest();
  const DecodeResult r = codec.decode(asBytes(req));
  REQUIRE(r.status == S::Handshake);
  CHECK(r.consumed == req.size());
  CHECK_FALSE(codec.isOpen());
  const HandshakeRequest* hr = codec.handshakeRequest();
  REQUIRE(hr != nullptr);
  CHECK(hr->method == "GET");
  CHECK(hr->path == "/chat");
  CHECK(hr->header("origin") == "http://example.com");

  // Until answered, nothing more is consumed.
  CHECK(codec.decode(asBytes(test::ws::text("early"))).status == S::NeedMore);
  CHECK(codec.decode(asBytes(test::ws::text("early"))).consumed == 0);

  std::string out = "before|";
  CHECK(codec.answerHandshake(HandshakeAnswer{}, out));
  CHECK(out == "before|" + std::string(kAccept101));
  CHECK(codec.isOpen());
  CHECK(codec.handshakeRequest() == nullptr);
  CHECK(codec.deflateParams() == nullptr);
  // A second answer has nothing to answer.
  std::string again;
  CHECK_FALSE(codec.answerHandshake(HandshakeAnswer{}, again));
  CHECK(again.empty());
}

TEST_CASE("handshake: every invalid request has its status", "[websocket][handshake]") {
  struct Row {
    const char* rule;
    std::string input;
    std::uint16_t status;
  };
  const std::string get = "GET /chat HTTP/1.1";
  const Row rows[] = {
      {"4.2.1 (1): POST", request("POST /chat HTTP/1.1", goodHeaders()), 405},
      {"4.2.1 (1): HEAD", request("HEAD /chat HTTP/1.1", goodHeaders()), 405},
      {"4.2.1 (1): HTTP/1.0", request("GET /chat HTTP/1.0", goodHeaders()), 400},
      {"4.2.1 (2): no Host", request(get, without("Host")), 400},
      {"4.2.1 (3): no Upgrade", request(get, without("Upgrade")), 400},
      {"4.2.1 (3): Upgrade without websocket", request(get, replaced("Upgrade", "Upgrade: h2c")),
       400},
      {"4.2.1 (3): Upgrade with a longer token",
       request(get, replaced("Upgrade", "Upgrade: websockets")), 400},
      {"4.2.1 (4): no Connection", request(get, without("Connection")), 400},
      {"4.2.1 (4): Connection without upgrade",
       request(get, replaced("Connection", "Connection: keep-alive")), 400},
      {"4.2.1 (5): no key", request(get, without("Sec-WebSocket-Key")), 400},
      {"4.2.1 (5): key of 15 bytes",
       request(get, replaced("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA")), 400},
      {"4.2.1 (5): key of 17 bytes",
       request(get, replaced("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=")),
       400},
      {"4.2.1 (5): key not base64",
       request(get, replaced("Sec-WebSocket-Key", "Sec-WebSocket-Key: not*base64*at*all*!!!!==")),
       400},
      {"4.2.1 (5): two keys",
       request(get,
               [] {
                 auto h = goodHeaders();
                 h.push_back("Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==");
                 return h;
               }()),
       400},
      {"4.2.1 (6): no version", request(get, without("Sec-WebSocket-Version")), 400},
      {"4.2.1 (6): version 8",
       request(get, replaced("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8")), 426},
      {"4.2.1 (6): version list",
       request(get, replaced("Sec-WebSocket-Version", "Sec-WebSocket-Version: 13, 8")), 426},
      {"malformed HTTP", "GET /chat HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"not HTTP at all", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"s, 400},
      {"head over max_header_size",
       request(get,
               [] {
                 auto h = goodHeaders();
                 h.push_back("X-Big: " + std::string(9000, 'x'));
                 return h;
               }()),
       431},
  };
  for (const Row& row : rows) {
    INFO(row.rule);
    WebSocketCodec codec;
    const DecodeResult r = codec.decode(asBytes(row.input));
    REQUIRE(r.status == S::Error);
    CHECK(r.code == row.status);
    CHECK_FALSE(r.reason.empty());
    CHECK_FALSE(codec.isOpen());
    // The error sticks.
    CHECK(codec.decode(asBytes(row.input)).code == row.status);
  }
}

TEST_CASE("handshake: tokens are matched case-insensitively in lists", "[websocket][handshake]") {
  const std::string get = "GET /chat HTTP/1.1";
  for (const std::vector<std::string>& headers : {
           replaced("Upgrade", "Upgrade: WebSocket"),
           replaced("Upgrade", "Upgrade: foo/2, websocket"),
           replaced("Connection", "Connection: keep-alive, Upgrade"),
           replaced("Connection", "connection: UPGRADE"),
           [] {
             auto h = replaced("Connection", "Connection: keep-alive");
             h.push_back("Connection: upgrade");  // the list may span header lines
             return h;
           }(),
       }) {
    INFO(headers.back());
    WebSocketCodec codec;
    CHECK(codec.decode(asBytes(request(get, headers))).status == S::Handshake);
  }
  WebSocketCodec http11_or_later;
  CHECK(http11_or_later.decode(asBytes(request("GET / HTTP/1.1", goodHeaders()))).status ==
        S::Handshake);
}

TEST_CASE("handshake: error responses", "[websocket][handshake]") {
  WebSocketCodec codec;
  std::string out;
  codec.encodeError(426, "unsupported WebSocket version", out);
  CHECK(out ==
        "HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain\r\nContent-Length: 29\r\n"
        "Connection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"
        "unsupported WebSocket version");
  out.clear();
  codec.encodeError(400, "missing Host header", out);
  CHECK(out ==
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n"
        "Connection: close\r\n\r\nmissing Host header");
  out.clear();
  codec.encodeError(405, "x", out);
  CHECK(out.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
  CHECK(out.find("\r\nAllow: GET\r\n") != std::string::npos);
  out.clear();
  codec.encodeError(431, "request header too large", out);
  CHECK(out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  out.clear();
  codec.encodeError(1002, "not an HTTP status", out);
  CHECK(out.starts_with("HTTP/1.1 400 Bad Request\r\n"));
}

TEST_CASE("handshake: subprotocol only if the client offered it", "[websocket][handshake]") {
  struct Row {
    std::string chosen;
    std::string expected_line;  // "" = no Sec-WebSocket-Protocol in the response
  };
  const Row rows[] = {
      {"chat", "Sec-WebSocket-Protocol: chat\r\n"},
      {"superchat", "Sec-WebSocket-Protocol: superchat\r\n"},
      {"Chat", ""},  // subprotocol names are case-sensitive
      {"other", ""},
      {"", ""},
  };
  for (const Row& row : rows) {
    INFO(row.chosen);
    WebSocketCodec codec;
    REQUIRE(codec.decode(asBytes(upgradeRequest())).status == S::Handshake);
    std::string out;
    HandshakeAnswer answer;
    answer.subprotocol = row.chosen;
    REQUIRE(codec.answerHandshake(answer, out));
    std::string expected(kAccept101);
    expected.insert(expected.size() - 2, row.expected_line);
    CHECK(out == expected);
  }
}

TEST_CASE("handshake: extra headers, and lines that would split the response",
          "[websocket][handshake]") {
  WebSocketCodec codec;
  REQUIRE(codec.decode(asBytes(upgradeRequest())).status == S::Handshake);
  HandshakeAnswer answer;
  answer.headers = {{"X-Server", "wman"}, {"X-Evil", "a\r\nSet-Cookie: b"}, {"Bad\nName", "v"}};
  std::string out;
  REQUIRE(codec.answerHandshake(answer, out));
  std::string expected(kAccept101);
  expected.insert(expected.size() - 2, "X-Server: wman\r\n");
  CHECK(out == expected);
}

TEST_CASE("handshake: the application rejects", "[websocket][handshake]") {
  WebSocketCodec codec;
  REQUIRE(codec.decode(asBytes(upgradeRequest())).status == S::Handshake);
  HandshakeAnswer answer;
  answer.status = 403;
  answer.reason = "origin not allowed";
  answer.headers = {{"X-Why", "origin"}};
  std::string out;
  CHECK_FALSE(codec.answerHandshake(answer, out));
  CHECK(out ==
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n"
        "Connection: close\r\nX-Why: origin\r\n\r\norigin not allowed");
  CHECK_FALSE(codec.isOpen());
  CHECK(codec.handshakeRequest() == nullptr);
  // Whatever the client still sends is dropped: the connection is closing.
  const std::string frame = test::ws::text("x");
  const DecodeResult r = codec.decode(asBytes(frame));
  CHECK(r.status == S::NeedMore);
  CHECK(r.consumed == frame.size());

  WebSocketCodec odd;
  REQUIRE(odd.decode(asBytes(upgradeRequest())).status == S::Handshake);
  answer = {};
  answer.status = 200;  // not a rejection status: sent as 500
  out.clear();
  CHECK_FALSE(odd.answerHandshake(answer, out));
  CHECK(out.starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
}

TEST_CASE("handshake: frames sent right behind the request", "[websocket][handshake]") {
  const std::string input = upgradeRequest() + test::ws::text("first") + test::ws::text("second");
  const Feed feed = test::decodeEverySplit(freshMaker(), input, kOwned);
  CHECK(feed == Feed{{handshakeEvent(kAccept101), textEvent("first"), textEvent("second")}, 0});
}

TEST_CASE("handshake: an invalid request fed in any split gives its status",
          "[websocket][handshake]") {
  const std::string input = request("GET /chat HTTP/1.1", without("Host"));
  const Feed feed = test::decodeEverySplit(freshMaker(), input, kOwned);
  CHECK(feed == Feed{{Event::error(400, "missing Host header")}, 0});
}

}  // namespace
}  // namespace wman

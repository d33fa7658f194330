// The client side of the opening handshake (RFC 6455 4.1, RFC 7692 7.1): the request it
// writes, and every way a server's response can be refused.
#include <catch2/catch.hpp>

#include <set>
#include <stdexcept>
#include <string>

#include "websocket/base64.h"
#include "websocket/websocket_client_handshake.h"
#include "ws_client_test_util.h"
#include "ws_test_util.h"

namespace wman {
namespace {

using namespace std::literals;
using namespace test::ws;
using S = DecodeResult::Status;

std::string requestOf(const WebSocketClientOptions& options) {
  WebSocketClientCodec codec(CodecLimits{}, options);
  std::string out;
  codec.encodeOpening(out);
  return out;
}

TEST_CASE("ws client: the request has the RFC 6455 4.1 headers", "[websocket][client]") {
  WebSocketClientOptions o = clientOptions();
  o.target = "/chat?room=1#ignored";
  o.origin = "http://example.com";
  o.subprotocols = {"chat", "superchat"};
  o.headers = {{"Cookie", "a=b"}};
  const std::string req = requestOf(o);
  const std::string key = headerIn(req, "Sec-WebSocket-Key");
  CHECK(req ==
        "GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
            key +
            "\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
            "Cookie: a=b\r\n\r\n");
  const auto nonce = ws::base64Decode(key);
  REQUIRE(nonce);
  CHECK(nonce->size() == 16);
}

TEST_CASE("ws client: Host carries the port unless it is the default", "[websocket][client]") {
  WebSocketClientOptions o = clientOptions();
  CHECK(headerIn(requestOf(o), "Host") == "server.example.com");
  o.port = 8080;
  CHECK(headerIn(requestOf(o), "Host") == "server.example.com:8080");
  o.port = 443;
  CHECK(headerIn(requestOf(o), "Host") == "server.example.com:443");
  o.secure = true;
  CHECK(headerIn(requestOf(o), "Host") == "server.example.com");
  o.port = 80;
  CHECK(headerIn(requestOf(o), "Host") == "server.example.com:80");
  o.host = "::1";
  o.port = 9000;
  CHECK(headerIn(requestOf(o), "Host") == "[::1]:9000");
}

TEST_CASE("ws client: every codec draws a fresh key", "[websocket][client]") {
  WebSocketClientOptions o = clientOptions();
  o.random = deviceRandom();
  auto factory = webSocketClientCodecFactory(o);
  std::set<std::string> keys;
  for (int i = 0; i < 50; ++i) {
    std::string out;
    factory(CodecLimits{})->encodeOpening(out);
    keys.insert(headerIn(out, "Sec-WebSocket-Key"));
  }
  CHECK(keys.size() == 50);
  // A second encodeOpening() on the same codec adds nothing.
  WebSocketClientCodec codec(CodecLimits{}, o);
  std::string out;
  codec.encodeOpening(out);
  const std::size_t once = out.size();
  codec.encodeOpening(out);
  CHECK(out.size() == once);
}

TEST_CASE("ws client: the deflate offer follows the options", "[websocket][client][deflate]") {
  WebSocketClientOptions o = clientOptions();
  CHECK(headerIn(requestOf(o), "Sec-WebSocket-Extensions").empty());
  o.permessage_deflate = true;
  CHECK(headerIn(requestOf(o), "Sec-WebSocket-Extensions") ==
        "permessage-deflate; client_max_window_bits");
  o.deflate.client_max_window_bits = 10;
  o.deflate.server_max_window_bits = 12;
  o.deflate.server_no_context_takeover = true;
  o.deflate.client_no_context_takeover = true;
  CHECK(headerIn(requestOf(o), "Sec-WebSocket-Extensions") ==
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=12; client_max_window_bits=10");
}

TEST_CASE("ws client: unusable options are refused up front", "[websocket][client]") {
  auto refused = [](auto change) {
    WebSocketClientOptions o = clientOptions();
    change(o);
    return !ws::checkClientOptions(o).empty();
  };
  using O = WebSocketClientOptions;
  CHECK_FALSE(refused([](O&) {}));
  CHECK(refused([](O& o) { o.host.clear(); }));
  CHECK(refused([](O& o) { o.host = "a\r\nX: y"; }));
  CHECK(refused([](O& o) { o.target = "chat"; }));
  CHECK(refused([](O& o) { o.target = "/a b"; }));
  CHECK(refused([](O& o) { o.subprotocols = {"a b"}; }));
  CHECK(refused([](O& o) { o.subprotocols = {"chat", "chat"}; }));
  CHECK(refused([](O& o) { o.headers = {{"X-A", "1\r\nX-B: 2"}}; }));
  CHECK(refused([](O& o) { o.headers = {{"Sec-WebSocket-Key", "x"}}; }));
  CHECK(refused([](O& o) { o.headers = {{"host", "x"}}; }));
  CHECK(refused([](O& o) {
    o.permessage_deflate = true;
    o.deflate.client_max_window_bits = 7;
  }));
  CHECK(refused([](O& o) { o.random = nullptr; }));
  O bad = clientOptions();
  bad.host.clear();
  CHECK_THROWS_AS(WebSocketClientCodec(CodecLimits{}, bad), std::invalid_argument);
  CHECK_THROWS_AS(webSocketClientCodecFactory(bad), std::invalid_argument);
}

// Feeds the response to a client that sent its request, returning the first non-NeedMore.
Got answer(WebSocketClientOptions o, const std::function<std::string(const std::string&)>& make) {
  WebSocketClientCodec codec(CodecLimits{}, std::move(o));
  std::string request;
  codec.encodeOpening(request);
  std::string response = make(request);
  std::vector<Got> got = drain(codec, response);
  REQUIRE(got.size() >= 1);
  return got[0];
}

Got answerWith(std::string_view extra, WebSocketClientOptions o = clientOptions()) {
  return answer(std::move(o), [&](const std::string& req) { return acceptResponse(req, extra); });
}

TEST_CASE("ws client: a valid 101 opens the session", "[websocket][client]") {
  CHECK(answerWith("").status == S::Handshake);
  // Tokens are case-insensitive, and may be one of several.
  const Got g = answer(clientOptions(), [](const std::string& req) {
    return "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n"
           "sec-websocket-accept: " +
           ws::acceptKey(headerIn(req, "Sec-WebSocket-Key")) + "\r\n\r\n";
  });
  CHECK(g.status == S::Handshake);
}

TEST_CASE("ws client: each broken response has its reason", "[websocket][client]") {
  auto fails = [](const Got& g, std::uint16_t code, std::string_view reason) {
    CHECK(g.status == S::Error);
    CHECK(g.code == code);
    CHECK(g.reason == reason);
  };
  fails(answer(clientOptions(),
               [](const std::string&) {
                 return "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"s;
               }),
        403, "handshake: server did not answer 101 Switching Protocols");
  fails(answer(clientOptions(),
               [](const std::string& req) {
                 std::string r = acceptResponse(req);
                 return r.replace(r.find("Upgrade: websocket"), 18, "Upgrade: h2c");
               }),
        1002, "handshake: Upgrade header must contain websocket");
  fails(answer(clientOptions(),
               [](const std::string& req) {
                 std::string r = acceptResponse(req);
                 return r.erase(r.find("Connection: Upgrade\r\n"), 21);
               }),
        1002, "handshake: Connection header must contain upgrade");
  fails(answer(clientOptions(),
               [](const std::string&) {
                 return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\n\r\n"s;
               }),
        1002, "handshake: missing Sec-WebSocket-Accept");
  fails(answer(clientOptions(),
               [](const std::string&) {
                 return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"s;
               }),
        1002, "handshake: bad Sec-WebSocket-Accept");
  fails(answer(clientOptions(),
               [](const std::string&) { return "HTTP/1.1 1O1 Switching Protocols\r\n\r\n"s; }),
        1002, "handshake: malformed HTTP response");
}

TEST_CASE("ws client: the subprotocol must be one offered", "[websocket][client]") {
  WebSocketClientOptions o = clientOptions();
  o.subprotocols = {"chat", "superchat"};
  {
    WebSocketClientCodec codec(CodecLimits{}, o);
    std::string req;
    codec.encodeOpening(req);
    std::string resp = acceptResponse(req, "Sec-WebSocket-Protocol: superchat\r\n");
    REQUIRE(drain(codec, resp)[0].status == S::Handshake);
    CHECK(codec.subprotocol() == "superchat");
  }
  CHECK(answerWith("Sec-WebSocket-Protocol: other\r\n", o).reason ==
        "handshake: server chose a subprotocol not offered");
  CHECK(answerWith("Sec-WebSocket-Protocol: Chat\r\n", o).reason ==
        "handshake: server chose a subprotocol not offered");
  CHECK(answerWith("Sec-WebSocket-Protocol: chat, superchat\r\n", o).reason ==
        "handshake: server chose a subprotocol not offered");
  CHECK(answerWith("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n", o).reason ==
        "handshake: several Sec-WebSocket-Protocol headers");
  CHECK(answerWith("Sec-WebSocket-Protocol: chat\r\n").reason ==
        "handshake: server chose a subprotocol not offered");
}

TEST_CASE("ws client: extensions must be ones offered, with valid parameters",
          "[websocket][client][deflate]") {
  WebSocketClientOptions d = clientOptions();
  d.permessage_deflate = true;
  auto ext = [](std::string_view value) {
    return "Sec-WebSocket-Extensions: " + std::string(value) + "\r\n";
  };
  CHECK(answerWith(ext("permessage-deflate")).reason ==
        "handshake: server accepted an extension not offered");
  CHECK(answerWith(ext("x-webkit-deflate-frame"), d).reason ==
        "handshake: server accepted an extension not offered");
  CHECK(answerWith(ext("permessage-deflate, permessage-deflate"), d).reason ==
        "handshake: permessage-deflate accepted twice");
  CHECK(answerWith(ext("permessage-deflate; foo=1"), d).reason ==
        "handshake: unknown permessage-deflate parameter");
  CHECK(answerWith(ext("permessage-deflate; server_max_window_bits=16"), d).reason ==
        "handshake: bad permessage-deflate window bits");
  CHECK(answerWith(ext("permessage-deflate; server_max_window_bits=09"), d).reason ==
        "handshake: bad permessage-deflate window bits");
  CHECK(answerWith(ext("permessage-deflate; client_max_window_bits"), d).reason ==
        "handshake: bad permessage-deflate parameter");
  CHECK(answerWith(ext("permessage-deflate; server_no_context_takeover=1"), d).reason ==
        "handshake: bad permessage-deflate parameter");
  CHECK(answerWith(ext("permessage-deflate; client_no_context_takeover; "
                       "client_no_context_takeover"),
                   d)
            .reason == "handshake: bad permessage-deflate parameter");
  CHECK(answerWith(ext("permessage-deflate; =x"), d).reason ==
        "handshake: malformed Sec-WebSocket-Extensions");

  WebSocketClientOptions asks = d;
  asks.deflate.server_max_window_bits = 10;
  asks.deflate.server_no_context_takeover = true;
  CHECK(answerWith(ext("permessage-deflate; server_no_context_takeover; "
                       "server_max_window_bits=11"),
                   asks)
            .reason == "handshake: server_max_window_bits above what was asked");
  CHECK(answerWith(ext("permessage-deflate; server_no_context_takeover"), asks).reason ==
        "handshake: server_max_window_bits above what was asked");
  CHECK(answerWith(ext("permessage-deflate; server_max_window_bits=10"), asks).reason ==
        "handshake: server_no_context_takeover not accepted");
  CHECK(answerWith(ext("permessage-deflate; server_no_context_takeover; "
                       "server_max_window_bits=9"),
                   asks)
            .status == S::Handshake);
}

TEST_CASE("ws client: accepted deflate parameters are read from the client's side",
          "[websocket][client][deflate]") {
  WebSocketClientOptions o = clientOptions();
  o.permessage_deflate = true;
  o.deflate.client_max_window_bits = 12;
  WebSocketClientCodec codec(CodecLimits{}, o);
  std::string req;
  codec.encodeOpening(req);
  std::string resp =
      acceptResponse(req,
                     "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=14; "
                     "server_max_window_bits=11; server_no_context_takeover\r\n");
  REQUIRE(drain(codec, resp)[0].status == S::Handshake);
  const ws::DeflateParams* p = codec.deflateParams();
  REQUIRE(p != nullptr);
  CHECK(p->client_max_window_bits == 12);  // min(answer, our own)
  CHECK(p->server_max_window_bits == 11);
  CHECK(p->server_no_context_takeover);
  CHECK_FALSE(p->client_no_context_takeover);
  // Without an extension in the answer the session runs uncompressed.
  CHECK(answerWith("", o).status == S::Handshake);
}

TEST_CASE("ws client: the response head is bounded", "[websocket][client]") {
  WebSocketClientOptions o = clientOptions();
  o.max_header_size = 256;
  CHECK(answerWith("X-Pad: " + std::string(300, 'a') + "\r\n", o).reason ==
        "handshake: response header too large");
  CHECK(answerWith("X-Pad: " + std::string(50, 'a') + "\r\n", o).status == S::Handshake);
}

TEST_CASE("ws client: frames right behind the 101 are kept, however the bytes split",
          "[websocket][client]") {
  // A server frame (unmasked) sent in the same packet as the 101.
  const std::string frames = "\x81\x05hello"s + "\x89\x01p"s;
  // Cuts from 20 bytes before the end of the head to the end of the frames.
  for (std::size_t cut = 0; cut <= 20 + frames.size(); ++cut) {
    WebSocketClientCodec codec(CodecLimits{}, clientOptions());
    std::string req;
    codec.encodeOpening(req);
    const std::string all = acceptResponse(req) + frames;
    const std::size_t at = all.size() - frames.size() - 20 + cut;
    std::string buffer = all.substr(0, at);
    std::vector<Got> got = drain(codec, buffer);
    buffer += all.substr(at);
    for (Got& g : drain(codec, buffer)) got.push_back(std::move(g));
    INFO("cut at " << at);
    REQUIRE(got.size() == 3);
    CHECK(got[0].status == S::Handshake);
    CHECK(got[1].status == S::Message);
    CHECK(got[1].payload == "hello");
    CHECK(got[1].kind == MessageKind::Text);
    CHECK(got[2].status == S::Ping);
    CHECK(got[2].payload == "p");
    CHECK(buffer.empty());
  }
}

TEST_CASE("ws client: a masked server frame is 1002", "[websocket][client]") {
  WebSocketClientCodec codec(CodecLimits{}, clientOptions());
  std::string req;
  codec.encodeOpening(req);
  std::string buffer = acceptResponse(req) + text("hi");  // a client-style (masked) frame
  const std::vector<Got> got = drain(codec, buffer);
  REQUIRE(got.size() == 2);
  CHECK(got[1].status == S::Error);
  CHECK(got[1].code == 1002);
  CHECK(got[1].reason == "server frame masked");
  // The error repeats, and nothing is written before a Close could be sent.
  CHECK(codec.decode(asBytes(buffer)).code == 1002);
}

TEST_CASE("ws client: nothing before the request, nothing sent before open",
          "[websocket][client]") {
  WebSocketClientCodec codec(CodecLimits{}, clientOptions());
  std::string early = "HTTP/1.1 101 x\r\n\r\n";
  CHECK(codec.decode(asBytes(early)).reason == "handshake: data before the request");
  WebSocketClientCodec fresh(CodecLimits{}, clientOptions());
  std::string out;
  fresh.encode(asBytes("x"), MessageKind::Text, out);
  fresh.encodeError(1002, "x", out);
  CHECK(out.empty());
  CHECK_FALSE(fresh.isOpen());
}

}  // namespace
}  // namespace wman

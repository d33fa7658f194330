// A client codec talking to the server codec in memory: every frame the client writes is
// masked with its own key and decodes with the server's parser; every server frame decodes
// on the client; permessage-deflate works both ways under negotiated window bits.
#include <catch2/catch.hpp>

#include <cstring>
#include <set>
#include <string>

#include "split_feed.h"
#include "websocket/frame_parser.h"
#include "ws_client_test_util.h"

namespace wman {
namespace {

using namespace std::literals;
using namespace test::ws;
using S = DecodeResult::Status;

std::string pattern(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + (i * 7 + i / 13) % 26));
  return s;
}

// The mask keys of the frames in `wire`, checked to be masked client frames.
std::vector<std::uint32_t> maskKeys(std::string_view wire) {
  std::vector<std::uint32_t> keys;
  ws::FrameRules rules;
  rules.rsv1_allowed = true;
  while (!wire.empty()) {
    const ws::HeaderResult h = ws::parseFrameHeader(asBytes(wire), rules);
    REQUIRE(h.status == ws::HeaderResult::Status::Ok);
    REQUIRE(h.header.masked);
    keys.push_back(h.header.mask);
    wire.remove_prefix(h.header.header_size + h.header.payload_size);
  }
  return keys;
}

TEST_CASE("ws client/server: text, binary, empty and large messages", "[websocket][client]") {
  Pair p(clientOptions());
  p.open();
  const std::string big = pattern(70000);
  p.client.encode(asBytes("hello"), MessageKind::Text, p.to_server);
  p.client.encode(asBytes("\x00\xff"sv), MessageKind::Binary, p.to_server);
  p.client.encode({}, MessageKind::Text, p.to_server);
  p.client.encode(asBytes(big), MessageKind::Binary, p.to_server);
  const std::vector<std::uint32_t> keys = maskKeys(p.to_server);
  CHECK(std::set<std::uint32_t>(keys.begin(), keys.end()).size() == keys.size());

  std::vector<Got> got = drain(p.server, p.to_server);
  REQUIRE(got.size() == 4);
  CHECK((got[0].payload == "hello" && got[0].kind == MessageKind::Text));
  CHECK((got[1].payload == "\x00\xff"sv && got[1].kind == MessageKind::Binary));
  CHECK((got[2].payload.empty() && got[2].kind == MessageKind::Text));
  CHECK(got[3].payload == big);

  p.server.encode(asBytes("back"), MessageKind::Text, p.to_client);
  p.server.encode(asBytes(big), MessageKind::Binary, p.to_client);
  got = drain(p.client, p.to_client);
  REQUIRE(got.size() == 2);
  CHECK(got[0].payload == "back");
  CHECK(got[1].payload == big);
}

TEST_CASE("ws client/server: many frames get many different keys", "[websocket][client]") {
  WebSocketClientOptions o = clientOptions();
  o.random = deviceRandom();
  Pair p(o);
  p.open();
  for (int i = 0; i < 64; ++i) p.client.encode(asBytes("same"), MessageKind::Text, p.to_server);
  const std::vector<std::uint32_t> keys = maskKeys(p.to_server);
  CHECK(std::set<std::uint32_t>(keys.begin(), keys.end()).size() > 60);
  CHECK(drain(p.server, p.to_server).size() == 64);
}

TEST_CASE("ws client: fragmented and interleaved server messages", "[websocket][client]") {
  Pair p(clientOptions());
  p.open();
  std::string& w = p.to_client;
  ws::appendFrameHeader(w, false, false, ws::opcode::kText, 3);
  w += "caf";
  ws::appendFrameHeader(w, true, false, ws::opcode::kPing, 1);
  w += "x";
  ws::appendFrameHeader(w, true, false, ws::opcode::kContinuation, 2);
  w += "\xc3\xa9";
  const std::vector<Got> got = drain(p.client, w);
  REQUIRE(got.size() == 2);
  CHECK((got[0].status == S::Ping && got[0].payload == "x"));
  CHECK((got[1].status == S::Message && got[1].payload == "caf\xc3\xa9"));

  // The same session rules as the server's: bad UTF-8 is 1007, a stray continuation 1002.
  ws::appendFrameHeader(w, true, false, ws::opcode::kText, 2);
  w += "\xc3\x28";
  const std::vector<Got> bad = drain(p.client, w);
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].code == 1007);
}

TEST_CASE("ws client: a continuation without a message is 1002", "[websocket][client]") {
  Pair p(clientOptions());
  p.open();
  ws::appendFrameHeader(p.to_client, true, false, ws::opcode::kContinuation, 1);
  p.to_client += "x";
  const std::vector<Got> got = drain(p.client, p.to_client);
  REQUIRE(got.size() == 1);
  CHECK(got[0].code == 1002);
}

TEST_CASE("ws client/server: ping, pong and the closing handshake", "[websocket][client]") {
  Pair p(clientOptions());
  p.open();
  p.client.encodeControl(S::Ping, 0, asBytes("are you there"), p.to_server);
  p.client.encodeControl(S::Pong, 0, asBytes("yes"), p.to_server);
  p.client.encodeControl(S::Close, 1000, asBytes("bye"), p.to_server);
  CHECK(maskKeys(p.to_server).size() == 3);
  std::vector<Got> got = drain(p.server, p.to_server);
  REQUIRE(got.size() == 3);
  CHECK((got[0].status == S::Ping && got[0].payload == "are you there"));
  CHECK((got[1].status == S::Pong && got[1].payload == "yes"));
  CHECK((got[2].status == S::Close && got[2].code == 1000 && got[2].payload == "bye"));

  p.server.encodeControl(S::Close, 1000, {}, p.to_client);
  p.to_client += "junk after close";
  got = drain(p.client, p.to_client);
  REQUIRE(got.size() == 1);
  CHECK((got[0].status == S::Close && got[0].code == 1000));
  CHECK(p.to_client.empty());

  // A client error once open is a masked Close the server reads.
  Pair q(clientOptions());
  q.open();
  q.client.encodeError(1007, "bad text", q.to_server);
  got = drain(q.server, q.to_server);
  REQUIRE(got.size() == 1);
  CHECK((got[0].status == S::Close && got[0].code == 1007 && got[0].payload == "bad text"));
}

void roundTripCompressed(Pair& p, std::size_t messages) {
  const std::string text = pattern(5000);
  for (std::size_t i = 0; i < messages; ++i) {
    const std::string msg = text + std::to_string(i);
    p.client.encode(asBytes(msg), MessageKind::Text, p.to_server);
    REQUIRE((static_cast<unsigned char>(p.to_server[0]) & 0x40) != 0);  // RSV1: compressed
    REQUIRE(p.to_server.size() < msg.size());
    std::vector<Got> got = drain(p.server, p.to_server);
    REQUIRE(got.size() == 1);
    CHECK(got[0].payload == msg);

    p.server.encode(asBytes(msg), MessageKind::Binary, p.to_client);
    REQUIRE((static_cast<unsigned char>(p.to_client[0]) & 0x40) != 0);
    got = drain(p.client, p.to_client);
    REQUIRE(got.size() == 1);
    CHECK(got[0].payload == msg);
  }
}

TEST_CASE("ws client/server: permessage-deflate both ways", "[websocket][client][deflate]") {
  WebSocketOptions server;
  server.permessage_deflate = true;
  WebSocketClientOptions client = clientOptions();
  client.permessage_deflate = true;

  SECTION("defaults: 15-bit windows, context takeover") {
    Pair p(client, server);
    p.open();
    REQUIRE(p.client.deflateParams() != nullptr);
    CHECK(p.client.deflateParams()->client_max_window_bits == 15);
    roundTripCompressed(p, 3);
  }
  SECTION("the server bounds the client's window, the client the server's") {
    server.deflate.client_max_window_bits = 9;
    client.deflate.server_max_window_bits = 10;
    Pair p(client, server);
    p.open();
    REQUIRE(p.client.deflateParams() != nullptr);
    CHECK(p.client.deflateParams()->client_max_window_bits == 9);
    CHECK(p.client.deflateParams()->server_max_window_bits == 10);
    CHECK(p.server.deflateParams()->client_max_window_bits == 9);
    CHECK(p.server.deflateParams()->server_max_window_bits == 10);
    roundTripCompressed(p, 3);
  }
  SECTION("8-bit windows and no context takeover both ways") {
    client.deflate.client_max_window_bits = 8;
    client.deflate.server_max_window_bits = 8;
    client.deflate.server_no_context_takeover = true;
    client.deflate.client_no_context_takeover = true;
    Pair p(client, server);
    p.open();
    const ws::DeflateParams* d = p.server.deflateParams();
    REQUIRE(d != nullptr);
    CHECK((d->client_max_window_bits == 8 && d->server_max_window_bits == 8));
    CHECK((d->client_no_context_takeover && d->server_no_context_takeover));
    roundTripCompressed(p, 3);
  }
  SECTION("a server without deflate: the session runs uncompressed") {
    server.permessage_deflate = false;
    Pair p(client, server);
    p.open();
    CHECK(p.client.deflateParams() == nullptr);
    p.client.encode(asBytes(pattern(100)), MessageKind::Text, p.to_server);
    CHECK((static_cast<unsigned char>(p.to_server[0]) & 0x40) == 0);
    CHECK(drain(p.server, p.to_server).size() == 1);
  }
}

TEST_CASE("ws client/server: the subprotocol the server picks", "[websocket][client]") {
  WebSocketClientOptions o = clientOptions();
  o.subprotocols = {"v2.chat", "v1.chat"};
  Pair p(o);
  HandshakeAnswer answer;
  answer.subprotocol = "v1.chat";
  p.open(answer);
  CHECK(p.client.subprotocol() == "v1.chat");
}

TEST_CASE("ws client: messages are bounded by max_package_size (1009)", "[websocket][client]") {
  Pair p(clientOptions(), {}, CodecLimits{100});
  p.open();
  p.server.encode(asBytes(pattern(101)), MessageKind::Binary, p.to_client);
  const std::vector<Got> got = drain(p.client, p.to_client);
  REQUIRE(got.size() == 1);
  CHECK(got[0].code == 1009);
}

TEST_CASE("ws client: the 101 and compressed, fragmented frames, split everywhere",
          "[websocket][client][deflate]") {
  // Each maker call builds the same client (same seed, so the same key) and sends its request.
  WebSocketClientOptions options = clientOptions();
  options.permessage_deflate = true;
  options.deflate.server_max_window_bits = 10;
  const test::CodecMaker make = [options] {
    auto codec = std::make_unique<WebSocketClientCodec>(CodecLimits{}, options);
    std::string request;
    codec->encodeOpening(request);
    return codec;
  };

  WebSocketOptions server_options;
  server_options.permessage_deflate = true;
  Pair p(options, server_options);
  p.client.encodeOpening(p.to_server);
  REQUIRE(drain(p.server, p.to_server).size() == 1);
  std::string input;
  REQUIRE(p.server.answerHandshake({}, input));
  const std::string long_text = pattern(300);
  p.server.encode(asBytes(long_text), MessageKind::Text, input);  // compressed
  ws::appendFrameHeader(input, false, false, ws::opcode::kBinary, 2);
  input += "ab";
  ws::appendFrameHeader(input, true, false, ws::opcode::kPing, 0);
  ws::appendFrameHeader(input, true, false, ws::opcode::kContinuation, 1);
  input += "c";
  p.server.encode(asBytes(long_text), MessageKind::Binary, input);  // context taken over

  const test::Feed feed =
      test::decodeEverySplit(make, input, test::FeedOptions{.payload_in_input = false});
  REQUIRE(feed.events.size() == 3);
  CHECK(feed.events[0] == test::Event::message(long_text, MessageKind::Text));
  CHECK(feed.events[1] == test::Event::message("abc", MessageKind::Binary));
  CHECK(feed.events[2] == test::Event::message(long_text, MessageKind::Binary));
  CHECK(feed.unconsumed == 0);
}

}  // namespace
}  // namespace wman

// Helpers for the WebSocket client tests: random sources, client options, a hand-written
// server response, and a client/server pair of codecs talking through two in-memory buffers.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "websocket/websocket_client_codec.h"
#include "websocket/websocket_codec.h"
#include "websocket/websocket_handshake.h"

namespace wman::test::ws {

// Deterministic bytes (a 64-bit LCG), so failures reproduce; each call continues the stream.
inline wman::ws::RandomSource counterRandom(std::uint64_t seed = 1) {
  return [state = seed](std::span<std::byte> out) mutable {
    for (std::byte& b : out) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      b = static_cast<std::byte>(state >> 56);
    }
  };
}

// Real entropy, as the core's RAND_bytes would give.
inline wman::ws::RandomSource deviceRandom() {
  return [](std::span<std::byte> out) {
    std::random_device rd;
    for (std::byte& b : out) b = static_cast<std::byte>(rd());
  };
}

inline WebSocketClientOptions clientOptions() {
  WebSocketClientOptions o;
  o.host = "server.example.com";
  o.target = "/chat";
  o.random = counterRandom();
  return o;
}

// The value of header `name` in an HTTP head written by a codec ("" if absent).
inline std::string headerIn(std::string_view head, std::string_view name) {
  const std::string needle = "\r\n" + std::string(name) + ": ";
  const std::size_t at = head.find(needle);
  if (at == std::string_view::npos) return {};
  const std::size_t start = at + needle.size();
  return std::string(head.substr(start, head.find("\r\n", start) - start));
}

// A 101 answering `request` (accept computed here from its key), plus `extra` header lines.
inline std::string acceptResponse(std::string_view request, std::string_view extra = {}) {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " +
         wman::ws::acceptKey(headerIn(request, "Sec-WebSocket-Key")) + "\r\n" + std::string(extra) +
         "\r\n";
}

// What one decode() reported, with payloads copied out of the codec.
struct Got {
  DecodeResult::Status status;
  std::string payload;
  MessageKind kind;
  std::uint16_t code;
  std::string reason;
};

// Decodes `buffer` like a connection until NeedMore with nothing consumed (or an Error),
// dropping consumed bytes; returns every non-NeedMore result.
inline std::vector<Got> drain(Codec& codec, std::string& buffer) {
  std::vector<Got> got;
  while (true) {
    const DecodeResult r = codec.decode(asBytes(buffer));
    REQUIRE(r.consumed <= buffer.size());
    if (r.status != DecodeResult::Status::NeedMore) {
      got.push_back(
          {r.status, std::string(asString(r.payload)), r.kind, r.code, std::string(r.reason)});
    }
    if (r.status == DecodeResult::Status::Error) return got;
    buffer.erase(0, r.consumed);
    if (r.status == DecodeResult::Status::NeedMore && (r.consumed == 0 || buffer.empty())) {
      return got;
    }
  }
}

// A client codec and a server codec joined by two buffers (to_server, to_client).
struct Pair {
  Pair(WebSocketClientOptions client_options, WebSocketOptions server_options = {},
       CodecLimits limits = {})
      : client(limits, std::move(client_options)), server(limits, server_options) {}

  // Runs the opening handshake to completion and checks both sides are open.
  void open(const HandshakeAnswer& answer = {}) {
    client.encodeOpening(to_server);
    const std::vector<Got> s = drain(server, to_server);
    REQUIRE(s.size() == 1);
    REQUIRE(s[0].status == DecodeResult::Status::Handshake);
    REQUIRE(server.answerHandshake(answer, to_client));
    const std::vector<Got> c = drain(client, to_client);
    REQUIRE(c.size() == 1);
    REQUIRE(c[0].status == DecodeResult::Status::Handshake);
    REQUIRE(client.isOpen());
    REQUIRE(to_client.empty());
  }

  WebSocketClientCodec client;
  WebSocketCodec server;
  std::string to_server;
  std::string to_client;
};

}  // namespace wman::test::ws

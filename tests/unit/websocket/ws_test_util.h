// Shared helpers for the websocket tests: client frames built by hand (the tests do not trust
// the code under test to make their inputs), the RFC 6455 example handshake, and an adapter
// that lets tests/support/split_feed.h record the session statuses it does not know.
#pragma once

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "split_feed.h"
#include "websocket/websocket_codec.h"

namespace wman::test::ws {

inline constexpr std::uint8_t kFin = 0x80;
inline constexpr std::uint8_t kRsv1 = 0x40;
inline constexpr std::uint8_t kRsv2 = 0x20;
inline constexpr std::uint8_t kRsv3 = 0x10;
inline constexpr std::uint8_t kCont = 0x0;
inline constexpr std::uint8_t kText = 0x1;
inline constexpr std::uint8_t kBinary = 0x2;
inline constexpr std::uint8_t kClose = 0x8;
inline constexpr std::uint8_t kPing = 0x9;
inline constexpr std::uint8_t kPong = 0xA;

enum class Len { Minimal, Force16, Force64 };

struct FrameOpts {
  bool masked = true;
  Len len = Len::Minimal;
  std::array<std::uint8_t, 4> key{0x37, 0xfa, 0x21, 0x3d};  // RFC 6455 5.7's example key
};

// A client frame: first byte `b0` (FIN/RSV/opcode) then length, mask and masked payload.
inline std::string clientFrame(std::uint8_t b0, std::string_view payload, FrameOpts o = {}) {
  std::string f(1, static_cast<char>(b0));
  const std::uint64_t n = payload.size();
  const char mask_bit = o.masked ? static_cast<char>(0x80) : 0;
  if (o.len == Len::Minimal && n <= 125) {
    f.push_back(static_cast<char>(mask_bit | static_cast<char>(n)));
  } else if (o.len != Len::Force64 && n <= 0xffff) {
    f.push_back(static_cast<char>(mask_bit | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n));
  } else {
    f.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>(n >> (8 * i)));
  }
  if (o.masked) {
    for (std::uint8_t k : o.key) f.push_back(static_cast<char>(k));
  }
  for (std::size_t i = 0; i < payload.size(); ++i) {
    f.push_back(o.masked ? static_cast<char>(payload[i] ^ o.key[i % 4]) : payload[i]);
  }
  return f;
}

inline std::string text(std::string_view p) {
  return clientFrame(kFin | kText, p);
}
inline std::string binary(std::string_view p) {
  return clientFrame(kFin | kBinary, p);
}
inline std::string ping(std::string_view p) {
  return clientFrame(kFin | kPing, p);
}
inline std::string pong(std::string_view p) {
  return clientFrame(kFin | kPong, p);
}
inline std::string closeFrame(std::uint16_t code, std::string_view reason = {}) {
  std::string p{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  return clientFrame(kFin | kClose, p + std::string(reason));
}

// RFC 6455 1.3 / 4.2.1's example request, with extra header lines inserted before the blank
// line.
inline std::string upgradeRequest(std::string_view extra_headers = {}) {
  return "GET /chat HTTP/1.1\r\n"
         "Host: server.example.com\r\n"
         "Upgrade: websocket\r\n"
         "Connection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Origin: http://example.com\r\n"
         "Sec-WebSocket-Protocol: chat, superchat\r\n"
         "Sec-WebSocket-Version: 13\r\n" +
         std::string(extra_headers) + "\r\n";
}

// Events recorded by SessionAdapter for the session statuses (split_feed only knows
// Message and Error): each becomes a Message with a tagged payload.
inline Event handshakeEvent(std::string_view response) {
  return Event::message("handshake:" + std::string(response), MessageKind::Text);
}
inline Event pingEvent(std::string_view p) {
  return Event::message("ping:" + std::string(p), MessageKind::Binary);
}
inline Event pongEvent(std::string_view p) {
  return Event::message("pong:" + std::string(p), MessageKind::Binary);
}
inline Event closeEvent(std::uint16_t code, std::string_view reason = {}) {
  return Event::message("close:" + std::to_string(code) + ":" + std::string(reason),
                        MessageKind::Binary);
}
inline Event textEvent(std::string_view p) {
  return Event::message(p, MessageKind::Text);
}
inline Event binaryEvent(std::string_view p) {
  return Event::message(p, MessageKind::Binary);
}

// Wraps a WebSocketCodec the way the core will drive it: a Handshake is answered with 101 at
// once, and Handshake/Ping/Pong/Close results are reported as tagged Messages.
class SessionAdapter final : public Codec {
 public:
  explicit SessionAdapter(std::unique_ptr<WebSocketCodec> inner) : inner_(std::move(inner)) {}

  DecodeResult decode(ByteSpan input) override {
    const DecodeResult r = inner_->decode(input);
    using S = DecodeResult::Status;
    switch (r.status) {
      case S::Handshake: {
        std::string response;
        HandshakeAnswer answer;
        REQUIRE(inner_->answerHandshake(answer, response));
        return tagged(r.consumed, "handshake:" + response, MessageKind::Text);
      }
      case S::Ping:
        return tagged(r.consumed, "ping:" + std::string(asString(r.payload)), MessageKind::Binary);
      case S::Pong:
        return tagged(r.consumed, "pong:" + std::string(asString(r.payload)), MessageKind::Binary);
      case S::Close:
        return tagged(r.consumed,
                      "close:" + std::to_string(r.code) + ":" + std::string(asString(r.payload)),
                      MessageKind::Binary);
      default:
        return r;
    }
  }
  void encode(ByteSpan payload, MessageKind kind, std::string& out) override {
    inner_->encode(payload, kind, out);
  }
  WebSocketCodec& inner() { return *inner_; }

 private:
  DecodeResult tagged(std::size_t consumed, std::string text, MessageKind kind) {
    tag_ = std::move(text);
    return DecodeResult::message(consumed, asBytes(tag_), kind);
  }

  std::unique_ptr<WebSocketCodec> inner_;
  std::string tag_;
};

// A WebSocketCodec that has completed the example handshake (with `extra_headers`, e.g. a
// Sec-WebSocket-Extensions offer) and is open.
inline std::unique_ptr<WebSocketCodec> openCodec(const CodecLimits& limits = {},
                                                 const WebSocketOptions& options = {},
                                                 std::string_view extra_headers = {}) {
  auto codec = std::make_unique<WebSocketCodec>(limits, options);
  std::string request = upgradeRequest(extra_headers);
  const DecodeResult r = codec->decode(asBytes(request));
  REQUIRE(r.status == DecodeResult::Status::Handshake);
  REQUIRE(r.consumed == request.size());
  std::string response;
  REQUIRE(codec->answerHandshake(HandshakeAnswer{}, response));
  REQUIRE(codec->isOpen());
  return codec;
}

// Makers for split_feed: sessions already open, or fresh ones that start with the handshake.
inline CodecMaker openMaker(const CodecLimits& limits = {}, const WebSocketOptions& options = {},
                            std::string extra_headers = {}) {
  return
      [=] { return std::make_unique<SessionAdapter>(openCodec(limits, options, extra_headers)); };
}
inline CodecMaker freshMaker(const CodecLimits& limits = {}, const WebSocketOptions& options = {}) {
  return [=] {
    return std::make_unique<SessionAdapter>(std::make_unique<WebSocketCodec>(limits, options));
  };
}

// Tagged events need codec-owned payloads; plain data messages can be checked zero-copy.
inline const FeedOptions kOwned{.payload_in_input = false};

// For inputs too long for decodeEverySplit's quadratic cost: whole, byte by byte, and in two
// chunks at each of `cuts`, all required to give the same Feed, which is returned.
inline Feed decodeSomeSplits(const CodecMaker& make, std::string_view input,
                             const std::vector<std::size_t>& cuts,
                             const FeedOptions& options = {}) {
  const Feed whole = feedAt(make, input, {}, options);
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
  {
    INFO("fed byte by byte");
    CHECK(feedAt(make, input, every, options) == whole);
  }
  for (std::size_t cut : cuts) {
    INFO("split at " << cut);
    CHECK(feedAt(make, input, {cut}, options) == whole);
  }
  return whole;
}

}  // namespace wman::test::ws

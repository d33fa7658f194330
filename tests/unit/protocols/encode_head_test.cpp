// Codec::encodeHead: a gathered send (head, the payload as it lies, tail) must put exactly
// the bytes encode() would on the wire, for every built-in protocol that offers it.
#include <catch2/catch.hpp>

#include <string>

#include "wman/protocol_registry.h"

namespace wman {
namespace {

std::string gathered(Codec& codec, const std::string& payload, MessageKind kind) {
  std::string head;
  std::string_view tail = "unset";
  REQUIRE(codec.encodeHead(asBytes(payload), kind, head, tail));
  return head + payload + std::string(tail);
}

}  // namespace

TEST_CASE("encodeHead frames a payload exactly as encode does") {
  const auto protocol = GENERATE(as<std::string>{}, "text", "frame", "tcp", "websocket");
  const auto size = GENERATE(0u, 5u, 125u, 126u, 65535u, 65536u, 200000u);
  const auto kind = GENERATE(MessageKind::Text, MessageKind::Binary);
  auto codec = ProtocolRegistry::create(protocol, CodecLimits{});
  REQUIRE(codec);
  std::string payload(size, 'a');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
  std::string encoded;
  codec->encode(asBytes(payload), kind, encoded);
  CAPTURE(protocol, size);
  CHECK(gathered(*codec, payload, kind) == encoded);
}

TEST_CASE("encodeHead appends to what the head already holds") {
  auto codec = ProtocolRegistry::create("frame", CodecLimits{});
  std::string head = "queued";
  std::string_view tail;
  REQUIRE(codec->encodeHead(asBytes(std::string("xy")), MessageKind::Binary, head, tail));
  CHECK(head.size() == 6 + 4);
  CHECK(head.starts_with("queued"));
}

}  // namespace wman

#include "websocket/frame_parser.h"

#include <cstring>

namespace wman::ws {
namespace {

HeaderResult protocolError(std::string_view reason) {
  HeaderResult r;
  r.status = HeaderResult::Status::Error;
  r.code = close_code::kProtocolError;
  r.reason = reason;
  return r;
}

bool reservedOpcode(std::uint8_t op) {
  return (op >= 0x3 && op <= 0x7) || op >= 0xB;
}

}  // namespace

bool isValidCloseCode(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;  // registered (3xxx) and private (4xxx)
  if (code < 1000 || code > 1014) return false;
  // 1004 is reserved, 1005 and 1006 mean "no code" and "abnormal closure" and must never be
  // sent; 1012-1014 are IANA-registered (restart, try again later, bad gateway).
  return code != 1004 && code != 1005 && code != 1006;
}

HeaderResult parseFrameHeader(ByteSpan input, const FrameRules& rules) {
  if (input.empty()) return {};
  // The first byte alone is enough to reject most broken frames, so check it before waiting
  // for the second.
  const auto b0 = std::to_integer<std::uint8_t>(input[0]);
  const std::uint8_t op = b0 & 0x0f;
  const bool fin = (b0 & 0x80) != 0;
  const bool rsv1 = (b0 & 0x40) != 0;
  if ((b0 & 0x30) != 0) return protocolError("reserved bits set without an extension");
  if (reservedOpcode(op)) return protocolError("reserved opcode");
  if (rsv1) {
    if (!rules.rsv1_allowed) return protocolError("reserved bits set without an extension");
    if ((op & 0x8) != 0) return protocolError("RSV1 set on a control frame");
    if (op == opcode::kContinuation) return protocolError("RSV1 set on a continuation frame");
  }
  if ((op & 0x8) != 0 && !fin) return protocolError("fragmented control frame");
  if (input.size() < 2) return {};

  const auto b1 = std::to_integer<std::uint8_t>(input[1]);
  const bool masked = (b1 & 0x80) != 0;
  const std::uint8_t len7 = b1 & 0x7f;
  if (!masked && rules.require_mask) return protocolError("client frame not masked");
  if (masked && rules.forbid_mask) return protocolError("server frame masked");
  if ((op & 0x8) != 0 && len7 > kMaxControlPayload) {
    return protocolError("control frame longer than 125 bytes");
  }

  const std::size_t length_bytes = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  const std::size_t header_size = 2 + length_bytes + (masked ? 4 : 0);
  std::uint64_t size = len7;
  if (length_bytes != 0) {
    // The MSB alone decides the 64-bit case, so check it before the other 7 bytes arrive.
    if (len7 == 127 && input.size() >= 3 && (std::to_integer<std::uint8_t>(input[2]) & 0x80)) {
      return protocolError("64-bit payload length with the most significant bit set");
    }
    if (input.size() < 2 + length_bytes) return {};
    size = 0;
    for (std::size_t i = 0; i < length_bytes; ++i) {
      size = (size << 8) | std::to_integer<std::uint8_t>(input[2 + i]);
    }
  }
  if (input.size() < header_size) return {};

  HeaderResult r;
  r.status = HeaderResult::Status::Ok;
  r.header.fin = fin;
  r.header.rsv1 = rsv1;
  r.header.opcode = op;
  r.header.masked = masked;
  if (masked) std::memcpy(&r.header.mask, input.data() + header_size - 4, 4);
  r.header.payload_size = size;
  r.header.header_size = static_cast<std::uint8_t>(header_size);
  return r;
}

}  // namespace wman::ws

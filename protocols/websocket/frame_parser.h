// RFC 6455 section 5 frame headers: parsing with the frame-local rules, (un)masking, and writing
// headers for either role. The session rules (fragmentation, close payloads, message size)
// live in ws::FrameSession.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "websocket/word.h"
#include "wman/codec.h"

namespace wman::ws {

// Which end of a connection a codec plays. RFC 6455 5.1 makes the difference: a client masks
// every frame it sends and rejects masked frames, a server the opposite; permessage-deflate
// swaps which negotiated window and context-takeover parameters apply to which direction.
enum class Role : std::uint8_t { Server, Client };

// Frame opcodes (RFC 6455 5.2). 0x3-0x7 and 0xB-0xF are reserved.
namespace opcode {
inline constexpr std::uint8_t kContinuation = 0x0;
inline constexpr std::uint8_t kText = 0x1;
inline constexpr std::uint8_t kBinary = 0x2;
inline constexpr std::uint8_t kClose = 0x8;
inline constexpr std::uint8_t kPing = 0x9;
inline constexpr std::uint8_t kPong = 0xA;
}  // namespace opcode

// Close codes used by the codec itself (RFC 6455 7.4.1).
namespace close_code {
inline constexpr std::uint16_t kNormal = 1000;
inline constexpr std::uint16_t kGoingAway = 1001;
inline constexpr std::uint16_t kProtocolError = 1002;
inline constexpr std::uint16_t kNoStatus = 1005;        // never on the wire: "no code sent"
inline constexpr std::uint16_t kInvalidPayload = 1007;  // e.g. invalid UTF-8 in a text message
inline constexpr std::uint16_t kMessageTooBig = 1009;
inline constexpr std::uint16_t kInternalError = 1011;
}  // namespace close_code

// True for a code a peer may send in a Close frame (RFC 6455 7.4.1 and 7.4.2 plus the IANA
// registry): 1000-1003, 1007-1014, 3000-4999. 1004-1006 and 1015 are reserved or local-only.
bool isValidCloseCode(std::uint16_t code);

// Largest payload of a control frame (RFC 6455 5.5).
inline constexpr std::size_t kMaxControlPayload = 125;
// Largest frame header: 2 bytes, 8 bytes of 64-bit length, 4 bytes of mask.
inline constexpr std::size_t kMaxHeaderSize = 14;

// One parsed frame header.
struct FrameHeader {
  bool fin = false;   // last frame of its message
  bool rsv1 = false;  // "compressed" under permessage-deflate
  std::uint8_t opcode = 0;
  bool masked = false;
  std::uint32_t mask = 0;  // the 4 key bytes in wire order, loaded with memcpy (not a number)
  std::uint64_t payload_size = 0;
  std::uint8_t header_size = 0;  // bytes before the payload
  // Close, Ping, Pong (and the reserved 0xB-0xF): opcodes with the high bit set.
  bool isControl() const { return (opcode & 0x8) != 0; }
};

// What the frame parser enforces by itself; the codec fills it from the negotiated session.
struct FrameRules {
  bool rsv1_allowed = false;  // permessage-deflate negotiated: RSV1 may mark a first data frame
  bool require_mask = true;   // RFC 6455 5.1: a server must close on an unmasked client frame
  bool forbid_mask = false;   // RFC 6455 5.1: a client must close on a masked server frame
};

// parseFrameHeader()'s verdict: NeedMore (not enough bytes to decide), Ok, or Error.
struct HeaderResult {
  enum class Status : std::uint8_t { NeedMore, Ok, Error };
  Status status = Status::NeedMore;
  FrameHeader header;         // Ok only
  std::uint16_t code = 0;     // Error only: always 1002
  std::string_view reason{};  // Error only: a static string
};

// Parses the header at the front of `input`, failing as soon as the bytes seen break a rule:
// RSV2/RSV3 set, RSV1 unless allowed (and never on control or continuation frames), a reserved
// opcode, a fragmented control frame or one longer than 125 bytes, an unmasked frame when a
// mask is required, a masked one when masks are forbidden, a 64-bit length with its most
// significant bit set. Non-minimal length encodings are accepted, as RFC 6455 does not forbid them
// for receivers. Does not look at the payload.
HeaderResult parseFrameHeader(ByteSpan input, const FrameRules& rules);

// XORs `size` payload bytes at `data` with `mask`, as if `data` started `offset` bytes into
// the payload (so a payload can be unmasked in pieces). Works 16 bytes at a time. XOR is its
// own inverse, so a client masks its outgoing payloads with the same function. Inline: for
// the short messages most frames carry, the call cost as much as the XOR.
inline void unmask(std::byte* data, std::size_t size, std::uint32_t mask, std::uint64_t offset) {
  // The key byte for data[0] is key[offset % 4]: rotate the key (its bytes in memory order)
  // once so the word loops and the tail all index it from 0. Rotating the word, rather than
  // storing the bytes one by one and loading them as a word, avoids a store-forwarding stall
  // that cost more than unmasking a short message.
  const int shift = static_cast<int>(offset & 3) * 8;
  const std::uint32_t key32 =
      std::endian::native == std::endian::little ? std::rotr(mask, shift) : std::rotl(mask, shift);
  const std::uint64_t key64 = (static_cast<std::uint64_t>(key32) << 32) | key32;

  std::size_t i = 0;
  // Four double words per step, each loaded, masked and stored on its own (websocket/word.h).
  const Word2 key128 = {key64, key64};
  for (; i + 64 <= size; i += 64) {
    const Word2 w0 = loadWord<Word2>(data + i) ^ key128;
    const Word2 w1 = loadWord<Word2>(data + i + 16) ^ key128;
    const Word2 w2 = loadWord<Word2>(data + i + 32) ^ key128;
    const Word2 w3 = loadWord<Word2>(data + i + 48) ^ key128;
    storeWord(data + i, w0);
    storeWord(data + i + 16, w1);
    storeWord(data + i + 32, w2);
    storeWord(data + i + 48, w3);
  }
  for (; i + 16 <= size; i += 16) storeWord(data + i, loadWord<Word2>(data + i) ^ key128);
  if (i + 8 <= size) {
    storeWord(data + i, loadWord(data + i) ^ key64);
    i += 8;
  }
  unsigned char key[8];
  std::memcpy(key, &key64, 8);
  for (std::size_t j = 0; i < size; ++i, ++j) data[i] ^= static_cast<std::byte>(key[j]);
}

// Writes a frame header to `dst` (room for kMaxHeaderSize bytes) and returns its size: FIN,
// RSV1 and `opcode` in the first byte, then the shortest length form, then, when `mask_key`
// is given (a client's frame), the mask bit and those 4 key bytes. Without a key the header
// is a server's (unmasked). Inline, as it runs for every frame sent and its flags are
// mostly constants at the call.
inline std::size_t writeFrameHeader(char* h, bool fin, bool rsv1, std::uint8_t op,
                                    std::uint64_t payload_size,
                                    const std::byte* mask_key = nullptr) {
  h[0] = static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (op & 0x0f));
  std::size_t size;
  if (payload_size <= 125) {
    h[1] = static_cast<char>(payload_size);
    size = 2;
  } else if (payload_size <= 0xffff) {
    h[1] = 126;
    h[2] = static_cast<char>(payload_size >> 8);
    h[3] = static_cast<char>(payload_size);
    size = 4;
  } else {
    h[1] = 127;
    for (int i = 0; i < 8; ++i) h[2 + i] = static_cast<char>(payload_size >> (56 - 8 * i));
    size = 10;
  }
  if (mask_key == nullptr) return size;
  h[1] = static_cast<char>(h[1] | 0x80);
  std::memcpy(h + size, mask_key, 4);
  return size + 4;
}

// Appends the header writeFrameHeader() writes.
inline void appendFrameHeader(std::string& out, bool fin, bool rsv1, std::uint8_t opcode,
                              std::uint64_t payload_size, const std::byte* mask_key = nullptr) {
  char h[kMaxHeaderSize];
  out.append(h, writeFrameHeader(h, fin, rsv1, opcode, payload_size, mask_key));
}

}  // namespace wman::ws

// WebSocket client pieces for tests that talk to a websocket:// worker over a TestClient:
// the RFC 6455 1.3 upgrade request, masked client frames of any length, and a reader for the
// server's (unmasked) frames.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "test_client.h"

namespace wman::test {

inline const char* kWsKey = "dGhlIHNhbXBsZSBub25jZQ==";

// The upgrade request of RFC 6455 1.3 for /chat?room=1, plus `extra` header lines.
inline std::string wsUpgrade(const std::string& extra = "") {
  return std::string("GET /chat?room=1 HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n") +
         "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: " + kWsKey +
         "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n";
}

// Reads the response head up to and including the blank line (byte by byte, so no frame
// behind it is consumed).
inline std::string wsReadHead(TestClient& c) {
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) {
    std::string chunk = c.recvSome(1);
    if (chunk.empty()) break;
    head += chunk;
  }
  return head;
}

// One masked client frame: `first` is the FIN/RSV/opcode byte.
inline std::string wsFrame(std::uint8_t first, const std::string& payload) {
  std::string out(1, static_cast<char>(first));
  const char mask[4] = {0x11, 0x22, 0x33, 0x44};
  const std::uint64_t n = payload.size();
  if (n < 126) {
    out += static_cast<char>(0x80 | n);
  } else if (n <= 0xffff) {
    out += static_cast<char>(0x80 | 126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  } else {
    out += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
  }
  out.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out += static_cast<char>(payload[i] ^ mask[i % 4]);
  return out;
}

inline std::string wsClosePayload(std::uint16_t code, const std::string& reason = "") {
  return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)} + reason;
}

// A frame as the server sent it.
struct WsFrame {
  bool ok = false;  // false if the connection ended (or timed out) before a whole frame
  std::uint8_t first = 0;
  std::string payload;
  std::uint8_t opcode() const { return first & 0x0f; }
  // The code of a Close frame, 1005 if it carries none.
  std::uint16_t closeCode() const {
    if (payload.size() < 2) return 1005;
    return static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                      static_cast<std::uint8_t>(payload[1]));
  }
  std::string closeReason() const { return payload.size() > 2 ? payload.substr(2) : ""; }
};

inline WsFrame wsReadFrame(TestClient& c,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  WsFrame f;
  try {
    std::string head = c.recvExactly(2, timeout);
    f.first = static_cast<std::uint8_t>(head[0]);
    std::uint64_t n = static_cast<std::uint8_t>(head[1]) & 0x7f;
    if (n >= 126) {
      std::string ext = c.recvExactly(n == 126 ? 2 : 8, timeout);
      n = 0;
      for (char b : ext) n = (n << 8) | static_cast<std::uint8_t>(b);
    }
    f.payload = c.recvExactly(static_cast<std::size_t>(n), timeout);
    f.ok = true;
  } catch (const std::runtime_error&) {
    f.ok = false;  // EOF or timeout before the whole frame
  }
  return f;
}

}  // namespace wman::test

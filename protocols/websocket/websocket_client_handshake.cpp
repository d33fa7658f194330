#include "websocket/websocket_client_handshake.h"

#include <algorithm>
#include <array>
#include <cstddef>

#include "websocket/base64.h"
#include "websocket/websocket_handshake.h"
#include "wman/http.h"

namespace wman::ws {
namespace {

// RFC 7230 3.2.6 token characters.
bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// Visible ASCII only: what a request-target or Host may hold without breaking the request
// line or smuggling a header.
bool isVisible(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// Headers appendClientRequest() writes itself; an extra header of the same name would make
// the handshake ambiguous or contradict it.
bool isHandshakeHeader(std::string_view name) {
  for (std::string_view own : {"Host", "Upgrade", "Connection"}) {
    if (equalsIgnoreCase(name, own)) return true;
  }
  constexpr std::string_view kPrefix = "sec-websocket-";
  return name.size() >= kPrefix.size() && equalsIgnoreCase(name.substr(0, kPrefix.size()), kPrefix);
}

bool validBits(int bits) {
  return bits >= 8 && bits <= 15;
}

std::string_view checkSubprotocols(const std::vector<std::string>& subprotocols) {
  for (std::size_t i = 0; i < subprotocols.size(); ++i) {
    if (!isToken(subprotocols[i])) return "subprotocol is not a token";
    for (std::size_t j = 0; j < i; ++j) {
      if (subprotocols[j] == subprotocols[i]) return "subprotocol listed twice";
    }
  }
  return {};
}

std::string_view checkSubprotocolAnswer(const HandshakeRequest& head,
                                        const WebSocketClientOptions& options,
                                        std::string_view& chosen) {
  const std::vector<std::string_view> values = headerValues(head, "Sec-WebSocket-Protocol");
  if (values.empty()) return {};
  if (values.size() > 1) return "handshake: several Sec-WebSocket-Protocol headers";
  const auto& offered = options.subprotocols;
  if (std::find(offered.begin(), offered.end(), values[0]) == offered.end()) {
    return "handshake: server chose a subprotocol not offered";
  }
  chosen = values[0];
  return {};
}

}  // namespace

std::string_view checkClientOptions(const WebSocketClientOptions& options) {
  if (options.host.empty()) return "no host";
  if (!isVisible(options.host) || options.host.find_first_of("/?#@") != std::string::npos) {
    return "host has characters a Host header cannot carry";
  }
  if (options.target.empty() || options.target.front() != '/') return "target must start with /";
  if (!isVisible(options.target)) return "target has spaces or control characters";
  if (!options.origin.empty() && !isVisible(options.origin)) return "origin is not visible ASCII";
  if (const std::string_view e = checkSubprotocols(options.subprotocols); !e.empty()) return e;
  for (const auto& [name, value] : options.headers) {
    if (!isToken(name)) return "header name is not a token";
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return "header value holds CR, LF or NUL";
    }
    if (isHandshakeHeader(name)) return "header is set by the handshake itself";
  }
  if (options.permessage_deflate && (!validBits(options.deflate.client_max_window_bits) ||
                                     !validBits(options.deflate.server_max_window_bits))) {
    return "deflate window bits must be 8..15";
  }
  if (!options.random) return "no random source";
  return {};
}

std::string makeClientKey(const RandomSource& random) {
  std::array<std::byte, 16> nonce{};
  random(nonce);
  std::string key;
  base64Encode(std::string_view(reinterpret_cast<const char*>(nonce.data()), nonce.size()), key);
  return key;
}

void appendClientRequest(const WebSocketClientOptions& options, std::string_view key,
                         std::string& out) {
  const std::string_view target =
      std::string_view(options.target)
          .substr(0, options.target.find('#'));  // fragments are not part of a WebSocket URI
  out.append("GET ").append(target).append(" HTTP/1.1\r\nHost: ");
  const bool bare_ipv6 = options.host.find(':') != std::string::npos && options.host.front() != '[';
  if (bare_ipv6) out.push_back('[');
  out.append(options.host);
  if (bare_ipv6) out.push_back(']');
  if (options.port != (options.secure ? 443 : 80))
    out.append(":").append(std::to_string(options.port));
  out.append(
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: ");
  out.append(key).append("\r\n");
  if (!options.origin.empty()) appendHeaderLine("Origin", options.origin, out);
  if (!options.subprotocols.empty()) {
    std::string list;
    for (const std::string& p : options.subprotocols)
      list.append(list.empty() ? "" : ", ").append(p);
    appendHeaderLine("Sec-WebSocket-Protocol", list, out);
  }
  if (options.permessage_deflate) {
    appendHeaderLine("Sec-WebSocket-Extensions", deflateOffer(options.deflate), out);
  }
  for (const auto& [name, value] : options.headers) appendHeaderLine(name, value, out);
  out.append("\r\n");
}

ResponseCheck checkClientResponse(const HandshakeRequest& head, int status,
                                  std::string_view expected_accept,
                                  const WebSocketClientOptions& options) {
  ResponseCheck r;
  r.code = close_code::kProtocolError;
  if (status != 101) {
    r.error = "handshake: server did not answer 101 Switching Protocols";
    r.code = static_cast<std::uint16_t>(status);
    return r;
  }
  if (!headerListHas(head, "Upgrade", "websocket")) {
    r.error = "handshake: Upgrade header must contain websocket";
  } else if (!headerListHas(head, "Connection", "upgrade")) {
    r.error = "handshake: Connection header must contain upgrade";
  } else if (const auto accepts = headerValues(head, "Sec-WebSocket-Accept"); accepts.empty()) {
    r.error = "handshake: missing Sec-WebSocket-Accept";
  } else if (accepts.size() != 1 || accepts[0] != expected_accept) {
    r.error = "handshake: bad Sec-WebSocket-Accept";
  } else if (const std::string_view e = checkSubprotocolAnswer(head, options, r.subprotocol);
             !e.empty()) {
    r.error = e;
  } else {
    const std::vector<std::string_view> extensions = headerValues(head, "Sec-WebSocket-Extensions");
    DeflateAcceptance deflate =
        acceptDeflateResponse(extensions, options.deflate, options.permessage_deflate);
    r.error = deflate.error;
    r.deflate = deflate.params;
  }
  return r;
}

}  // namespace wman::ws

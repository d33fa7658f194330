// Settings of one outbound WebSocket connection (the client role): what the opening
// handshake asks for, and the entropy its masking keys come from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "http/http_request_parser.h"
#include "websocket/deflate_negotiation.h"
#include "websocket/frame_session.h"
#include "wman/codec.h"

namespace wman {

// Filled by the creator of the connection (the core's AsyncConnection, from its ws:// or
// wss:// URL). checkClientOptions() says whether a value is usable.
struct WebSocketClientOptions {
  // The server's host name or IP literal, for the Host header (an IPv6 literal may be given
  // with or without brackets).
  std::string host;
  // The server's port; Host names it unless it is the scheme's default (80, or 443 when
  // `secure`).
  std::uint16_t port = 80;
  // wss:// (TLS underneath; only the default port depends on it here).
  bool secure = false;
  // The request-target: path and optional "?query", starting with '/'. A "#fragment" is
  // dropped (RFC 6455 3 forbids it in WebSocket URIs).
  std::string target = "/";
  // Sent as Origin when not empty; browsers always send one, other clients need not.
  std::string origin;
  // Offered in Sec-WebSocket-Protocol, in preference order; the server picks one or none.
  std::vector<std::string> subprotocols;
  // Extra request headers (cookies, authorization...). The handshake's own headers (Host,
  // Upgrade, Connection, Sec-WebSocket-*) cannot be overridden here.
  std::vector<std::pair<std::string, std::string>> headers;
  // Bound on the server's response head; a longer one fails the handshake.
  std::size_t max_header_size = HttpRequestParser::kDefaultMaxHeaderSize;
  // Offer permessage-deflate. Off by default, as on the server side (memory per connection).
  bool permessage_deflate = false;
  // The offer, read from the client's side: client_max_window_bits is our compressor's
  // window (offered with that value below 15, bare at 15 so the server may lower it);
  // server_max_window_bits below 15 asks the server to bound its window (our inflater's
  // memory); the no_context_takeover flags are asked for (server) or promised (client) when
  // set. level, mem_level and min_compress_size apply to our compressor.
  ws::DeflateOptions deflate{};
  // The kind of a message sent without one (defaultKind()).
  MessageKind default_kind = MessageKind::Text;
  // Required: fills a span with unpredictable bytes, for Sec-WebSocket-Key and each frame's
  // masking key. Called from decode/encode on the connection's thread.
  ws::RandomSource random;
};

}  // namespace wman

// The client side of the RFC 6455 opening handshake (section 4.1): writing the upgrade
// request and checking the server's response. Pure functions; WebSocketClientCodec drives them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "websocket/deflate_negotiation.h"
#include "websocket/websocket_client_options.h"
#include "wman/codec.h"

namespace wman::ws {

// Empty if `options` can be used, else a static reason: no host, a host or target with
// characters that cannot go on the request line or in Host, a target not starting with '/',
// a subprotocol that is not an RFC 7230 token or is listed twice, an extra header that is
// not a token or whose value holds CR, LF or NUL, an extra header the handshake sets itself,
// deflate window bits outside 8..15, or no random source.
std::string_view checkClientOptions(const WebSocketClientOptions& options);

// A fresh Sec-WebSocket-Key: 16 bytes from `random`, base64-encoded (RFC 6455 4.1 item 7).
std::string makeClientKey(const RandomSource& random);

// Appends the upgrade request for `options` (which checkClientOptions() accepted) with `key`:
// GET target, Host, Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version: 13, then
// Origin, Sec-WebSocket-Protocol and Sec-WebSocket-Extensions when configured, then the
// extra headers.
void appendClientRequest(const WebSocketClientOptions& options, std::string_view key,
                         std::string& out);

// What the client learnt from a valid response, or why it must fail the connection.
struct ResponseCheck {
  // Empty when the response is acceptable; else a static reason starting "handshake: ".
  std::string_view error{};
  // With an error: the response's status when it was not 101 (the caller reports it), else
  // 1002.
  std::uint16_t code = 0;
  std::string_view subprotocol{};        // the server's choice ("" = none), a view into `head`
  std::optional<DeflateParams> deflate;  // set when permessage-deflate was accepted
};

// Checks a response head against RFC 6455 4.1 and RFC 7692 7.1, in this order: status 101,
// Upgrade lists "websocket" and Connection lists "upgrade" (case-insensitive tokens),
// exactly one Sec-WebSocket-Accept equal to `expected_accept`, at most one
// Sec-WebSocket-Protocol naming one offered subprotocol (case-sensitive), and extensions
// (acceptDeflateResponse()).
ResponseCheck checkClientResponse(const HandshakeRequest& head, int status,
                                  std::string_view expected_accept,
                                  const WebSocketClientOptions& options);

}  // namespace wman::ws

// The HTTP side of the RFC 6455 opening handshake (section 4.2): checking a client's upgrade
// request and writing the responses. Pure functions; WebSocketCodec drives them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wman/codec.h"

namespace wman::ws {

// The Sec-WebSocket-Accept value for a Sec-WebSocket-Key: base64(SHA-1(key + RFC 6455 GUID)).
std::string acceptKey(std::string_view key);

// Outcome of validateUpgrade(): status 0 when the request is a valid opening handshake, else
// the HTTP status to answer with (400, 405 or 426) and a static reason.
struct UpgradeCheck {
  int status = 0;
  std::string_view reason{};
};

// Checks RFC 6455 4.2.1 in this order: GET (else 405), HTTP/1.1 or later, Host present,
// Upgrade lists "websocket", Connection lists "upgrade" (tokens compared case-insensitively,
// across repeated header lines), exactly one Sec-WebSocket-Version and it is 13 (426 if it
// is another version), exactly one Sec-WebSocket-Key decoding to 16 bytes (400 for the rest).
UpgradeCheck validateUpgrade(const HandshakeRequest& request, int http_major, int http_minor);

// True if some `name` header line of `request`, read as a comma-separated list, holds `token`
// (ASCII case-insensitive, surrounding whitespace ignored).
bool headerListHas(const HandshakeRequest& request, std::string_view name, std::string_view token,
                   bool case_sensitive = false);

// Every value of the `name` header lines, in order.
std::vector<std::string_view> headerValues(const HandshakeRequest& request, std::string_view name);

// The standard reason phrase for an HTTP status ("Bad Request", httpReasonPhrase), "Error"
// if unknown.
std::string_view reasonPhrase(int status);

// Appends a complete HTTP/1.1 error response that closes the connection: status line,
// Content-Type text/plain, Content-Length, Connection: close, what the status needs (Allow
// for 405, Upgrade and Sec-WebSocket-Version: 13 for 426), `extra` headers (lines holding CR
// or LF are dropped, so an application cannot split the response), then `body`. A status
// outside 300-599 is sent as 500.
void appendHttpError(int status, std::string_view body,
                     const std::vector<std::pair<std::string, std::string>>& extra,
                     std::string& out);

// Appends "Name: value\r\n" unless either part holds CR, LF or NUL (see appendHttpError).
void appendHeaderLine(std::string_view name, std::string_view value, std::string& out);

}  // namespace wman::ws

// Base64 (RFC 4648 section 4, standard alphabet with '=' padding) for the WebSocket handshake:
// Sec-WebSocket-Key is checked by decoding it, Sec-WebSocket-Accept is an encoded SHA-1.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wman::ws {

// Appends the padded base64 form of `data` to `out`.
void base64Encode(std::string_view data, std::string& out);

// The bytes `text` encodes, or nullopt unless `text` is canonical padded base64: length a
// multiple of 4, only alphabet characters, '=' only as the last one or two, unused bits zero.
// Strict because a key that decodes loosely is not what RFC 6455 4.1 asks clients to send.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace wman::ws

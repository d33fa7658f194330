// Parsing of listen addresses such as "text://0.0.0.0:8081", "ws://[::1]:80",
// "unix:///run/x.sock".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wman {

struct ListenUrl {
  // The scheme as written, lower-cased ("text", "ws", "websocket", "wss", "tcp", "unix"...).
  std::string scheme;
  // The codec name the scheme maps to: "ws" and "wss" -> "websocket", "https" -> "http",
  // "unix" -> "tcp" (raw bytes over a unix socket), "udp" -> "tcp" (each datagram's bytes as
  // they came), everything else unchanged. [worker] protocol may choose another for unix://
  // and udp://.
  std::string protocol;
  // Host without brackets ("0.0.0.0", "::1", "localhost"); empty for unix sockets.
  std::string host;
  std::uint16_t port = 0;  // 0 lets the OS choose (useful in tests)
  std::string path;        // unix socket path; empty otherwise
  bool tls = false;        // true for wss:// and https://
  bool udp = false;        // true for udp://
  bool isUnix() const { return !path.empty(); }
};

// Parses `url`. On failure returns nullopt and puts a one-line reason in `error`
// (for example "port 70000 is out of range (0-65535)").
std::optional<ListenUrl> parseListenUrl(std::string_view url, std::string* error = nullptr);

}  // namespace wman

// Parsing of addresses to connect to, such as "ws://host:port/path?query",
// "text://10.0.0.5:9000" or "unix:///run/app.sock".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wman {

// An address to connect to: "ws://host:port/path?query", "text://10.0.0.5:9000",
// "unix:///run/app.sock"...
struct ConnectUrl {
  // Lower-cased as written ("ws", "wss", "text", "tcp", "unix", "frame", custom...).
  std::string scheme;
  // Codec name: ws/wss/websocket -> "websocket", https -> "http", unix -> "tcp", else the
  // scheme.
  std::string protocol;
  std::string host;  // without brackets; empty for unix
  // Explicit, or the scheme's default (ws/websocket/http 80, wss/https 443); never 0 except
  // for unix.
  std::uint16_t port = 0;
  // ws/wss/websocket/http/https: path and query, "/" when absent, a "#fragment" dropped;
  // "" for other schemes.
  std::string target;
  std::string path;  // unix socket path; empty otherwise
  bool tls = false;  // wss:// and https://
  bool isUnix() const { return !path.empty(); }
};

// Parses `url`. On failure returns nullopt and puts a one-line reason in `error` (for
// example "port 0 cannot be connected to"). The scheme needs only valid syntax: whether its
// protocol exists is for the caller to check, because custom protocols register at run time.
// The host is not resolved; the port may be left out only for ws, wss, websocket, http and
// https; a path or query is allowed only for those schemes; wildcard hosts (0.0.0.0, ::) and
// udp:// are refused.
std::optional<ConnectUrl> parseConnectUrl(std::string_view url, std::string* error = nullptr);

}  // namespace wman

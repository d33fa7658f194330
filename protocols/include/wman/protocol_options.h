// A listener's and an outbound connection's protocol settings, as the runtime hands them to
// the registry (ProtocolRegistry::configured, configuredClient): every protocol takes what
// concerns it and ignores the rest, so the runtime configures a codec without knowing which
// protocol it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "wman/codec.h"

namespace wman {

// [worker.websocket], for "websocket" listeners and for the WebSocket paths of "http" ones.
struct WebSocketSettings {
  bool permessage_deflate = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
  int mem_level = 8;
  MessageKind default_kind = MessageKind::Text;
  std::size_t max_message_size = 16 * 1024 * 1024;
};

// [worker.http], for "http" listeners.
struct HttpSettings {
  std::size_t max_header_size = 8 * 1024;        // 431 beyond
  std::size_t max_body_size = 10 * 1024 * 1024;  // 413 beyond
  bool stream_body = false;                      // bodies as pieces instead of whole
  std::vector<std::string> websocket_paths;      // upgraded to WebSocket sessions
};

struct ProtocolOptions {
  CodecLimits limits;  // the worker's limits.max_package_size
  WebSocketSettings websocket;
  HttpSettings http;
};

// Fills a span with unpredictable bytes. Codecs may not open devices or keep a generator of
// their own, so a protocol that needs entropy (WebSocket keys and masks) is handed this.
using RandomBytes = std::function<void(std::span<std::byte>)>;

// An outbound connection's settings (AsyncConnection), for ProtocolRegistry::configuredClient.
// The request fields concern handshake protocols (ws://, wss://); the rest ignore them.
struct ClientSettings {
  // The largest incoming message (AsyncConnectionOptions::max_message_size).
  CodecLimits limits;
  // The server as the URL names it (Host header) and whether TLS runs underneath (which
  // decides only the default port).
  std::string host;
  std::uint16_t port = 0;
  bool secure = false;
  std::string target;                                        // path and query, "/" when empty
  std::string origin;                                        // sent as Origin when not empty
  std::vector<std::string> subprotocols;                     // offered, in preference order
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
  bool permessage_deflate = false;                           // offer compression
  int client_max_window_bits = 15;                           // our compressor's window
  // Required by protocols that key or mask (WebSocket); the others never call it.
  RandomBytes random;
};

}  // namespace wman

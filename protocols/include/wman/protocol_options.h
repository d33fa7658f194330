// A listener's protocol settings, as the runtime hands them to the registry
// (ProtocolRegistry::configured): every protocol takes what concerns it and ignores the rest,
// so the runtime configures a codec without knowing which protocol it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
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

}  // namespace wman

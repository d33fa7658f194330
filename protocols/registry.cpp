#include <map>
#include <mutex>
#include <utility>

#include "frame/frame_codec.h"
#include "http/http_server_codec.h"
#include "tcp/raw_codec.h"
#include "text/text_codec.h"
#include "websocket/websocket_client_codec.h"
#include "websocket/websocket_codec.h"
#include "wman/protocol_registry.h"

namespace wman {
namespace {

template <typename T>
CodecFactory builtin() {
  return [](const CodecLimits& limits) -> std::unique_ptr<Codec> {
    return std::make_unique<T>(limits);
  };
}

struct Registry {
  std::mutex mutex;
  std::map<std::string, CodecFactory, std::less<>> factories;

  // Built-ins are inserted here rather than by static initialisers in their own translation
  // units: a static library only links objects something refers to, and nothing would refer
  // to a self-registering codec file.
  Registry() {
    factories.emplace(std::string(ProtocolRegistry::kRawBytes), builtin<RawCodec>());
    factories.emplace("text", builtin<TextCodec>());
    factories.emplace("frame", builtin<FrameCodec>());
    factories.emplace("websocket", webSocketCodecFactory(WebSocketOptions{}));
    factories.emplace("http", httpCodecFactory(std::make_shared<HttpServerOptions>()));
  }
};

// Function-local static: constructed on first use, thread-safe since C++11, and immune to the
// static initialisation order of other translation units that may register from their own
// initialisers.
Registry& registry() {
  static Registry r;
  return r;
}

WebSocketOptions webSocketOptions(const WebSocketSettings& s) {
  WebSocketOptions o;
  o.permessage_deflate = s.permessage_deflate;
  o.default_kind = s.default_kind;
  o.deflate.server_max_window_bits = s.server_max_window_bits;
  o.deflate.client_max_window_bits = s.client_max_window_bits;
  o.deflate.mem_level = s.mem_level;
  return o;
}

WebSocketClientOptions webSocketClientOptions(const ClientSettings& s) {
  WebSocketClientOptions o;
  o.host = s.host;
  o.port = s.port;
  o.secure = s.secure;
  o.target = s.target.empty() ? "/" : s.target;
  o.origin = s.origin;
  o.subprotocols = s.subprotocols;
  o.headers = s.headers;
  o.permessage_deflate = s.permessage_deflate;
  o.deflate.client_max_window_bits = s.client_max_window_bits;
  // Masking keys and Sec-WebSocket-Key must be unpredictable (RFC 6455 10.3).
  o.random = s.random;
  return o;
}

// URL schemes per RFC 3986 ("ALPHA *( ALPHA / DIGIT / '+' / '-' / '.' )"), restricted to
// lower case because listen URLs are matched on the lower-case scheme.
bool validScheme(std::string_view name) {
  if (name.empty() || name.front() < 'a' || name.front() > 'z') return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool ProtocolRegistry::add(std::string name, CodecFactory factory) {
  // An invalid name could never be reached from a URL and an empty factory would fail only
  // when the first client connects, so both are refused up front.
  if (!validScheme(name) || !factory) return false;
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return r.factories.try_emplace(std::move(name), std::move(factory)).second;
}

bool ProtocolRegistry::contains(std::string_view name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return r.factories.find(name) != r.factories.end();
}

bool ProtocolRegistry::serverOnly(std::string_view name) {
  return name == "http";
}

CodecFactory ProtocolRegistry::factory(std::string_view name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const auto it = r.factories.find(name);
  return it == r.factories.end() ? CodecFactory{} : it->second;
}

std::unique_ptr<Codec> ProtocolRegistry::create(std::string_view name, const CodecLimits& limits) {
  // The factory runs without the lock so a user factory may itself use the registry.
  CodecFactory f = factory(name);
  return f ? f(limits) : nullptr;
}

ListenerCodecFactory ProtocolRegistry::configured(std::string_view name,
                                                  const ProtocolOptions& options) {
  if (name == "websocket") {
    const CodecLimits limits{options.websocket.max_message_size};
    return [f = webSocketCodecFactory(webSocketOptions(options.websocket)), limits] {
      return f(limits);
    };
  }
  if (name == "http") {
    auto http = std::make_shared<HttpServerOptions>();
    http->decoder.max_header_size = options.http.max_header_size;
    http->decoder.max_body_size = options.http.max_body_size;
    http->decoder.stream_body = options.http.stream_body;
    http->websocket_paths = options.http.websocket_paths;
    http->websocket = webSocketCodecFactory(webSocketOptions(options.websocket));
    http->websocket_limits = CodecLimits{options.websocket.max_message_size};
    return [f = httpCodecFactory(std::move(http)), limits = options.limits] { return f(limits); };
  }
  CodecFactory f = factory(name);
  if (!f) return {};
  return [f = std::move(f), limits = options.limits] { return f(limits); };
}

ListenerCodecFactory ProtocolRegistry::configuredClient(std::string_view name,
                                                        const ClientSettings& settings) {
  if (serverOnly(name)) return {};
  // webSocketClientCodecFactory checks the options and throws when they cannot be used.
  CodecFactory f = name == "websocket"
                       ? webSocketClientCodecFactory(webSocketClientOptions(settings))
                       : factory(name);
  if (!f) return {};
  return [f = std::move(f), limits = settings.limits] { return f(limits); };
}

std::vector<std::string> ProtocolRegistry::names() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> out;
  out.reserve(r.factories.size());
  for (const auto& entry : r.factories) out.push_back(entry.first);
  return out;
}

}  // namespace wman

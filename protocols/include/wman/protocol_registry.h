// Name -> codec factory. Built-in protocols ("tcp", "text", "frame", "websocket") are always
// present; users register their own before wman::runAll() so config files can name them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "wman/codec.h"
#include "wman/protocol_options.h"

namespace wman {

using CodecFactory = std::function<std::unique_ptr<Codec>(const CodecLimits&)>;
// A factory with a listener's or an outbound connection's settings bound: one fresh codec
// per call.
using ListenerCodecFactory = std::function<std::unique_ptr<Codec>()>;

class ProtocolRegistry {
 public:
  // The protocol of a connection no one chose one for (sockets handed to Loop::adopt()):
  // raw bytes, each read one message.
  static constexpr std::string_view kRawBytes = "tcp";

  // Registers `factory` under `name` (lower-case URL scheme, e.g. "myproto" for
  // "myproto://0.0.0.0:9000"). Returns false and changes nothing if the name is taken.
  // Call from the main thread before the workers start.
  static bool add(std::string name, CodecFactory factory);

  // True if `name` is registered (built-in or added).
  static bool contains(std::string_view name);

  // True for a built-in protocol that has only a server side ("http"): outbound connections
  // cannot speak it.
  static bool serverOnly(std::string_view name);

  // The factory registered under `name`, or an empty function if it is unknown (for callers
  // that create many codecs of one protocol).
  static CodecFactory factory(std::string_view name);

  // A fresh codec for one connection, or nullptr if `name` is unknown.
  static std::unique_ptr<Codec> create(std::string_view name, const CodecLimits& limits);

  // The factory for a listener of protocol `name` with its settings applied: the built-in
  // "websocket" and "http" read theirs from `options`, every other protocol is the plain
  // factory with options.limits. Empty if `name` is unknown.
  static ListenerCodecFactory configured(std::string_view name, const ProtocolOptions& options);

  // The factory for an outbound connection of protocol `name` with `settings` applied: the
  // built-in "websocket" takes the client role with the request and deflate settings, every
  // other protocol is the plain factory with settings.limits. Empty if `name` is unknown or
  // serverOnly(). Throws std::invalid_argument naming the problem when `settings` cannot be
  // used by that protocol (so a bad setting fails when the connection is set up).
  static ListenerCodecFactory configuredClient(std::string_view name,
                                               const ClientSettings& settings);

  // Every registered name, sorted.
  static std::vector<std::string> names();
};

}  // namespace wman

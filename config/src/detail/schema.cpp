// Which keys live in which table, for "it belongs in ..." hints.
#include "detail/schema.h"

#include <algorithm>
#include <initializer_list>

namespace wman::detail {
namespace {

struct Section {
  std::string_view name;
  std::initializer_list<std::string_view> keys;
};

// File order of the sections in docs/config.md.
const Section kSections[] = {
    {"the top level", {"daemon", "worker"}},
    {"[daemon]",
     {"run_dir", "log_file", "log_level", "user", "group", "stop_timeout", "drain_timeout",
      "start_timeout", "heartbeat_timeout", "rlimit_nofile"}},
    {"[[worker]]",
     {"name", "listen", "count", "reuse_port", "app", "transport", "limits", "tls", "websocket",
      "options"}},
    {"[worker.limits]",
     {"max_connections", "max_package_size", "max_send_buffer", "handshake_timeout",
      "idle_timeout"}},
    {"[worker.tls]", {"cert", "key", "ca", "min_version"}},
    {"[worker.websocket]",
     {"allowed_origins", "ping_interval", "permessage_deflate", "max_message_size", "binary_type"}},
};

}  // namespace

std::string misplacedKeyHint(std::string_view key, std::string_view section) {
  for (const Section& s : kSections) {
    if (s.name == section) continue;
    if (std::find(s.keys.begin(), s.keys.end(), key) == s.keys.end()) continue;
    std::string hint = "it belongs in " + std::string(s.name);
    // TOML puts every key after a [worker.x] header into that table, so a worker key
    // written below [worker.limits] lands there; say so, it is the usual cause.
    if (s.name == "[[worker]]" && section.substr(0, 8) == "[worker.")
      hint += " (keys below a " + std::string(section) + " header belong to that table)";
    return hint;
  }
  return {};
}

}  // namespace wman::detail

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
      "start_timeout", "heartbeat_timeout", "rlimit_nofile", "control_max_connections",
      "control_idle_timeout", "metrics", "metrics_token", "metrics_cert", "metrics_key"}},
    {"[[worker]]",
     {"name", "listen", "count", "reuse_port", "app", "protocol", "transport", "limits", "tls",
      "websocket", "http", "options"}},
    {"[worker.limits]",
     {"max_connections", "max_package_size", "max_send_buffer", "handshake_timeout", "idle_timeout",
      "max_memory", "message_timeout"}},
    {"[worker.tls]",
     {"cert", "key", "ca", "min_version", "verify_client", "ciphers", "ciphersuites", "alpn",
      "sni"}},
    {"[[worker.tls.sni]]", {"server_name", "cert", "key"}},
    {"[worker.websocket]",
     {"allowed_origins", "ping_interval", "permessage_deflate", "max_message_size", "binary_type",
      "server_max_window_bits", "client_max_window_bits", "mem_level"}},
    {"[worker.http]",
     {"root", "index", "websocket", "max_header_size", "max_body_size", "header_timeout",
      "body_timeout", "keepalive_timeout", "stream_body"}},
    // Only the keys of built-in apps: [worker.options] is otherwise free-form.
    {"[worker.options]",
     {"upstream", "upstream_ca", "upstream_tls_verify", "upstream_connect_timeout"}},
};

// "[worker.limits]" -> "worker.limits", "[[worker]]" -> "worker".
std::string_view tablePath(std::string_view section) {
  while (!section.empty() && section.front() == '[') section.remove_prefix(1);
  while (!section.empty() && section.back() == ']') section.remove_suffix(1);
  return section;
}

// True when `inner` is a sub-table of `outer`, e.g. [worker.tls] inside [[worker]].
bool isInside(std::string_view inner, std::string_view outer) {
  if (outer.substr(0, 1) != "[" || inner.substr(0, 1) != "[") return false;
  const std::string_view in = tablePath(inner);
  const std::string_view out = tablePath(outer);
  return in.size() > out.size() && in.substr(0, out.size()) == out && in[out.size()] == '.';
}

}  // namespace

std::string misplacedKeyHint(std::string_view key, std::string_view section) {
  for (const Section& s : kSections) {
    if (s.name == section) continue;
    if (std::find(s.keys.begin(), s.keys.end(), key) == s.keys.end()) continue;
    std::string hint = "it belongs in " + std::string(s.name);
    // TOML puts every key after a header into that header's table, so a [[worker]] key
    // written below [worker.limits] (or a [worker.tls] key below [[worker.tls.sni]]) lands
    // there; say so, it is the usual cause.
    if (isInside(section, s.name))
      hint += " (keys below a " + std::string(section) + " header belong to that table)";
    return hint;
  }
  return {};
}

}  // namespace wman::detail

// [worker.options] of the built-in `forward` app. The loader checks them on the app's behalf
// because a wrong upstream would otherwise surface only when the first client connects.
#include "detail/forward_reader.h"

#include <algorithm>
#include <utility>

#include "wman/connect_url.h"
#include "wman/protocol_registry.h"

namespace wman::detail {
namespace {

constexpr std::string_view kForwardApp = "forward";

void readUpstream(FieldReader& r, const std::string& who, const toml::node& node,
                  ForwardOptions& f) {
  f.line = static_cast<int>(node.source().begin.line);
  asString (&f.upstream)(r, who + "upstream", node);
  if (f.upstream.empty()) return;  // reported by asString
  const std::string prefix = who + "upstream " + quote(f.upstream) + ": ";
  std::string why;
  auto url = parseConnectUrl(f.upstream, &why);
  if (!url) {
    r.error(node.source(), prefix + why);
    return;
  }
  // Unlike listeners, no exception for websocket/http codecs registered late: the forward
  // app needs a client codec now, and a binary without one cannot forward.
  if (!ProtocolRegistry::contains(url->protocol)) {
    r.error(node.source(), prefix + "unknown protocol " + quote(url->protocol) +
                               " (registered: " + registeredProtocols() + ")");
    return;
  }
  if (ProtocolRegistry::serverOnly(url->protocol)) {
    r.error(node.source(), prefix + "protocol " + quote(url->protocol) +
                               " has no client side in wman (forward to tcp, text, frame, "
                               "websocket or a registered codec)");
    return;
  }
  f.url = std::move(*url);
}

}  // namespace

bool runsForwardApp(const FieldReader& reader, const WorkerEntry& entry) {
  const auto& builtin = reader.check().builtin_apps;
  return entry.config.app == kForwardApp &&
         std::find(builtin.begin(), builtin.end(), kForwardApp) != builtin.end();
}

void readForwardOptions(FieldReader& r, WorkerEntry& e) {
  const std::string who = "worker " + e.config.name + ": ";
  const toml::node* options = e.table->get("options");
  const toml::table* t = options ? options->as_table() : nullptr;
  if (options && !t) return;  // a non-table [worker.options] is already reported
  ForwardOptions f;
  if (const toml::node* upstream = t ? t->get("upstream") : nullptr) {
    readUpstream(r, who, *upstream, f);
  } else {
    r.error(e.table->source(), who + "app \"forward\" needs upstream in [worker.options] " +
                                   "(e.g. upstream = \"text://10.0.0.5:9000\")");
  }
  if (t) {
    const std::pair<std::string_view, ValueReader> fields[] = {
        {"upstream_ca", asPath(&f.ca, /*allow_empty=*/true)},
        {"upstream_tls_verify", asBool(&f.tls_verify)},
        {"upstream_connect_timeout", asDuration(&f.connect_timeout, Duration{1})},
    };
    for (const auto& [key, read] : fields) {
      if (const toml::node* n = t->get(key)) read(r, who + std::string(key), *n);
    }
    if (const toml::node* n = t->get("upstream_ca"); n && !f.ca.empty()) {
      r.requireReadableFile(*n, who + "upstream_ca", f.ca);
      // Workers may run in another directory (a daemon's is "/"): hand the app the resolved
      // path, as the TLS files are.
      e.config.options["upstream_ca"].text = f.ca;
    }
  }
  e.config.forward = std::move(f);
}

}  // namespace wman::detail

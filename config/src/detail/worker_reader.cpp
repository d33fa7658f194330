// [[worker]] tables: fields, sub-tables, and the rules that tie them together.
#include "detail/worker_reader.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <thread>

#include "detail/forward_reader.h"
#include "detail/http_reader.h"
#include "detail/tls_reader.h"
#include "wman/protocol_registry.h"

namespace wman::detail {
namespace {

// Worker names show up in status tables, JSON, logs and process titles; keeping them to a
// plain alphabet avoids quoting problems in all of those.
constexpr std::size_t kMaxNameLength = 64;
constexpr std::int64_t kMaxCount = 1024;

bool validName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameLength &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
         });
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Reads a sub-table such as `limits`; reports a non-table value and returns nullptr.
const toml::table* subTable(FieldReader& r, std::string_view key, const toml::node& node) {
  if (const auto* t = node.as_table()) return t;
  r.error(node.source(), std::string(key) + " must be a table ([worker." + std::string(key) +
                             "]), got " + std::string(typeName(node)));
  return nullptr;
}

void readLimits(FieldReader& r, const toml::table& t, WorkerLimits& limits) {
  r.readFields(t, "[worker.limits]",
               {
                   {"max_connections", asInt(&limits.max_connections, 1, INT64_MAX)},
                   {"max_package_size", asSize(&limits.max_package_size, 1)},
                   {"max_send_buffer", asSize(&limits.max_send_buffer, 1)},
                   {"handshake_timeout", asDuration(&limits.handshake_timeout, Duration{0})},
                   {"idle_timeout", asDuration(&limits.idle_timeout, Duration{0})},
                   {"max_memory", asSize(&limits.max_memory, 0)},
                   {"message_timeout", asDuration(&limits.message_timeout, Duration{0})},
               });
}

void readWebSocket(FieldReader& r, const toml::table& t, WebSocketConfig& ws) {
  r.readFields(t, "[worker.websocket]",
               {
                   {"allowed_origins", asStringArray(&ws.allowed_origins)},
                   {"ping_interval", asDuration(&ws.ping_interval, Duration{0})},
                   {"permessage_deflate", asBool(&ws.permessage_deflate)},
                   {"max_message_size", asSize(&ws.max_message_size, 1)},
                   {"binary_type", asOneOf(&ws.binary_type, {"text", "binary"})},
                   {"server_max_window_bits", asInt(&ws.server_max_window_bits, 8, 15)},
                   {"client_max_window_bits", asInt(&ws.client_max_window_bits, 8, 15)},
                   {"mem_level", asInt(&ws.mem_level, 1, 9)},
               });
}

// `websocket` in [[worker]] is the [worker.websocket] table; paths written there instead
// were meant for [worker.http], so say where they go.
void readWebSocketTable(FieldReader& r, std::string_view key, const toml::node& node,
                        WebSocketConfig& ws) {
  const auto* array = node.as_array();
  if (node.is_string() || (array && array->is_homogeneous(toml::node_type::string))) {
    r.error(node.source(), std::string(key) + " must be a table ([worker." + std::string(key) +
                               "]), got " + std::string(typeName(node)) +
                               "; the WebSocket paths of an http worker go in [worker.http]");
    return;
  }
  if (const auto* t = subTable(r, key, node)) readWebSocket(r, *t, ws);
}

// [worker.options] is the app's business: keep every value, typed, as text.
void readOptions(const toml::table& t, std::map<std::string, OptionValue>& out) {
  for (auto&& [key, node] : t) {
    OptionValue v;
    v.type = std::string(typeName(node));
    if (const auto* s = node.as_string()) {
      v.text = s->get();
    } else {
      std::ostringstream os;
      node.visit([&os](const auto& value) { os << value; });
      v.text = os.str();
    }
    out[std::string(key.str())] = std::move(v);
  }
}

void checkListen(FieldReader& r, WorkerEntry& e) {
  const toml::node* node = e.table->get("listen");
  if (!node) {
    r.error(e.table->source(),
            "missing required key 'listen' in [[worker]] (e.g. listen = \"text://0.0.0.0:8081\")");
    return;
  }
  if (!node->is_string() || e.config.listen.empty()) return;  // already reported
  std::string why;
  auto url = parseListenUrl(e.config.listen, &why);
  if (!url) {
    r.error(node->source(), "invalid listen URL " + quote(e.config.listen) + ": " + why);
    return;
  }
  // websocket and http are accepted before their codecs register so that configs can be
  // checked by a binary built without them; the worker fails loudly if still missing.
  if (!ProtocolRegistry::contains(url->protocol) && url->protocol != "websocket" &&
      url->protocol != "http") {
    r.error(node->source(), "protocol " + quote(url->protocol) + " is not registered");
    return;
  }
  e.config.url = std::move(*url);
  e.listen_ok = true;
}

// `protocol` picks the codec of a listener whose scheme names none (unix://, udp://).
void checkProtocol(FieldReader& r, WorkerEntry& e) {
  const toml::node* node = e.table->get("protocol");
  if (!node || !node->is_string() || !e.listen_ok) return;
  ListenUrl& url = e.config.url;
  const std::string& name = e.config.protocol;
  if (!url.isUnix() && !url.udp) {
    r.error(node->source(), "protocol only applies to unix:// and udp:// listeners; " + url.scheme +
                                ":// already names its protocol");
  } else if (url.udp && (name == "websocket" || name == "http")) {
    r.error(node->source(), "protocol " + quote(name) +
                                " needs a stream connection; udp:// takes tcp, text, frame or a "
                                "custom codec");
  } else if (!ProtocolRegistry::contains(name)) {
    r.error(node->source(),
            "unknown protocol " + quote(name) + " (registered: " + registeredProtocols() + ")");
  } else {
    url.protocol = name;
  }
}

// udp:// has no connections and no TLS: settings about either are mistakes, not defaults.
void checkUdp(FieldReader& r, WorkerEntry& e) {
  const toml::table& t = *e.table;
  const toml::node* transport = t.get("transport");
  if (transport && e.config.transport == "tls")
    r.error(transport->source(), "udp:// cannot use TLS (DTLS is not supported)");
  if (const toml::node* tls = t.get("tls"))
    r.error(tls->source(), "[worker.tls] does not apply to udp:// (DTLS is not supported)");
  const toml::node* limits = t.get("limits");
  if (limits && limits->is_table()) {
    for (std::string_view key : {"max_connections", "max_send_buffer", "handshake_timeout",
                                 "idle_timeout", "message_timeout"}) {
      if (const toml::node* k = limits->as_table()->get(key))
        r.error(k->source(),
                std::string(key) + " does not apply to udp:// (no connections, nothing queued)");
    }
  }
  const std::string& app = e.config.app;
  if (app == "chat" || app == "forward")
    r.error(t.get("app")->source(), "app " + quote(app) +
                                        " needs connections; a udp:// worker runs \"echo\" or "
                                        "an app module");
}

void checkApp(FieldReader& r, WorkerEntry& e) {
  const toml::node* node = e.table->get("app");
  if (!node) {
    r.error(e.table->source(), "missing required key 'app' in [[worker]] (e.g. app = \"echo\")");
    return;
  }
  if (!node->is_string() || e.config.app.empty()) return;  // already reported
  const auto& builtin = r.check().builtin_apps;
  if (std::find(builtin.begin(), builtin.end(), e.config.app) != builtin.end()) return;
  if (!endsWith(e.config.app, ".so")) {
    std::string names;
    for (const std::string& b : builtin) names += (names.empty() ? "" : ", ") + b;
    r.error(node->source(), "unknown app " + quote(e.config.app) + " (built-in apps: " + names +
                                "; or a path to a .so module)");
    return;
  }
  e.config.app = r.resolvePath(e.config.app);
  r.requireReadableFile(*node, "app module", e.config.app);
}

void checkTransport(FieldReader& r, WorkerEntry& e) {
  WorkerConfig& w = e.config;
  const toml::node* transport = e.table->get("transport");
  const toml::node* tls_table = e.table->get("tls");
  if (e.listen_ok && w.url.tls) {
    if (transport && w.transport == "tcp") {
      r.error(transport->source(),
              "transport \"tcp\" conflicts with " + w.url.scheme + ":// (which always uses TLS)");
      return;
    }
    w.transport = "tls";
  }
  if (w.transport == "tls") {
    // Only "neither cert nor key written" is reported here; a half-written or mistyped pair
    // already has its own error from readTls().
    const toml::table* t = tls_table ? tls_table->as_table() : nullptr;
    if (!t || (!t->contains("cert") && !t->contains("key"))) {
      const toml::node* where = t ? tls_table : transport ? transport : e.table->get("listen");
      r.error(where ? where->source() : e.table->source(),
              "TLS needs a certificate: set cert and key in [worker.tls]");
    }
  } else if (tls_table && tls_table->is_table()) {
    r.error(tls_table->source(),
            "[worker.tls] is set but transport is \"tcp\"; add transport = \"tls\" "
            "(or listen on wss:// or https://)");
  }
}

// Reports a worker option that makes no sense for this listener. An http worker takes
// [worker.websocket] too: it configures the sessions upgraded on [worker.http] websocket paths.
void checkApplicability(FieldReader& r, WorkerEntry& e) {
  if (!e.listen_ok) return;
  const std::string& protocol = e.config.url.protocol;
  const toml::node* ws = e.table->get("websocket");
  if (ws && ws->is_table() && protocol != "websocket" && protocol != "http")
    r.error(ws->source(),
            "[worker.websocket] only applies to websocket://, ws://, wss://, http:// and "
            "https:// listeners, not " +
                e.config.url.scheme + "://");
  const toml::node* http = e.table->get("http");
  if (http && http->is_table() && protocol != "http")
    r.error(http->source(), "[worker.http] only applies to http:// and https:// listeners, not " +
                                e.config.url.scheme + "://");
  const toml::node* reuse = e.table->get("reuse_port");
  if (reuse && e.config.reuse_port && e.config.url.isUnix())
    r.error(reuse->source(), "reuse_port cannot be used with unix:// sockets");
}

// The name a worker gets when it has none: its app's name ("echo", or "chat" for
// "/opt/libchat.so" minus "lib"), or "<app>-<N>" when several workers run the same app,
// N counting those workers from 1 in file order.
void defaultNames(std::vector<WorkerEntry>& workers) {
  auto baseName = [](const std::string& app) {
    if (!endsWith(app, ".so")) return app;
    std::string stem = std::filesystem::path(app).stem().string();
    if (stem.size() > 3 && stem.compare(0, 3, "lib") == 0) stem.erase(0, 3);
    for (char& c : stem) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '-';
    }
    return stem.substr(0, kMaxNameLength - 5);  // room for "-1024"
  };
  for (WorkerEntry& e : workers) {
    if (e.name_explicit || e.config.app.empty()) continue;
    const std::string& app = e.config.app;
    const auto same = [&app](const WorkerEntry& o) { return o.config.app == app; };
    const auto total = std::count_if(workers.begin(), workers.end(), same);
    if (total == 1) {
      e.config.name = baseName(app);
    } else {
      const auto nth =
          std::count_if(workers.begin(), workers.begin() + (&e - workers.data()) + 1, same);
      e.config.name = baseName(app) + "-" + std::to_string(nth);
    }
  }
}

void checkNames(FieldReader& r, const std::vector<WorkerEntry>& workers) {
  for (std::size_t i = 0; i < workers.size(); ++i) {
    const WorkerEntry& e = workers[i];
    if (e.config.name.empty()) continue;
    for (std::size_t j = 0; j < i; ++j) {
      if (workers[j].config.name != e.config.name) continue;
      const std::string first =
          " (first used by the worker at line " + std::to_string(workers[j].config.line) + ")";
      if (e.name_explicit) {
        r.error(e.table->get("name")->source(),
                "duplicate worker name " + quote(e.config.name) + first);
      } else {
        r.error(e.table->source(), "default worker name " + quote(e.config.name) +
                                       " is already taken" + first + "; set name = \"...\"");
      }
      break;
    }
  }
}

// "0.0.0.0" and "::" accept on every address of their port, so they collide with any
// other listener on that port (on Linux "::" also covers IPv4 unless v6only is set).
bool addressesOverlap(const ListenUrl& a, const ListenUrl& b) {
  if (a.udp != b.udp) return false;  // a UDP and a TCP port of the same number are distinct
  if (a.isUnix() || b.isUnix()) return a.isUnix() && b.isUnix() && a.path == b.path;
  if (a.port != b.port || a.port == 0) return false;
  if (a.host == b.host || a.host == "::" || b.host == "::") return true;
  const auto v6 = [](const std::string& h) { return h.find(':') != std::string::npos; };
  return (a.host == "0.0.0.0" && !v6(b.host)) || (b.host == "0.0.0.0" && !v6(a.host));
}

std::string addressText(const ListenUrl& u) {
  if (u.isUnix()) return u.path;
  const bool v6 = u.host.find(':') != std::string::npos;
  return (v6 ? "[" + u.host + "]" : u.host) + ":" + std::to_string(u.port);
}

void checkListenConflicts(FieldReader& r, const std::vector<WorkerEntry>& workers) {
  for (std::size_t i = 0; i < workers.size(); ++i) {
    const WorkerEntry& e = workers[i];
    if (!e.listen_ok) continue;
    for (std::size_t j = 0; j < i; ++j) {
      const WorkerEntry& o = workers[j];
      if (!o.listen_ok || !addressesOverlap(e.config.url, o.config.url)) continue;
      const std::string mine = addressText(e.config.url);
      const std::string theirs = addressText(o.config.url);
      std::string message = "listen address " + mine +
                            (mine == theirs ? " is already used" : " overlaps " + theirs) +
                            " by the worker at line " + std::to_string(o.config.line);
      if (!o.config.name.empty()) message += " (" + quote(o.config.name) + ")";
      r.error(e.table->get("listen")->source(), std::move(message));
      break;
    }
  }
}

// The rules that tie one worker's keys together, once they are all read.
void checkWorker(FieldReader& r, WorkerEntry& e) {
  checkListen(r, e);
  checkProtocol(r, e);
  checkApp(r, e);
  if (e.listen_ok && e.config.url.udp) {
    checkUdp(r, e);
  } else {
    checkTransport(r, e);
  }
  checkApplicability(r, e);
  if (e.config.count == 0) {
    // hardware_concurrency() may return 0 when it cannot tell; one worker is then the
    // only safe guess.
    e.config.count = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
}

}  // namespace

WorkerEntry readWorker(FieldReader& r, const toml::table& table) {
  WorkerEntry e;
  e.table = &table;
  WorkerConfig& w = e.config;
  w.line = static_cast<int>(table.source().begin.line);
  w.app.clear();  // required in files; the struct default serves configs built in code
  r.readFields(table, "[[worker]]",
               {
                   {"name",
                    [&e](FieldReader& fr, std::string_view key, const toml::node& node) {
                      auto v = fr.string(key, node);
                      if (!v) return;
                      if (!validName(*v)) {
                        fr.error(node.source(), "invalid worker name " + quote(*v) +
                                                    " (1-64 letters, digits, '.', '_' or '-')");
                        return;
                      }
                      e.config.name = std::move(*v);
                      e.name_explicit = true;
                    }},
                   {"listen", asString(&w.listen)},
                   {"count", asInt(&w.count, 0, kMaxCount)},
                   {"reuse_port", asBool(&w.reuse_port)},
                   {"app", asString(&w.app)},
                   {"protocol", asString(&w.protocol)},
                   {"transport", asOneOf(&w.transport, {"tcp", "tls"})},
                   {"limits",
                    [&w](FieldReader& fr, std::string_view key, const toml::node& node) {
                      if (const auto* t = subTable(fr, key, node)) readLimits(fr, *t, w.limits);
                    }},
                   {"tls",
                    [&w](FieldReader& fr, std::string_view key, const toml::node& node) {
                      if (const auto* t = subTable(fr, key, node)) readTls(fr, *t, w.tls);
                    }},
                   {"websocket",
                    [&w](FieldReader& fr, std::string_view key, const toml::node& node) {
                      readWebSocketTable(fr, key, node, w.websocket);
                    }},
                   {"http",
                    [&w](FieldReader& fr, std::string_view key, const toml::node& node) {
                      if (const auto* t = subTable(fr, key, node)) readHttp(fr, *t, w.http);
                    }},
                   {"options",
                    [&w](FieldReader& fr, std::string_view key, const toml::node& node) {
                      if (const auto* t = subTable(fr, key, node)) readOptions(*t, w.options);
                    }},
               });
  checkWorker(r, e);
  return e;
}

void checkWorkers(FieldReader& r, std::vector<WorkerEntry>& workers) {
  defaultNames(workers);
  checkNames(r, workers);
  checkListenConflicts(r, workers);
  for (WorkerEntry& e : workers) {
    if (runsForwardApp(r, e)) readForwardOptions(r, e);
  }
}

}  // namespace wman::detail

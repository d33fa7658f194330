// [daemon] metrics keys: the address, the bearer token and the TLS pair.
#include "detail/metrics_reader.h"

#include <algorithm>
#include <cctype>

#include "wman/listen_url.h"

namespace wman::detail {
namespace {

// Long enough for any generated secret, short enough to keep a request head small.
constexpr std::size_t kMaxTokenLength = 1024;

bool tokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~' || c == '+' || c == '/';
}

bool validToken(std::string_view t) {
  const std::size_t body = t.find_first_of('=');
  const std::string_view head = t.substr(0, body);
  const std::string_view pad = body == std::string_view::npos ? "" : t.substr(body);
  return !head.empty() && std::all_of(head.begin(), head.end(), tokenChar) &&
         std::all_of(pad.begin(), pad.end(), [](char c) { return c == '='; });
}

}  // namespace

ValueReader asMetricsAddress(std::string* out) {
  return [out](FieldReader& r, std::string_view key, const toml::node& node) {
    auto v = r.string(key, node);
    if (!v) return;
    if (v->empty()) {
      out->clear();
      return;
    }
    if (v->find("://") != std::string::npos) {
      r.error(node.source(), std::string(key) + " " + quote(*v) +
                                 " is host:port without a scheme (e.g. \"127.0.0.1:9100\")");
      return;
    }
    std::string why;
    if (!parseListenUrl("tcp://" + *v, &why)) {
      r.error(node.source(), "invalid " + std::string(key) + " address " + quote(*v) + ": " + why);
      return;
    }
    *out = *v;
  };
}

ValueReader asBearerToken(std::string* out) {
  return [out](FieldReader& r, std::string_view key, const toml::node& node) {
    auto v = r.string(key, node);
    if (!v) return;
    if (v->size() > kMaxTokenLength) {
      r.error(node.source(), std::string(key) + " is longer than " +
                                 std::to_string(kMaxTokenLength) + " characters");
    } else if (!v->empty() && !validToken(*v)) {
      r.error(node.source(), std::string(key) +
                                 " may hold only letters, digits and -._~+/ (then = padding), "
                                 "as an Authorization: Bearer header carries it");
    } else {
      *out = *v;
    }
  };
}

void checkMetrics(FieldReader& r, const toml::table& t, DaemonConfig& d) {
  if (const toml::node* n = t.get("metrics"))
    d.metrics_line = static_cast<int>(n->source().begin.line);
  // Judged by the keys written, so a mistyped value is one error, not two.
  if (t.contains("metrics_cert") != t.contains("metrics_key")) {
    const toml::node* n = t.contains("metrics_cert") ? t.get("metrics_cert") : t.get("metrics_key");
    r.error(n->source(), "[daemon] needs both metrics_cert and metrics_key");
  }
  for (const char* key : {"metrics_token", "metrics_cert", "metrics_key"}) {
    const toml::node* n = t.get(key);
    if (n && !t.contains("metrics")) {
      r.error(n->source(), std::string(key) +
                               " needs metrics = \"host:port\" (the address to "
                               "serve /metrics on)");
    }
  }
  const std::pair<const char*, const std::string*> files[] = {{"metrics_cert", &d.metrics_cert},
                                                              {"metrics_key", &d.metrics_key}};
  for (const auto& [key, path] : files) {
    if (const toml::node* n = t.get(key); n && !path->empty())
      r.requireReadableFile(*n, key, *path);
  }
}

}  // namespace wman::detail

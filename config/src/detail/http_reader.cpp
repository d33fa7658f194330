// [worker.http]: the keys of http:// and https:// workers.
#include "detail/http_reader.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace wman::detail {
namespace {

// A size between `min` and `max` bytes, both included.
ValueReader asSizeBetween(std::size_t* out, std::uint64_t min, std::uint64_t max) {
  return [out, min, max](FieldReader& r, std::string_view key, const toml::node& node) {
    auto v = r.size(key, node, min);
    if (!v) return;
    if (*v > max) {
      r.error(node.source(), std::string(key) + " must be at most " + std::to_string(max) +
                                 " bytes, got " + std::to_string(*v));
      return;
    }
    *out = static_cast<std::size_t>(*v);
  };
}

// Index names are tried inside the requested directory, so each must be one file name.
std::string badIndexName(const std::string& name) {
  if (name.find_first_of(std::string("/\0", 2)) != std::string::npos || name == "." || name == "..")
    return "must be a file name (no '/', not '.' or '..')";
  return {};
}

// Why `path` cannot name a WebSocket endpoint, or "" when it can. Paths are compared with
// the request target's path exactly, so anything that never appears there is a mistake.
std::string badWebSocketPath(const std::string& path) {
  if (path.empty() || path.front() != '/') return "must start with '/'";
  if (path.find_first_of("?#") != std::string::npos)
    return "must not contain '?' or '#' (the query is not part of the match)";
  const auto control = [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  };
  if (std::any_of(path.begin(), path.end(), control))
    return "must not contain spaces or control characters";
  return {};
}

// One path, from `node` (a string, or an element `element` of the array).
void addWebSocketPath(FieldReader& r, const toml::node& node, const std::string& element,
                      std::vector<std::string>& out, std::vector<const toml::node*>& nodes) {
  const auto* s = node.as_string();
  if (!s) {
    r.error(node.source(), element + " must be a string, got " + std::string(typeName(node)));
    return;
  }
  const std::string& path = s->get();
  if (const std::string why = badWebSocketPath(path); !why.empty()) {
    r.error(node.source(), "websocket path " + quote(path) + " " + why);
    return;
  }
  const auto same = std::find(out.begin(), out.end(), path);
  if (same != out.end()) {
    const auto line = nodes[static_cast<std::size_t>(same - out.begin())]->source().begin.line;
    r.error(node.source(), "duplicate websocket path " + quote(path) + " (first given at line " +
                               std::to_string(line) + ")");
    return;
  }
  out.push_back(path);
  nodes.push_back(&node);
}

// `websocket = "/ws"` or `websocket = ["/ws", "/chat"]`.
void readWebSocketPaths(FieldReader& r, std::string_view key, const toml::node& node,
                        std::vector<std::string>& out) {
  std::vector<std::string> paths;
  std::vector<const toml::node*> nodes;
  if (node.is_string()) {
    addWebSocketPath(r, node, std::string(key), paths, nodes);
  } else if (const auto* array = node.as_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      const std::string element = std::string(key) + "[" + std::to_string(i) + "]";
      addWebSocketPath(r, *array->get(i), element, paths, nodes);
    }
  } else {
    r.error(node.source(), std::string(key) + " must be a path or an array of paths, got " +
                               std::string(typeName(node)));
    return;
  }
  out = std::move(paths);
}

}  // namespace

void readHttp(FieldReader& r, const toml::table& t, HttpConfig& http) {
  r.readFields(t, "[worker.http]",
               {
                   {"root", asPath(&http.root, /*allow_empty=*/true)},
                   {"index", asStringArray(&http.index, std::numeric_limits<std::size_t>::max(),
                                           badIndexName, "file names")},
                   {"websocket",
                    [&http](FieldReader& fr, std::string_view key, const toml::node& node) {
                      readWebSocketPaths(fr, key, node, http.websocket);
                    }},
                   {"max_header_size",
                    asSizeBetween(&http.max_header_size, kMinHttpHeaderSize, kMaxHttpHeaderSize)},
                   {"max_body_size", asSize(&http.max_body_size, 0)},
                   {"header_timeout", asDuration(&http.header_timeout, Duration{1})},
                   {"body_timeout", asDuration(&http.body_timeout, Duration{1})},
                   {"keepalive_timeout", asDuration(&http.keepalive_timeout, Duration{0})},
                   {"stream_body", asBool(&http.stream_body)},
               });
  if (const toml::node* root = t.get("root"); root && !http.root.empty())
    r.requireReadableDirectory(*root, "http root", http.root);
}

}  // namespace wman::detail

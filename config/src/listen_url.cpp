// Listen URL parsing: "scheme://host:port" or "unix:///absolute/path".
#include "wman/listen_url.h"

#include <algorithm>
#include <array>

#include "detail/text.h"
#include "detail/url_syntax.h"
#include "wman/protocol_registry.h"

namespace wman {
namespace {

using detail::failUrl;
using detail::quote;

constexpr detail::UrlStyle kListenStyle{"listen", "0.0.0.0"};

// Schemes understood without a registry lookup. websocket/http codecs register themselves
// later, but their schemes must parse before that so configs can be checked early.
constexpr std::array<std::string_view, 10> kBuiltinSchemes = {
    "tcp", "text", "frame", "websocket", "ws", "wss", "http", "https", "unix", "udp"};

bool isKnownScheme(const std::string& scheme) {
  return std::find(kBuiltinSchemes.begin(), kBuiltinSchemes.end(), scheme) !=
             kBuiltinSchemes.end() ||
         ProtocolRegistry::contains(scheme);
}

std::string knownSchemes() {
  std::string out;
  for (std::string_view s : kBuiltinSchemes) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  for (const std::string& name : ProtocolRegistry::names()) {
    if (std::find(kBuiltinSchemes.begin(), kBuiltinSchemes.end(), name) != kBuiltinSchemes.end())
      continue;
    out += ", " + name;
  }
  return out;
}

bool parseHostPort(std::string_view rest, ListenUrl& out, std::string* error) {
  detail::UrlAuthority authority;
  if (!detail::parseAuthority(rest, kListenStyle, authority, error)) return false;
  if (!authority.port) return failUrl(error, detail::missingPortMessage(authority.host));
  // A lone "/" is how people write HTTP-ish URLs; anything longer suggests they expect
  // routing by path, which a listen address cannot do.
  const std::string_view tail = authority.tail;
  if (!tail.empty() && !(tail == "/" && detail::isWebScheme(out.scheme)))
    return failUrl(error, "unexpected path " + quote(tail) +
                              " after the port (a listen URL is scheme://host:port)");
  out.host = std::move(authority.host);
  out.port = *authority.port;
  return true;
}

}  // namespace

std::optional<ListenUrl> parseListenUrl(std::string_view url, std::string* error) {
  ListenUrl out;
  std::string_view rest;
  if (!detail::splitScheme(url, kListenStyle, out.scheme, rest, error)) return std::nullopt;
  if (!detail::validSchemeSyntax(out.scheme) || !isKnownScheme(out.scheme)) {
    failUrl(error, "unknown scheme " + quote(out.scheme) + " (known: " + knownSchemes() + ")");
    return std::nullopt;
  }
  const bool ok = out.scheme == "unix" ? detail::parseUnixPath(rest, out.path, error)
                                       : parseHostPort(rest, out, error);
  if (!ok) return std::nullopt;
  out.protocol = detail::protocolOfScheme(out.scheme);
  out.tls = detail::schemeUsesTls(out.scheme);
  out.udp = out.scheme == "udp";
  return out;
}

}  // namespace wman

// Connect URL parsing: listen URL syntax plus default ports and request targets.
#include "wman/connect_url.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

#include "detail/text.h"
#include "detail/url_syntax.h"

namespace wman {
namespace {

using detail::failUrl;
using detail::quote;

constexpr detail::UrlStyle kConnectStyle{"connect", "127.0.0.1"};

std::uint16_t defaultPort(std::string_view scheme) {
  if (scheme == "ws" || scheme == "websocket" || scheme == "http") return 80;
  if (scheme == "wss" || scheme == "https") return 443;
  return 0;
}

// 0.0.0.0 and :: (however an IPv6 literal spells it) mean "every local address" to bind(),
// and connecting to them reaches the local host only by a Linux accident; refuse them so a
// listen address pasted as an upstream is caught at check time.
bool isWildcard(const std::string& host) {
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return v4.s_addr == INADDR_ANY;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&v6);
}

// The request target sent in the HTTP request line (or WebSocket handshake): it must not
// carry bytes that would break that line, so anything outside printable ASCII has to be
// percent-encoded by the user.
bool parseTarget(std::string_view tail, std::string& target, std::string* error) {
  tail = tail.substr(0, tail.find('#'));  // a fragment is never sent to the server
  const auto bad = std::find_if(tail.begin(), tail.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u >= 0x7f;
  });
  if (bad != tail.end())
    return failUrl(error, "path " + quote(tail) +
                              " has a space, control or non-ASCII character (percent-encode it)");
  target = tail.empty() || tail.front() != '/' ? "/" + std::string(tail) : std::string(tail);
  return true;
}

bool parseRemote(std::string_view rest, ConnectUrl& out, std::string* error) {
  detail::UrlAuthority authority;
  if (!detail::parseAuthority(rest, kConnectStyle, authority, error)) return false;
  const bool web = detail::isWebScheme(out.scheme);
  if (!authority.port && !web)
    return failUrl(error, detail::missingPortMessage(authority.host) +
                              "; only ws, wss, websocket, http and https have a default port");
  out.port = authority.port ? *authority.port : defaultPort(out.scheme);
  if (out.port == 0) return failUrl(error, "port 0 cannot be connected to");
  if (isWildcard(authority.host))
    return failUrl(error, "cannot connect to the wildcard address " + authority.host);
  if (web) {
    if (!parseTarget(authority.tail, out.target, error)) return false;
  } else if (!authority.tail.empty()) {
    return failUrl(error, "unexpected path " + quote(authority.tail) + " in a " + out.scheme +
                              ":// URL (a path is only for ws/wss/http/https)");
  }
  out.host = std::move(authority.host);
  return true;
}

}  // namespace

std::optional<ConnectUrl> parseConnectUrl(std::string_view url, std::string* error) {
  ConnectUrl out;
  std::string_view rest;
  if (!detail::splitScheme(url, kConnectStyle, out.scheme, rest, error)) return std::nullopt;
  if (!detail::validSchemeSyntax(out.scheme)) {
    failUrl(error, "invalid scheme " + quote(out.scheme) +
                       " (a letter, then letters, digits, '+', '-' or '.')");
    return std::nullopt;
  }
  if (out.scheme == "udp") {
    failUrl(error, "udp:// is not supported for outbound connections");
    return std::nullopt;
  }
  const bool ok = out.scheme == "unix" ? detail::parseUnixPath(rest, out.path, error)
                                       : parseRemote(rest, out, error);
  if (!ok) return std::nullopt;
  out.protocol = detail::protocolOfScheme(out.scheme);
  out.tls = detail::schemeUsesTls(out.scheme);
  return out;
}

}  // namespace wman

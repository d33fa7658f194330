// Listen URL parsing: "scheme://host:port" or "unix:///absolute/path".
#include "wman/listen_url.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "wman/protocol_registry.h"

namespace wman {
namespace {

// Schemes understood without a registry lookup. websocket/http codecs register themselves
// later, but their schemes must parse before that so configs can be checked early.
constexpr std::array<std::string_view, 10> kBuiltinSchemes = {
    "tcp", "text", "frame", "websocket", "ws", "wss", "http", "https", "unix", "udp"};

// sun_path is 108 bytes on Linux, including the terminating NUL.
constexpr std::size_t kMaxUnixPath = 107;

bool fail(std::string* error, std::string reason) {
  if (error) *error = std::move(reason);
  return false;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

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

// RFC 3986 scheme syntax: a letter, then letters, digits, '+', '-' or '.'.
bool validSchemeSyntax(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
  });
}

bool validHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

bool validIpv6Char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

// Quotes untrusted text for an error message; control bytes become '?' so one bad byte
// cannot break the one-line message format.
std::string quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += std::iscntrl(static_cast<unsigned char>(c)) ? '?' : c;
  return out + "'";
}

bool parseUnix(std::string_view rest, ListenUrl& out, std::string* error) {
  if (rest.empty() || rest.front() != '/')
    return fail(error, "unix socket path must be absolute (unix:///path/to/socket)");
  if (rest == "/" || rest.back() == '/')
    return fail(error, "unix socket path " + quote(rest) + " names a directory, not a socket");
  if (rest.size() > kMaxUnixPath)
    return fail(error, "unix socket path is " + std::to_string(rest.size()) +
                           " bytes long (at most " + std::to_string(kMaxUnixPath) + ")");
  if (std::any_of(rest.begin(), rest.end(), [](char c) { return c == '\0'; }))
    return fail(error, "unix socket path contains a NUL byte");
  out.path = std::string(rest);
  return true;
}

bool parsePort(std::string_view text, std::uint16_t& port, std::string* error) {
  if (text.empty()) return fail(error, "missing port after ':' (expected host:port)");
  if (!std::all_of(text.begin(), text.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return fail(error, "port " + quote(text) + " is not a number");
  unsigned long value = 0;
  for (char c : text) {
    value = value * 10 + static_cast<unsigned long>(c - '0');
    // Stop early so a long digit string cannot overflow; anything this big is out of range.
    if (value > 65535)
      return fail(error, "port " + std::string(text) + " is out of range (0-65535)");
  }
  port = static_cast<std::uint16_t>(value);
  return true;
}

bool parseHostPort(std::string_view rest, const std::string& scheme, ListenUrl& out,
                   std::string* error) {
  std::string_view host;
  std::string_view after;  // everything after the host: ":port" and maybe a path
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return fail(error, "missing ']' after IPv6 address");
    host = rest.substr(1, close - 1);
    after = rest.substr(close + 1);
    if (host.empty()) return fail(error, "empty IPv6 address in brackets");
    if (!std::all_of(host.begin(), host.end(), validIpv6Char) ||
        host.find(':') == std::string_view::npos)
      return fail(error, "invalid IPv6 address " + quote(host));
  } else {
    const std::string_view authority = rest.substr(0, rest.find('/'));
    if (std::count(authority.begin(), authority.end(), ':') > 1)
      return fail(error, "IPv6 addresses must be in brackets, e.g. tcp://[::1]:8080");
    const std::size_t end = rest.find_first_of(":/");
    host = rest.substr(0, end);
    after = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    if (host.empty()) return fail(error, "empty host (expected host:port, e.g. 0.0.0.0:8080)");
    const auto bad = std::find_if_not(host.begin(), host.end(), validHostChar);
    if (bad != host.end())
      return fail(error, "invalid character " + quote(std::string_view(&*bad, 1)) + " in host " +
                             quote(host));
  }

  if (after.empty() || after.front() != ':')
    return fail(error, "missing port (expected host:port, e.g. " + std::string(host) + ":8080)");
  after.remove_prefix(1);
  const std::size_t slash = after.find('/');
  const std::string_view port_text = after.substr(0, slash);
  const std::string_view path =
      slash == std::string_view::npos ? std::string_view{} : after.substr(slash);
  if (!parsePort(port_text, out.port, error)) return false;

  // A lone "/" is how people write HTTP-ish URLs; anything longer suggests they expect
  // routing by path, which a listen address cannot do.
  const bool slash_ok = scheme == "http" || scheme == "https" || scheme == "ws" ||
                        scheme == "wss" || scheme == "websocket";
  if (!path.empty() && !(path == "/" && slash_ok))
    return fail(error, "unexpected path " + quote(path) +
                           " after the port (a listen URL is scheme://host:port)");
  out.host = std::string(host);
  return true;
}

}  // namespace

std::optional<ListenUrl> parseListenUrl(std::string_view url, std::string* error) {
  if (url.empty()) {
    fail(error, "empty listen URL (expected scheme://host:port)");
    return std::nullopt;
  }
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    fail(error, "missing '://' in " + quote(url) + " (expected scheme://host:port)");
    return std::nullopt;
  }
  ListenUrl out;
  out.scheme = lower(url.substr(0, sep));
  if (out.scheme.empty()) {
    fail(error, "missing scheme before '://' (e.g. text://0.0.0.0:8081)");
    return std::nullopt;
  }
  if (!validSchemeSyntax(out.scheme) || !isKnownScheme(out.scheme)) {
    fail(error, "unknown scheme " + quote(out.scheme) + " (known: " + knownSchemes() + ")");
    return std::nullopt;
  }

  const std::string_view rest = url.substr(sep + 3);
  const bool ok = out.scheme == "unix" ? parseUnix(rest, out, error)
                                       : parseHostPort(rest, out.scheme, out, error);
  if (!ok) return std::nullopt;

  if (out.scheme == "ws" || out.scheme == "wss") {
    out.protocol = "websocket";
  } else if (out.scheme == "https") {
    out.protocol = "http";
  } else if (out.scheme == "unix") {
    out.protocol = "tcp";
  } else {
    out.protocol = out.scheme;
  }
  out.tls = out.scheme == "wss" || out.scheme == "https";
  out.udp = out.scheme == "udp";
  return out;
}

}  // namespace wman

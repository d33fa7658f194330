// Scheme, host, port and unix-path parsing shared by parseListenUrl and parseConnectUrl.
#include "detail/url_syntax.h"

#include <algorithm>
#include <cctype>

#include "detail/text.h"

namespace wman::detail {
namespace {

// sun_path is 108 bytes on Linux, including the terminating NUL.
constexpr std::size_t kMaxUnixPath = 107;

bool validHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

bool validIpv6Char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

bool parsePort(std::string_view text, std::uint16_t& port, std::string* error) {
  if (text.empty()) return failUrl(error, "missing port after ':' (expected host:port)");
  if (!std::all_of(text.begin(), text.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return failUrl(error, "port " + quote(text) + " is not a number");
  unsigned long value = 0;
  for (char c : text) {
    value = value * 10 + static_cast<unsigned long>(c - '0');
    // Stop early so a long digit string cannot overflow; anything this big is out of range.
    if (value > 65535)
      return failUrl(error, "port " + std::string(text) + " is out of range (0-65535)");
  }
  port = static_cast<std::uint16_t>(value);
  return true;
}

// Splits `authority` (no '/', '?' or '#' in it) into the host and what follows it.
bool parseHost(std::string_view authority, const UrlStyle& style, std::string& host,
               std::string_view& after, std::string* error) {
  std::string_view h;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return failUrl(error, "missing ']' after IPv6 address");
    h = authority.substr(1, close - 1);
    after = authority.substr(close + 1);
    if (h.empty()) return failUrl(error, "empty IPv6 address in brackets");
    if (!std::all_of(h.begin(), h.end(), validIpv6Char) || h.find(':') == std::string_view::npos)
      return failUrl(error, "invalid IPv6 address " + quote(h));
  } else {
    if (std::count(authority.begin(), authority.end(), ':') > 1)
      return failUrl(error, "IPv6 addresses must be in brackets, e.g. tcp://[::1]:8080");
    const std::size_t colon = authority.find(':');
    h = authority.substr(0, colon);
    after = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
    if (h.empty())
      return failUrl(error, "empty host (expected host:port, e.g. " +
                                std::string(style.example_host) + ":8080)");
    const auto bad = std::find_if_not(h.begin(), h.end(), validHostChar);
    if (bad != h.end())
      return failUrl(
          error, "invalid character " + quote(std::string_view(&*bad, 1)) + " in host " + quote(h));
  }
  host = std::string(h);
  return true;
}

}  // namespace

bool failUrl(std::string* error, std::string reason) {
  if (error) *error = std::move(reason);
  return false;
}

bool splitScheme(std::string_view url, const UrlStyle& style, std::string& scheme,
                 std::string_view& rest, std::string* error) {
  if (url.empty())
    return failUrl(error,
                   "empty " + std::string(style.kind) + " URL (expected scheme://host:port)");
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos)
    return failUrl(error, "missing '://' in " + quote(url) + " (expected scheme://host:port)");
  if (sep == 0)
    return failUrl(error, "missing scheme before '://' (e.g. text://" +
                              std::string(style.example_host) + ":8081)");
  scheme.assign(url.substr(0, sep));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  rest = url.substr(sep + 3);
  return true;
}

bool validSchemeSyntax(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
  });
}

bool parseUnixPath(std::string_view rest, std::string& path, std::string* error) {
  if (rest.empty() || rest.front() != '/')
    return failUrl(error, "unix socket path must be absolute (unix:///path/to/socket)");
  if (rest == "/" || rest.back() == '/')
    return failUrl(error, "unix socket path " + quote(rest) + " names a directory, not a socket");
  if (rest.size() > kMaxUnixPath)
    return failUrl(error, "unix socket path is " + std::to_string(rest.size()) +
                              " bytes long (at most " + std::to_string(kMaxUnixPath) + ")");
  if (rest.find('\0') != std::string_view::npos)
    return failUrl(error, "unix socket path contains a NUL byte");
  path = std::string(rest);
  return true;
}

bool parseAuthority(std::string_view rest, const UrlStyle& style, UrlAuthority& out,
                    std::string* error) {
  const std::size_t end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  out.tail = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  std::string_view after;
  if (!parseHost(authority, style, out.host, after, error)) return false;
  out.port.reset();
  if (after.empty()) return true;
  if (after.front() != ':')
    return failUrl(error, "unexpected " + quote(after) + " after the host " + quote(out.host));
  std::uint16_t port = 0;
  if (!parsePort(after.substr(1), port, error)) return false;
  out.port = port;
  return true;
}

std::string missingPortMessage(std::string_view host) {
  const bool v6 = host.find(':') != std::string_view::npos;
  const std::string shown = v6 ? "[" + std::string(host) + "]" : std::string(host);
  return "missing port (expected host:port, e.g. " + shown + ":8080)";
}

std::string protocolOfScheme(std::string_view scheme) {
  if (scheme == "ws" || scheme == "wss") return "websocket";
  if (scheme == "https") return "http";
  if (scheme == "unix" || scheme == "udp") return "tcp";
  return std::string(scheme);
}

bool schemeUsesTls(std::string_view scheme) {
  return scheme == "wss" || scheme == "https";
}

bool isWebScheme(std::string_view scheme) {
  return scheme == "http" || scheme == "https" || scheme == "ws" || scheme == "wss" ||
         scheme == "websocket";
}

}  // namespace wman::detail

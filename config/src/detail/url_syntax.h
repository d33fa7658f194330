// The syntax listen and connect URLs share: "scheme://host:port", "scheme://[v6]:port" and
// "unix:///path". The two parsers differ in what they accept after that (ports, paths,
// schemes); everything both accept is parsed, and worded in errors, here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wman::detail {

// The words that differ between listen and connect URLs in error messages.
struct UrlStyle {
  std::string_view kind;          // "listen" or "connect", as in "empty listen URL"
  std::string_view example_host;  // the host that examples in messages use
};

// What follows "scheme://" in a host URL.
struct UrlAuthority {
  std::string host;                   // without brackets
  std::optional<std::uint16_t> port;  // nullopt when no ":port" is written
  std::string_view tail;              // "" or the rest from the first '/', '?' or '#'
};

// Puts `reason` in `error` (when given) and returns false, so a parser can fail in one line.
bool failUrl(std::string* error, std::string reason);

// Splits `url` at "://": `scheme` lower-cased, `rest` what follows. The scheme's syntax and
// meaning are the caller's to judge, since listen and connect URLs accept different ones.
bool splitScheme(std::string_view url, const UrlStyle& style, std::string& scheme,
                 std::string_view& rest, std::string* error);

// RFC 3986 scheme syntax: a letter, then letters, digits, '+', '-' or '.'.
bool validSchemeSyntax(std::string_view scheme);

// The part of "unix:///run/x.sock" after "unix://": an absolute path that fits in sun_path.
bool parseUnixPath(std::string_view rest, std::string& path, std::string* error);

// Parses "host[:port]" or "[ipv6][:port]" at the start of `rest`; the authority ends at the
// first '/', '?' or '#', which starts `tail`. Whether a missing port or a tail is allowed is
// left to the caller.
bool parseAuthority(std::string_view rest, const UrlStyle& style, UrlAuthority& out,
                    std::string* error);

// "missing port (expected host:port, e.g. HOST:8080)", with an IPv6 host in brackets.
std::string missingPortMessage(std::string_view host);

// The codec a scheme selects: ws/wss -> "websocket", https -> "http", unix -> "tcp" (raw
// bytes over a unix socket); any other scheme names its codec itself.
std::string protocolOfScheme(std::string_view scheme);

// wss:// and https:// always run over TLS.
bool schemeUsesTls(std::string_view scheme);

// http, https, ws, wss and websocket: the schemes whose URLs can carry a path.
bool isWebScheme(std::string_view scheme);

}  // namespace wman::detail

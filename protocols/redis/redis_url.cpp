#include "wman/redis_url.h"

#include <charconv>

namespace wman {
namespace {

bool fail(std::string* error, std::string why) {
  if (error) *error = std::move(why);
  return false;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes, so a password may carry '@', ':' or '/'.
bool percentDecode(std::string_view in, std::string& out, std::string* error) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    const int hi = i + 2 < in.size() ? hexValue(in[i + 1]) : -1;
    const int lo = hi < 0 ? -1 : hexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return fail(error, "bad percent-escape in the user or password");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

template <typename T>
bool parseNumber(std::string_view s, T& value) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && end == s.data() + s.size();
}

bool parseUserInfo(std::string_view info, RedisUrl& out, std::string* error) {
  const std::size_t colon = info.find(':');
  if (colon == std::string_view::npos) {
    // "redis://secret@host" is a common way to write a password alone.
    return percentDecode(info, out.password, error);
  }
  return percentDecode(info.substr(0, colon), out.username, error) &&
         percentDecode(info.substr(colon + 1), out.password, error);
}

bool parseHostPort(std::string_view hp, RedisUrl& out, std::string* error) {
  std::string_view port;
  if (!hp.empty() && hp.front() == '[') {
    const std::size_t close = hp.find(']');
    if (close == std::string_view::npos) return fail(error, "unclosed '[' in the host");
    out.host = std::string(hp.substr(1, close - 1));
    const std::string_view rest = hp.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return fail(error, "unexpected text after ']'");
    if (!rest.empty()) port = rest.substr(1);
    if (rest == ":") return fail(error, "empty port");
  } else {
    const std::size_t colon = hp.rfind(':');
    out.host = std::string(hp.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = hp.substr(colon + 1);
      if (port.empty()) return fail(error, "empty port");
    }
  }
  if (out.host.empty()) return fail(error, "missing host");
  if (out.host.find_first_of(" /?#@[]") != std::string::npos) {
    return fail(error, "invalid host '" + out.host + "'");
  }
  if (!port.empty()) {
    unsigned value = 0;
    if (!parseNumber(port, value) || value == 0 || value > 65535) {
      return fail(error, "port '" + std::string(port) + "' is not a number from 1 to 65535");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  return true;
}

bool parseDb(std::string_view path, RedisUrl& out, std::string* error) {
  if (path.empty() || path == "/") return true;
  const std::string_view digits = path.substr(1);
  if (!parseNumber(digits, out.db) || out.db < 0) {
    return fail(error, "database '" + std::string(digits) + "' is not a number from 0 up");
  }
  return true;
}

}  // namespace

std::string RedisUrl::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<RedisUrl> parseRedisUrl(std::string_view url, std::string* error) {
  RedisUrl out;
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    fail(error, "'" + std::string(url) + "' is not a URL (expected redis://host[:port][/db])");
    return std::nullopt;
  }
  const std::string_view scheme = url.substr(0, sep);
  if (scheme != "redis" && scheme != "rediss") {
    fail(error,
         "unsupported scheme '" + std::string(scheme) + "' (expected redis:// or rediss://)");
    return std::nullopt;
  }
  out.tls = scheme == "rediss";
  std::string_view rest = url.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    fail(error, "query and fragment are not supported in a redis URL");
    return std::nullopt;
  }
  const std::size_t slash = rest.find('/');
  const std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  std::string_view authority = rest.substr(0, slash);
  const std::size_t at = authority.rfind('@');
  const bool ok =
      (at == std::string_view::npos || parseUserInfo(authority.substr(0, at), out, error)) &&
      parseHostPort(at == std::string_view::npos ? authority : authority.substr(at + 1), out,
                    error) &&
      parseDb(path, out, error);
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace wman

// Redis server addresses as operators write them: "redis://[[user]:password@]host[:port][/db]"
// and "rediss://..." for TLS (the IANA redis and rediss URI schemes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wman {

struct RedisUrl {
  bool tls = false;  // rediss://
  std::string host;  // without brackets for IPv6 literals
  std::uint16_t port = 6379;
  int db = 0;            // SELECT index, 0 when absent
  std::string username;  // "" = the default user (AUTH password)
  std::string password;  // "" = no AUTH

  // "host:port" ("[v6]:port"), as AsyncConnection URLs spell an authority.
  std::string authority() const;
};

// Parses `url`. Percent-escapes are decoded in the user and password. On failure returns
// nullopt and puts a one-line reason in `error` (for example "port 0 is out of range").
std::optional<RedisUrl> parseRedisUrl(std::string_view url, std::string* error = nullptr);

}  // namespace wman

// Redis values as the application sees them: a reply tree parsed from RESP bytes, and the
// wire form of a command built from its arguments. Pure code over byte spans on hiredis's
// reader and formatter; nothing here does I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wman/codec.h"

namespace wman {

// Most values (array elements included, the reply itself counted) one reply may carry. With
// CodecLimits::max_package_size it bounds what a hostile server can make a client hold: a
// parsed tree costs about 80 bytes per value however short the value is on the wire.
inline constexpr std::size_t kRedisMaxReplyValues = std::size_t{1} << 20;

// One RESP2 value. Arrays own their elements; strings are binary-safe.
struct RedisReply {
  enum class Type : std::uint8_t { String, Status, Error, Integer, Nil, Array };

  Type type = Type::Nil;
  std::string str;                   // String (bulk), Status (+...) and Error (-...)
  long long integer = 0;             // Integer
  std::vector<RedisReply> elements;  // Array

  bool isError() const { return type == Type::Error; }
  bool isArray() const { return type == Type::Array; }
  // True for a bulk or status string equal to `s` (case-sensitive).
  bool is(std::string_view s) const {
    return (type == Type::String || type == Type::Status) && str == s;
  }
};

// Parses exactly one reply that fills `bytes` (what RedisCodec hands over as a message).
// Returns nullopt and sets `error` for malformed, incomplete or trailing bytes, or a reply
// with more than kRedisMaxReplyValues values. Nil arrays come back as Nil.
std::optional<RedisReply> parseRedisReply(ByteSpan bytes, std::string* error = nullptr);

// The RESP wire form of the command `argv` (argv[0] is the command name), each argument a
// binary-safe bulk string. Throws std::invalid_argument for an empty argv.
std::string formatRedisCommand(std::span<const std::string_view> argv);
inline std::string formatRedisCommand(std::initializer_list<std::string_view> argv) {
  return formatRedisCommand(std::span<const std::string_view>(argv.begin(), argv.size()));
}

}  // namespace wman

// JSON documents of the control socket (one per line) and the parsing shared with the worker
// channel: wman's daemon uses nlohmann's ordered_json, so documents print in the order their
// producer wrote them. The readers below never throw: a document from outside may lack a
// member or hold the wrong type, and the answer is then a fallback, never an exception.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace wman::daemon {

using Json = nlohmann::ordered_json;

// Maximum array/object nesting the parsers accept; deeper input is an error, so a hostile
// peer cannot exhaust the stack of code that walks a document recursively (dump, copy).
inline constexpr int kJsonMaxDepth = 64;

// Parses one RFC 8259 JSON text. Strict: no trailing garbage, comments, invalid UTF-8, lone
// surrogates, duplicate object keys or nesting deeper than kJsonMaxDepth. Never throws: on
// failure returns nullopt and, if `error` is non-null, stores a one-line reason (with the
// byte offset when the lexer knows it).
std::optional<Json> parseJson(std::string_view text, std::string* error = nullptr);

// Parses one MessagePack document (the worker channel's framing) with the same depth bound;
// strings stay raw bytes. Nullopt, never an exception, for a truncated or malformed frame.
std::optional<Json> parseMsgpack(std::string_view bytes, std::string* error = nullptr);

// Compact single-line text that never throws: invalid UTF-8 in strings becomes U+FFFD,
// control characters and DEL are escaped (so a line is safe to print on a terminal), and
// non-finite doubles print as null.
std::string dumpJson(const Json& doc);

// The member `key` of an object, or a static null when it is missing or `doc` is no object.
const Json& member(const Json& doc, std::string_view key) noexcept;

// `v` when it is an array, else a static empty array: `for (const Json& e : elements(v))`
// never iterates an object's values or a scalar by mistake.
const Json& elements(const Json& v) noexcept;

// The value when `v` is an integer that fits int64, else nullopt (a double never counts).
std::optional<std::int64_t> exactInt(const Json& v) noexcept;
inline bool isInt(const Json& v) noexcept {
  return exactInt(v).has_value();
}
// Any number that is not an exact int64: a double, or an unsigned integer above INT64_MAX.
inline bool isDouble(const Json& v) noexcept {
  return v.is_number() && !isInt(v);
}

// The int64; a finite double inside the int64 range is truncated toward zero. Anything else
// (non-number, NaN, out of range) returns `fallback`.
std::int64_t asInt(const Json& v, std::int64_t fallback = 0) noexcept;
// The number as a double (an integer may round), or `fallback` for a non-number.
double asDouble(const Json& v, double fallback = 0.0) noexcept;
// The bool, or `fallback` for any other type.
bool asBool(const Json& v, bool fallback = false) noexcept;
// The string, or a reference to a static empty string for any other type.
const std::string& asString(const Json& v) noexcept;

}  // namespace wman::daemon

// A small JSON value, strict parser and compact serializer for the control socket protocol
// (one JSON document per line). Not a general-purpose library: no streaming, no comments.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace wman::daemon {

// Integer types Json stores as int64; bool is excluded so Json(true) stays a bool.
template <class T>
concept JsonInteger = std::integral<T> && !std::same_as<T, bool>;

class Json {
 public:
  enum class Type { Null, Bool, Int, Double, String, Array, Object };
  using Array = std::vector<Json>;
  // Insertion order is kept so documents print in the order the producer wrote them.
  using Object = std::vector<std::pair<std::string, Json>>;

  // A null value.
  Json() noexcept = default;
  Json(std::nullptr_t) noexcept {}
  Json(bool b) noexcept : v_(b) {}
  // Any integer type. Unsigned values above INT64_MAX are stored as a double (they lose
  // precision rather than wrap).
  template <JsonInteger T>
  Json(T n) noexcept {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      if (n > static_cast<T>(INT64_MAX)) {
        v_ = static_cast<double>(n);
        return;
      }
    }
    v_ = static_cast<std::int64_t>(n);
  }
  Json(double d) noexcept : v_(d) {}
  Json(float f) noexcept : v_(static_cast<double>(f)) {}
  Json(const char* s) : v_(std::string(s)) {}
  Json(std::string s) : v_(std::move(s)) {}
  Json(std::string_view s) : v_(std::string(s)) {}
  Json(Array a) : v_(std::move(a)) {}
  Json(Object o) : v_(std::move(o)) {}

  // An empty object / empty array, the usual starting points for building a document.
  static Json object() { return Json(Object{}); }
  static Json array() { return Json(Array{}); }

  Type type() const noexcept { return static_cast<Type>(v_.index()); }
  bool isNull() const noexcept { return type() == Type::Null; }
  bool isBool() const noexcept { return type() == Type::Bool; }
  // True for a number stored as int64 (integer text that fits, or an integer constructor).
  bool isInt() const noexcept { return type() == Type::Int; }
  bool isDouble() const noexcept { return type() == Type::Double; }
  bool isNumber() const noexcept { return isInt() || isDouble(); }
  bool isString() const noexcept { return type() == Type::String; }
  bool isArray() const noexcept { return type() == Type::Array; }
  bool isObject() const noexcept { return type() == Type::Object; }

  // The bool, or `fallback` for any other type.
  bool asBool(bool fallback = false) const noexcept {
    return isBool() ? std::get<bool>(v_) : fallback;
  }
  // The int64; a finite double inside the int64 range is truncated toward zero. Anything else
  // (non-number, NaN, out of range) returns `fallback`.
  std::int64_t asInt(std::int64_t fallback = 0) const noexcept;
  // The number as a double (an int64 may round), or `fallback` for a non-number.
  double asDouble(double fallback = 0.0) const noexcept {
    if (isInt()) return static_cast<double>(std::get<std::int64_t>(v_));
    return isDouble() ? std::get<double>(v_) : fallback;
  }
  // The string, or a reference to a static empty string for any other type.
  const std::string& asString() const noexcept;
  // The elements / members, or a static empty container for any other type.
  const Array& items() const noexcept;
  const Object& members() const noexcept;
  // Number of elements or members; 0 for scalars.
  std::size_t size() const noexcept { return isObject() ? members().size() : items().size(); }

  // The member named `key` (first match), or a static null when it is missing or this is not
  // an object. Never inserts; use set() to write.
  const Json& operator[](std::string_view key) const noexcept;
  // Element `index`, or a static null when out of range or this is not an array.
  const Json& at(std::size_t index) const noexcept;
  // Mutable access to a member, or nullptr when missing. The pointer is invalidated by the
  // next set() on this object.
  Json* find(std::string_view key) noexcept;
  const Json* find(std::string_view key) const noexcept;
  bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }

  // Replaces the value of `key`, or appends it at the end when absent. A non-object (null
  // included) first becomes an empty object. Returns *this so calls chain.
  Json& set(std::string key, Json value) &;
  Json&& set(std::string key, Json value) && {
    return std::move(set(std::move(key), std::move(value)));
  }
  // Appends to an array. A non-array (null included) first becomes an empty array.
  Json& push_back(Json value) &;
  Json&& push_back(Json value) && { return std::move(push_back(std::move(value))); }

  // Compact single-line text: no whitespace, control characters escaped (so never a raw
  // newline), non-finite doubles as null, invalid UTF-8 in strings replaced by U+FFFD. A double
  // always prints with a '.' or exponent so it parses back as a double.
  std::string dump() const {
    std::string out;
    dumpTo(out);
    return out;
  }
  // Appends what dump() returns to `out`, so nested documents build without temporaries.
  void dumpTo(std::string& out) const;

  // Structural equality. Numbers compare by value (Json(1) == Json(1.0)); object members
  // compare in order, as kept.
  friend bool operator==(const Json& a, const Json& b) noexcept;

 private:
  // Alternatives in Type order: type() is the variant index.
  std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, Array, Object> v_;
};

// Maximum array/object nesting parseJson() accepts; deeper input is an error, so a hostile
// peer cannot exhaust the stack of the recursive-descent parser.
inline constexpr int kJsonMaxDepth = 64;

// Parses one RFC 8259 JSON text (any value at top level, surrounded by optional whitespace).
// Strict: no trailing garbage, commas, comments, NaN, BOM, invalid UTF-8, lone surrogates or
// duplicate object keys (I-JSON, RFC 7493). Integer text that fits int64 becomes an Int,
// except "-0", which becomes the double -0.0 so its sign survives; other numbers are doubles,
// and one outside the double range (beyond 1.8e308, or below the smallest subnormal) is an
// error rather than a silent inf or 0. On failure returns nullopt and, if `error` is non-null,
// stores "<reason> at byte <offset>" (0-based offset).
std::optional<Json> parseJson(std::string_view text, std::string* error = nullptr);

}  // namespace wman::daemon

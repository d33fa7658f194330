// Parsing through a bounded SAX handler, the never-throwing dump, and the member readers.
#include "json_doc.h"

#include <cmath>
#include <set>
#include <vector>

namespace wman::daemon {
namespace {

// Builds the document with nlohmann's own DOM builder, and refuses what that builder would
// accept but wman must not: nesting deeper than kJsonMaxDepth (the builder itself is not
// recursive, but dump() and copies are) and, for text, duplicate keys (I-JSON, RFC 7493),
// which would otherwise silently keep the last value. Errors are recorded, never thrown.
class BoundedDom {
 public:
  BoundedDom(Json& out, bool unique_keys) : dom_(out, false), unique_keys_(unique_keys) {}

  bool null() { return dom_.null(); }
  bool boolean(bool b) { return dom_.boolean(b); }
  bool number_integer(Json::number_integer_t n) { return dom_.number_integer(n); }
  bool number_unsigned(Json::number_unsigned_t n) { return dom_.number_unsigned(n); }
  bool number_float(Json::number_float_t d, const Json::string_t& s) {
    return dom_.number_float(d, s);
  }
  bool string(Json::string_t& s) { return dom_.string(s); }
  bool binary(Json::binary_t& b) { return dom_.binary(b); }

  bool start_object(std::size_t n) {
    if (!enter()) return false;
    keys_.emplace_back();
    return dom_.start_object(n);
  }
  bool key(Json::string_t& k) {
    if (unique_keys_ && !keys_.back().insert(k).second) {
      return fail("duplicate key \"" + k + "\"");
    }
    return dom_.key(k);
  }
  bool end_object() {
    keys_.pop_back();
    --depth_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) { return enter() && dom_.start_array(n); }
  bool end_array() {
    --depth_;
    return dom_.end_array();
  }

  // `position` counts the bytes read, the offending one included.
  template <class Exception>
  bool parse_error(std::size_t position, const std::string&, const Exception& ex) {
    // what() is "[json.exception.parse_error.N] parse error at line L, column C: <reason>";
    // the reason alone, with a 0-based byte offset, reads better in a one-line answer.
    std::string what = ex.what();
    const auto colon = what.find(": ");
    if (colon != std::string::npos) what.erase(0, colon + 2);
    return fail(what + " at byte " + std::to_string(position > 0 ? position - 1 : 0));
  }

  const std::string& error() const { return error_; }

 private:
  bool enter() {
    if (++depth_ <= kJsonMaxDepth) return true;
    return fail("nesting deeper than " + std::to_string(kJsonMaxDepth));
  }
  bool fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
  }

  nlohmann::detail::json_sax_dom_parser<Json> dom_;
  bool unique_keys_;
  int depth_ = 0;
  std::vector<std::set<std::string>> keys_;  // keys seen per open object, when unique_keys_
  std::string error_;
};

std::optional<Json> parseWith(std::string_view input, nlohmann::detail::input_format_t format,
                              bool unique_keys, std::string* error) {
  Json out;
  BoundedDom dom(out, unique_keys);
  // With a handler that never throws, sax_parse reports every failure by returning false;
  // the catch is for allocation failure on a huge frame, which must not cross the loop.
  bool ok = false;
  try {
    ok = Json::sax_parse(input, &dom, format, /*strict=*/true);
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return std::nullopt;
  }
  if (ok) return out;
  if (error) *error = dom.error().empty() ? "malformed input" : dom.error();
  return std::nullopt;
}

}  // namespace

std::optional<Json> parseJson(std::string_view text, std::string* error) {
  return parseWith(text, nlohmann::detail::input_format_t::json, true, error);
}

std::optional<Json> parseMsgpack(std::string_view bytes, std::string* error) {
  return parseWith(bytes, nlohmann::detail::input_format_t::msgpack, false, error);
}

std::string dumpJson(const Json& doc) {
  std::string out = doc.dump(-1, ' ', false, Json::error_handler_t::replace);
  // nlohmann leaves DEL raw. A raw 0x7F byte can only be inside a string (and is never part
  // of a multi-byte UTF-8 sequence), so escaping every one keeps the text valid JSON.
  for (std::size_t i = out.find('\x7f'); i != std::string::npos; i = out.find('\x7f', i)) {
    out.replace(i, 1, "\\u007f");
  }
  return out;
}

const Json& member(const Json& doc, std::string_view key) noexcept {
  static const Json kNull;
  if (!doc.is_object()) return kNull;
  auto it = doc.find(key);
  return it == doc.end() ? kNull : *it;
}

const Json& elements(const Json& v) noexcept {
  static const Json kEmpty = Json::array();
  return v.is_array() ? v : kEmpty;
}

std::optional<std::int64_t> exactInt(const Json& v) noexcept {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return std::nullopt;
}

std::int64_t asInt(const Json& v, std::int64_t fallback) noexcept {
  if (auto i = exactInt(v)) return *i;
  if (!v.is_number()) return fallback;
  const double d = v.get<double>();
  // False for NaN too, since every comparison with NaN is false.
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return fallback;
  return static_cast<std::int64_t>(d);
}

double asDouble(const Json& v, double fallback) noexcept {
  return v.is_number() ? v.get<double>() : fallback;
}

bool asBool(const Json& v, bool fallback) noexcept {
  return v.is_boolean() ? v.get<bool>() : fallback;
}

const std::string& asString(const Json& v) noexcept {
  static const std::string kEmpty;
  return v.is_string() ? v.get_ref<const std::string&>() : kEmpty;
}

}  // namespace wman::daemon

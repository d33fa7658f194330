// Json value accessors, the strict recursive-descent parser, and the compact serializer.
#include "json.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace wman::daemon {
namespace {

const Json& nullJson() {
  static const Json kNull;
  return kNull;
}

// Well-formed UTF-8 lead bytes with their sequence length and the allowed range of the second
// byte (RFC 3629 section 4); the narrowed ranges exclude overlong forms, UTF-16 surrogates and
// code points above U+10FFFF.
struct Utf8Lead {
  unsigned char first, last;
  std::size_t length;
  unsigned char lo, hi;
};
constexpr Utf8Lead kUtf8Leads[] = {
    {0xC2, 0xDF, 2, 0x80, 0xBF}, {0xE0, 0xE0, 3, 0xA0, 0xBF}, {0xE1, 0xEC, 3, 0x80, 0xBF},
    {0xED, 0xED, 3, 0x80, 0x9F}, {0xEE, 0xEF, 3, 0x80, 0xBF}, {0xF0, 0xF0, 4, 0x90, 0xBF},
    {0xF1, 0xF3, 4, 0x80, 0xBF}, {0xF4, 0xF4, 4, 0x80, 0x8F},
};

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when it is malformed.
std::size_t utf8SequenceLength(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  if (byte(0) < 0x80) return 1;
  for (const Utf8Lead& lead : kUtf8Leads) {
    if (byte(0) < lead.first || byte(0) > lead.last) continue;
    if (s.size() - i < lead.length || byte(1) < lead.lo || byte(1) > lead.hi) return 0;
    for (std::size_t k = 2; k < lead.length; ++k) {
      if (byte(k) < 0x80 || byte(k) > 0xBF) return 0;
    }
    return lead.length;
  }
  return 0;
}

void appendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// False for NaN too, since every comparison with NaN is false.
bool inInt64Range(double d) {
  return d >= -9223372036854775808.0 && d < 9223372036854775808.0;
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// The two-character escapes of RFC 8259 section 7: "\\" + kEscapeLetters[i] means kEscapedBytes[i].
constexpr std::string_view kEscapeLetters = "\"\\/bfnrt";
constexpr std::string_view kEscapedBytes = "\"\\/\b\f\n\r\t";

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  std::optional<Json> run(std::string* error) {
    Json out;
    if (parseValue(out, 0)) {
      skipWs();
      if (atEnd()) return out;
      fail("unexpected trailing characters", pos_);
    }
    if (error) *error = reason_ + " at byte " + std::to_string(reason_pos_);
    return std::nullopt;
  }

 private:
  bool fail(std::string reason, std::size_t at) {
    reason_ = std::move(reason);
    reason_pos_ = at;
    return false;
  }
  // Names the offending byte so an operator can see what was sent without a hex dump.
  bool unexpected() {
    if (atEnd()) return fail("unexpected end of input", pos_);
    const auto c = static_cast<unsigned char>(s_[pos_]);
    if (c >= 0x20 && c < 0x7F) return fail(std::string("unexpected '") + s_[pos_] + "'", pos_);
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", c);
    return fail(std::string("unexpected byte ") + hex, pos_);
  }
  bool atEnd() const { return pos_ >= s_.size(); }
  char peek() const { return s_[pos_]; }
  void skipWs() {
    while (!atEnd() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++pos_;
    }
  }

  bool parseValue(Json& out, int depth) {
    skipWs();
    if (atEnd()) return unexpected();
    const char c = peek();
    if (c == '{') return parseObject(out, depth + 1);
    if (c == '[') return parseArray(out, depth + 1);
    if (c == 't') return parseLiteral("true", Json(true), out);
    if (c == 'f') return parseLiteral("false", Json(false), out);
    if (c == 'n') return parseLiteral("null", Json(), out);
    if (c == '-' || isDigit(c)) return parseNumber(out);
    if (c != '"') return unexpected();
    std::string str;
    if (!parseString(str)) return false;
    out = Json(std::move(str));
    return true;
  }

  bool parseLiteral(std::string_view word, Json value, Json& out) {
    if (s_.substr(pos_, word.size()) != word) return fail("invalid literal", pos_);
    pos_ += word.size();
    out = std::move(value);
    return true;
  }

  // Consumes `c` if it is the next byte.
  bool take(char c) {
    if (atEnd() || peek() != c) return false;
    ++pos_;
    return true;
  }
  // Like take(), after skipping whitespace.
  bool consume(char c) {
    skipWs();
    return take(c);
  }
  std::size_t skipDigits() {
    const std::size_t from = pos_;
    while (!atEnd() && isDigit(peek())) ++pos_;
    return pos_ - from;
  }

  bool parseArray(Json& out, int depth) {
    if (depth > kJsonMaxDepth) return fail("nesting deeper than 64", pos_);
    ++pos_;
    Json::Array items;
    if (!consume(']')) {
      do {
        skipWs();
        if (!items.empty() && !atEnd() && peek() == ']') return fail("trailing comma", pos_);
        if (!parseValue(items.emplace_back(), depth)) return false;
      } while (consume(','));
      if (!consume(']')) return atEnd() ? unexpected() : fail("expected ',' or ']'", pos_);
    }
    out = Json(std::move(items));
    return true;
  }

  bool parseObject(Json& out, int depth) {
    if (depth > kJsonMaxDepth) return fail("nesting deeper than 64", pos_);
    ++pos_;
    Json::Object members;
    std::vector<std::size_t> key_pos;
    if (!consume('}')) {
      do {
        skipWs();
        if (atEnd()) return unexpected();
        if (peek() != '"') {
          return fail(!members.empty() && peek() == '}' ? "trailing comma" : "expected string key",
                      pos_);
        }
        key_pos.push_back(pos_);
        auto& [key, value] = members.emplace_back();
        if (!parseString(key)) return false;
        if (!consume(':')) return atEnd() ? unexpected() : fail("expected ':' after key", pos_);
        if (!parseValue(value, depth)) return false;
      } while (consume(','));
      if (!consume('}')) return atEnd() ? unexpected() : fail("expected ',' or '}'", pos_);
    }
    if (!checkUniqueKeys(members, key_pos)) return false;
    out = Json(std::move(members));
    return true;
  }

  // Sorting indices keeps this O(n log n): a peer cannot make one big object quadratic.
  bool checkUniqueKeys(const Json::Object& members, const std::vector<std::size_t>& key_pos) {
    if (members.size() < 2) return true;
    std::vector<std::size_t> idx(members.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
      return members[a].first < members[b].first;
    });
    std::size_t first_dup = members.size();
    for (std::size_t i = 1; i < idx.size(); ++i) {
      if (members[idx[i]].first == members[idx[i - 1]].first) {
        first_dup = std::min(first_dup, idx[i]);
      }
    }
    if (first_dup == members.size()) return true;
    return fail("duplicate key \"" + members[first_dup].first + "\"", key_pos[first_dup]);
  }

  bool parseString(std::string& out) {
    const std::size_t start = pos_++;
    for (;;) {
      // Copy plain ASCII runs in one append; only quotes, escapes, controls and UTF-8 need work.
      std::size_t run = pos_;
      while (run < s_.size()) {
        const auto c = static_cast<unsigned char>(s_[run]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++run;
      }
      out.append(s_.substr(pos_, run - pos_));
      pos_ = run;
      if (atEnd()) return fail("unterminated string", start);
      if (take('"')) return true;
      const auto c = static_cast<unsigned char>(peek());
      if (c == '\\') {
        if (!parseEscape(out)) return false;
        continue;
      }
      if (c < 0x20) return fail("control character in string", pos_);
      const std::size_t n = utf8SequenceLength(s_, pos_);
      if (n == 0) return fail("invalid UTF-8 in string", pos_);
      out.append(s_.substr(pos_, n));
      pos_ += n;
    }
  }

  bool parseEscape(std::string& out) {
    const std::size_t at = pos_;
    if (pos_ + 1 >= s_.size()) return fail("unterminated string", at);
    const char e = s_[pos_ + 1];
    pos_ += 2;
    if (e == 'u') return parseUnicodeEscape(out, at);
    const std::size_t k = kEscapeLetters.find(e);
    if (k == std::string_view::npos) return fail("invalid escape", at);
    out += kEscapedBytes[k];
    return true;
  }

  bool readHex4(std::uint32_t& cp) {
    if (s_.size() - pos_ < 4) return false;
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      const auto c = static_cast<unsigned char>(s_[pos_ + i]);
      if (!std::isxdigit(c)) return false;
      cp = cp * 16 + (isDigit(static_cast<char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    pos_ += 4;
    return true;
  }

  // `at` is the backslash. A high surrogate must be followed by an escaped low surrogate;
  // lone halves are rejected because they cannot be encoded as UTF-8.
  bool parseUnicodeEscape(std::string& out, std::size_t at) {
    std::uint32_t cp;
    if (!readHex4(cp)) return fail("invalid \\u escape", at);
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate", at);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      std::uint32_t low;
      if (s_.substr(pos_, 2) != "\\u") return fail("lone high surrogate", at);
      pos_ += 2;
      if (!readHex4(low)) return fail("invalid \\u escape", pos_ - 2);
      if (low < 0xDC00 || low > 0xDFFF) return fail("lone high surrogate", at);
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    appendUtf8(out, cp);
    return true;
  }

  bool parseNumber(Json& out) {
    const std::size_t start = pos_;
    take('-');
    const std::size_t int_start = pos_;
    const std::size_t int_digits = skipDigits();
    if (int_digits == 0) return fail("invalid number", start);
    if (s_[int_start] == '0' && int_digits > 1) return fail("leading zero in number", start);
    bool integral = true;
    if (take('.')) {
      integral = false;
      if (skipDigits() == 0) return fail("expected digit after '.'", pos_);
    }
    if (take('e') || take('E')) {
      integral = false;
      if (!take('+')) take('-');
      if (skipDigits() == 0) return fail("expected digit in exponent", pos_);
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    // "-0" stays a double: an int64 cannot carry the sign of zero.
    if (integral && std::string_view(first, last - first) != "-0") {
      std::int64_t i;
      auto [p, ec] = std::from_chars(first, last, i);
      if (ec == std::errc{} && p == last) {
        out = Json(i);
        return true;
      }
      // Too large for int64: fall through and keep it as an (approximate) double.
    }
    double d;
    auto [p, ec] = std::from_chars(first, last, d);
    if (ec == std::errc::result_out_of_range) return fail("number out of range", start);
    if (ec != std::errc{} || p != last) return fail("invalid number", start);
    out = Json(d);
    return true;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::string reason_;
  std::size_t reason_pos_ = 0;
};

void dumpString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Our own parser rejects invalid UTF-8, so never emit it: substitute U+FFFD per byte.
      const std::size_t n = utf8SequenceLength(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    // '/' may stay raw; DEL is escaped too so a dumped line is safe to print on a terminal.
    const std::size_t k = c == '/' ? std::string_view::npos : kEscapedBytes.find(c);
    if (k != std::string_view::npos) {
      out += '\\';
      out += kEscapeLetters[k];
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

void dumpDouble(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string_view text(buf, p - buf);
  out += text;
  // Shortest form of 2.0 is "2", which would parse back as an Int.
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

}  // namespace

std::int64_t Json::asInt(std::int64_t fallback) const noexcept {
  if (isInt()) return std::get<std::int64_t>(v_);
  if (!isDouble()) return fallback;
  const double d = std::get<double>(v_);
  if (!inInt64Range(d)) return fallback;
  return static_cast<std::int64_t>(d);
}

const std::string& Json::asString() const noexcept {
  static const std::string kEmpty;
  return isString() ? std::get<std::string>(v_) : kEmpty;
}

const Json::Array& Json::items() const noexcept {
  static const Array kEmpty;
  return isArray() ? std::get<Array>(v_) : kEmpty;
}

const Json::Object& Json::members() const noexcept {
  static const Object kEmpty;
  return isObject() ? std::get<Object>(v_) : kEmpty;
}

const Json& Json::operator[](std::string_view key) const noexcept {
  const Json* v = find(key);
  return v ? *v : nullJson();
}

const Json& Json::at(std::size_t index) const noexcept {
  const Array& a = items();
  return index < a.size() ? a[index] : nullJson();
}

Json* Json::find(std::string_view key) noexcept {
  return const_cast<Json*>(std::as_const(*this).find(key));
}

const Json* Json::find(std::string_view key) const noexcept {
  for (const auto& [k, v] : members()) {
    if (k == key) return &v;
  }
  return nullptr;
}

Json& Json::set(std::string key, Json value) & {
  if (!isObject()) v_ = Object{};
  auto& members = std::get<Object>(v_);
  for (auto& [k, v] : members) {
    if (k == key) {
      v = std::move(value);
      return *this;
    }
  }
  members.emplace_back(std::move(key), std::move(value));
  return *this;
}

Json& Json::push_back(Json value) & {
  if (!isArray()) v_ = Array{};
  std::get<Array>(v_).push_back(std::move(value));
  return *this;
}

void Json::dumpTo(std::string& out) const {
  if (const auto* b = std::get_if<bool>(&v_)) {
    out += *b ? "true" : "false";
  } else if (const auto* i = std::get_if<std::int64_t>(&v_)) {
    out += std::to_string(*i);
  } else if (const auto* d = std::get_if<double>(&v_)) {
    dumpDouble(out, *d);
  } else if (const auto* str = std::get_if<std::string>(&v_)) {
    dumpString(out, *str);
  } else if (const auto* a = std::get_if<Array>(&v_)) {
    out += '[';
    for (std::size_t k = 0; k < a->size(); ++k) {
      if (k > 0) out += ',';
      (*a)[k].dumpTo(out);
    }
    out += ']';
  } else if (const auto* o = std::get_if<Object>(&v_)) {
    out += '{';
    for (std::size_t k = 0; k < o->size(); ++k) {
      if (k > 0) out += ',';
      dumpString(out, (*o)[k].first);
      out += ':';
      (*o)[k].second.dumpTo(out);
    }
    out += '}';
  } else {
    out += "null";
  }
}

bool operator==(const Json& a, const Json& b) noexcept {
  if (a.isInt() && b.isDouble()) return b == a;
  if (a.isDouble() && b.isInt()) {
    // Compare exactly: converting the int64 to double could make 2^63-1 equal 2^63.
    const double d = std::get<double>(a.v_);
    if (!inInt64Range(d) || d != std::trunc(d)) return false;
    return static_cast<std::int64_t>(d) == std::get<std::int64_t>(b.v_);
  }
  return a.v_ == b.v_;
}

std::optional<Json> parseJson(std::string_view text, std::string* error) {
  return Parser(text).run(error);
}

}  // namespace wman::daemon
